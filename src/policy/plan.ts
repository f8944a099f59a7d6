import { autoApproveFrom, splitForApproval, type ApprovalSplit } from './approval.js';
import { monthlyCycle, nextCycleAfter, predictedBreach } from './deadlines.js';
import { draftTargets, type Draft } from './drafts.js';
import type { Plan, PlanEntry, PlanInput, PlanSafety, PlanTarget } from './plan-types.js';
import type { Policy } from './schema.js';
import { rebootAfter } from './reboot.js';
import { assignRings } from './rings.js';
import { placeInRings, type Placeable, type Placement } from './schedule.js';
import { packageRules } from './select-version.js';
import { cycleAround } from './time.js';
import { planWarnings } from './warnings.js';
import { signalWarnings } from './signal-rules.js';

/**
 * assemblePlan (issue #5): a pure function of (findings, targets, policy, now) that returns the
 * plan as data — per target the exact packages and target versions, its ring, window, deadline,
 * approval and reboot — and the findings whose deadline has passed. Nothing here does I/O; the
 * executor applies a plan, the scheduler decides when to assemble one.
 *
 * It composes the parts (issue #19): what each target needs (drafts.ts: version selection in
 * select-version.ts, deadlines in deadlines.ts), its ring (rings.ts), what waits for approval
 * (approval.ts), when it starts (schedule.ts), what an operator must see (warnings.ts).
 */
export type {
  AvailableBuild,
  Plan,
  PlanBreach,
  PlanEntry,
  PlanFinding,
  PlanInput,
  PlannedPackage,
  PlanSafety,
  PlanSignals,
  PlanTarget,
  PlanWarning,
  RingHistory,
} from './plan-types.js';
export { isKernel } from './reboot.js';
export { signalsNamed } from './signal-rules.js';
export { unknownRingHosts } from './rings.js';
export { soakFor } from './schedule.js';
export { buildOf } from './select-version.js';

/** A host's work in its ring: what it carries and waits for now, as placement sees it. */
type Item = ApprovalSplit & Placeable & { d: Draft };

