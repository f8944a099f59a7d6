import type { PackageFamily } from '../core/release.js';
import { releaseFamily } from '../distros/registry.js';
import { versionScheme } from '../core/version/registry.js';
import { findingDeadline } from './deadlines.js';
import type { Plan, PlanBreach, PlanEntry, PlanFinding, PlannedPackage, PlanSignals, PlanTarget } from './plan-types.js';
import type { Policy } from './schema.js';
import { selectVersion, type PackageRules } from './select-version.js';

/**
 * What each target in scope needs, before rings and times: its packages and their versions
 * (select-version.ts), its earliest deadline and the rules behind it (deadlines.ts), what is held
 * or excluded; targets with nothing to do are idle, with why; deadlines already passed are
 * breaches.
 */
export interface Draft {
  t: PlanTarget;
  family: PackageFamily;
  deadline: number;
  reasons: Set<string>;
  emergency: boolean;
  /** Advisories under a rule with manual approval. */
  manual: Set<string>;
  /** Packages with a finding an out-of-band rule covers: they do not wait for the monthly approval. */
  outOfBand: Set<string>;
  packages: Map<string, PlannedPackage>;
  /** Each package's earliest deadline among its findings. */
  packageDeadlines: Map<string, number>;
  held: PlanEntry['held'];
  excluded: PlanEntry['excluded'];
}

export interface DraftContext {
  policy: Policy;
  rules: PackageRules;
  exploited: ReadonlySet<string>;
  /** KEV entries and EPSS scores per CVE (issue #16). */
  signals?: Pick<PlanSignals, 'kev' | 'epss'> | undefined;
  nextCycle: (firstSeen: string) => number;
  nowMs: number;
}

export function inScope(p: Policy, t: PlanTarget): boolean {
  const s = p.scope;
  if (s.releases !== undefined && (t.release === null || !s.releases.includes(t.release))) return false;
  if (s.tags !== undefined && !s.tags.every((x) => t.tags.includes(x))) return false;
  if (s.hosts !== undefined && !s.hosts.includes(t.name)) return false;
  return true;
}

/** @example draftTargets(input.targets, input.findings, ctx) // { drafts, idle, breaches } */
export function draftTargets(
  targets: readonly PlanTarget[],
  findings: readonly PlanFinding[],
  ctx: DraftContext,
): { drafts: Draft[]; idle: Plan['idle']; breaches: PlanBreach[] } {
  const byTarget = new Map<string, PlanFinding[]>();
  for (const f of findings) {
    if (f.status !== 'open' || f.fixed === null) continue;
    const l = byTarget.get(f.targetId) ?? [];
    l.push(f);
    byTarget.set(f.targetId, l);
  }
  const drafts: Draft[] = [];
  const idle: Plan['idle'] = [];
  const breaches: PlanBreach[] = [];
  for (const t of targets) {
    if (!inScope(ctx.policy, t)) continue;
    const family = t.release === null ? null : releaseFamily(t.release);
    const fs = byTarget.get(t.id) ?? [];
    if (fs.length === 0 || family === null) {
      idle.push({ target: t.name, why: family === null ? 'unknown release' : 'no open finding with a fix' });
      continue;
    }
    const d: Draft = {
      t,
      family,
      deadline: Infinity,
      reasons: new Set(),
      emergency: false,
      manual: new Set(),
      outOfBand: new Set(),
      packages: new Map(),
      packageDeadlines: new Map(),
      held: [],
      excluded: [],
    };
    for (const f of fs) addFinding(d, f, ctx, breaches);
    if (d.packages.size === 0)
      idle.push({ target: t.name, why: d.held.length > 0 || d.excluded.length > 0 ? 'every fix is held or excluded' : 'no open finding with a fix' });
    else drafts.push(d);
  }
  return { drafts, idle, breaches };
}

function addFinding(d: Draft, f: PlanFinding, ctx: DraftContext, breaches: PlanBreach[]): void {
  const scheme = versionScheme(d.family);
  const sel = selectVersion(f, ctx.rules, scheme);
  if (sel === null) return;
  if (sel.kind === 'held') {
    if (!d.held.some((x) => x.advisory === sel.hold.advisory)) d.held.push({ advisory: sel.hold.advisory, reason: sel.hold.reason, until: sel.hold.until });
    return;
  }
  if (sel.kind === 'excluded') {
    if (!d.excluded.some((x) => x.package === f.package && (sel.once === 'per-package' || x.why === sel.why)))
      d.excluded.push({ package: f.package, why: sel.why });
    return;
  }
  const due = findingDeadline(f, ctx.policy.outOfBand, ctx.exploited, ctx.nextCycle, ctx.signals);
  if (due.outOfBand) d.outOfBand.add(f.package);
  if (due.emergency) d.emergency = true;
  if (due.manual) d.manual.add(f.advisoryId);
  d.reasons.add(due.reason);
  d.deadline = Math.min(d.deadline, due.deadline);
  d.packageDeadlines.set(f.package, Math.min(d.packageDeadlines.get(f.package) ?? Infinity, due.deadline));
  if (due.deadline < ctx.nowMs)
    breaches.push({
      target: d.t.name,
      advisory: f.advisoryId,
      package: f.package,
      deadline: new Date(due.deadline).toISOString(),
      overdueHours: Math.round((ctx.nowMs - due.deadline) / 3_600_000),
      firstSeen: f.firstSeen,
      publishedAt: f.publishedAt,
    });
  const cur = d.packages.get(f.package);
  if (cur === undefined)
    d.packages.set(f.package, {
      name: f.package,
      from: f.installed,
      to: sel.to,
      advisories: [f.advisoryId],
      emergency: due.emergency,
      ...(sel.pin !== undefined ? { pin: sel.pin } : {}),
    });
  else {
    if (due.emergency) cur.emergency = true;
    if (scheme.compare(sel.to, cur.to) > 0) cur.to = sel.to;
    if (!cur.advisories.includes(f.advisoryId)) cur.advisories.push(f.advisoryId);
  }
}