/** @example assemblePlan({ policy, targets, findings, now: new Date() }) */
export function assemblePlan(input: PlanInput): Plan {
  const { policy, now } = input;
  const nowMs = now.getTime();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const cycle = monthlyCycle(policy);
  const around = cycleAround(cycle, nowMs);
  const approved = input.approved ?? new Set<string>();
  const {
    drafts: all,
    idle,
    breaches,
  } = draftTargets(input.targets, input.findings, {
    policy,
    rules: packageRules(policy, input, nowMs),
    exploited: input.knownExploited ?? new Set(input.signals?.kev.keys() ?? []),
    signals: input.signals,
    nextCycle: nextCycleAfter(cycle),
    nowMs,
  });

  // A target no run can reach (issue #17 item 5: imported inventories) is in no ring: a run
  // started for it would halt and hold it. Its findings still count (breaches), and it is named.
  // Nor is one the policy says must be rolled back on failure when its transport cannot undo an
  // update (an agent host): patching it would start an update the policy forbids without a way back.
  const mustRollBack = policy.rollback === 'on-failure';
  const leftOut = (t: PlanTarget): boolean => t.reachable === false || (mustRollBack && t.rollbackable === false);
  const drafts = all.filter((d) => !leftOut(d.t));
  const unreachable = all.filter((d) => d.t.reachable === false).map((d) => d.t.name);
  const notRollbackable = all.filter((d) => d.t.reachable !== false && mustRollBack && d.t.rollbackable === false).map((d) => d.t.name);
  const rings = policy.rollout.rings;
  const ringOf = assignRings(rings, drafts, (d) => d.t);
  // What each host of each ring gets (its time comes after), ring by ring, by host name.
  const approvedCycle = nowMs >= autoApproveFrom(around.previous, policy.approval.autoApproveAfterDays, policy.cadence.timezone);
  const items: Item[] = [];
  for (let i = 0; i < rings.length; i++)
    for (const d of drafts.filter((x) => ringOf.get(x) === i).sort((a, b) => a.t.name.localeCompare(b.t.name))) {
      const split = splitForApproval(
        [...d.packages.values()].sort((a, b) => a.name.localeCompare(b.name)),
        d.outOfBand,
        d.manual,
        approved,
        approvedCycle,
      );
      items.push({
        ...split,
        d,
        ring: i,
        emergency: d.emergency,
        deadline: d.deadline,
        approved: split.waitingNow.length === 0,
        urgent: split.packages.some((p) => p.emergency),
      });
    }
  const times = placeInRings(items, {
    rings,
    windows: policy.windows,
    soakHours: policy.rollout.soakHours,
    nowMs,
    ...(input.ringHistory !== undefined ? { ringHistory: input.ringHistory } : {}),
  });

  const entries = items.map((x) => entryOf(x, times.get(x) ?? { start: nowMs, end: null, name: null }, policy, nowMs));
  entries.sort((a, b) => a.ringIndex - b.ringIndex || a.target.localeCompare(b.target));
  breaches.sort((a, b) => b.overdueHours - a.overdueHours || a.target.localeCompare(b.target));
  // A finding past its deadline on a target no run reaches is not plan work: it says so.
  const noRun = new Set(input.targets.filter((t) => t.reachable === false).map((t) => t.name));
  return {
    policy: policy.name,
    generatedAt: iso(nowMs),
    cycle: { previous: Number.isFinite(around.previous) ? iso(around.previous) : null, next: iso(around.next) },
    entries,
    breaches: breaches.map((b) => (noRun.has(b.target) ? { ...b, unreachable: true as const } : b)),
    warnings: [
      ...planWarnings(rings, entries, new Set(input.targets.map((t) => t.name)), unreachable, notRollbackable),
      ...signalWarnings(policy, input.signals?.synced ?? { kev: input.knownExploited !== undefined, epss: false }),
    ],
    idle,
    ...(policy.source !== undefined
      ? { source: { view: policy.source.view, environment: policy.source.environment, repoId: policy.source.repoId ?? null } }
      : {}),
    ...(policy.exclude.length > 0 ? { exclude: [...policy.exclude] } : {}),
    ...safetyOf(policy),
  };
}

/** The policy's hooks, gates, rollback and restarts, as the plan carries them to a run; nothing when it has none. */
function safetyOf(policy: Policy): { safety?: PlanSafety } {
  const { hooks, gates, rollback, restart, reboot } = policy;
  const none =
    hooks.pre.length === 0 && hooks.post.length === 0 && hooks.snapshot === undefined && gates.length === 0 && rollback === 'never' && restart === 'none';
  if (none) return {};
  return {
    safety: {
      hooks: { pre: [...hooks.pre], ...(hooks.snapshot !== undefined ? { snapshot: hooks.snapshot } : {}), post: [...hooks.post] },
      gates: [...gates],
      rollback,
      restart,
      reboot,
    },
  };
}

function entryOf(x: Item, s: Placement, policy: Policy, nowMs: number): PlanEntry {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const { d, ring: i, packages } = x;
  const late = predictedBreach(d.deadline, s, nowMs);
  // An emergency entry's other packages wait for a window: their own deadline, not the emergency one.
  const rest = d.emergency ? packages.filter((p) => !p.emergency).map((p) => d.packageDeadlines.get(p.name) ?? d.deadline) : [];
  return {
    targetId: d.t.id,
    target: d.t.name,
    ring: policy.rollout.rings[i]?.name ?? '?',
    ringIndex: i,
    start: iso(s.start),
    ...(s.after !== undefined ? { after: s.after } : {}),
    ...(late !== undefined ? { predictedBreach: late } : {}),
    windowEnd: s.end === null ? null : iso(s.end),
    window: s.name,
    deadline: iso(d.deadline),
    ...(rest.length > 0 ? { restDeadline: iso(Math.min(...rest)) } : {}),
    reasons: [...d.reasons].sort(),
    emergency: d.emergency,
    approval: x.waitingNow.length > 0 ? 'pending' : 'approved',
    awaitingApproval: x.awaiting,
    packages,
    held: d.held,
    excluded: d.excluded,
    reboot: rebootAfter(policy.reboot, d.t, packages),
  };
}
