import { BulwarkError } from '../core/errors.js';
import { parsePolicy, yamlPosition } from '../policy/load.js';
import { assemblePlan, signalsNamed, unknownRingHosts, type Plan, type PlanSignals } from '../policy/plan.js';
import { Policy } from '../policy/schema.js';
import {
  addDecision,
  getPolicyVersion,
  latestPlan,
  listDecisions,
  listPolicyVersions,
  listTargets,
  queryFindings,
  revokeDecisions,
  ringHistory,
  savePlan,
  savePolicyVersion,
  transaction,
  type Decision,
  type StoredTarget,
} from '../storage/index.js';
import { actorLabel, recordAudit, SYSTEM, type Actor } from './audit.js';
import { readBoundedText } from './read-file.js';
import { viewAvailable } from './view-source.js';
import { exploitationOf, signalsSynced } from './signals.js';
import { systemClock, type Clock, type Db } from './store.js';
import { rollsBack } from './host-transports/index.js';
import { didYouMean } from '../lib/words.js';

/**
 * Policies and plans (issue #5): `policy apply` stores a new version when the file changed;
 * `plan` assembles a plan from the stored findings and targets (assemblePlan is pure) and keeps
 * it, so that `plan diff` shows what changed since the last one.
 */
export async function applyPolicyFile(
  db: Db,
  file: string,
  actor: Actor = SYSTEM,
  clock: Clock = systemClock,
): Promise<{ name: string; version: number; created: boolean }> {
  return applyPolicyText(db, await readBoundedText(file, 1024 * 1024), file, actor, { clock, detail: { file } });
}

/**
 * Applies a policy from its YAML text; `origin` names it in error messages (a file, "request
 * body"). With `expectName`, a text naming another policy is refused before anything is stored
 * (PUT /policies/A with a body naming B changed B, issue #20 item 8). A new version is audited as
 * `policy.apply`; an unchanged text stores nothing and records nothing.
 */
export async function applyPolicyText(
  db: Db,
  text: string,
  origin: string,
  actor: Actor = SYSTEM,
  o: { clock?: Clock; expectName?: string; detail?: Record<string, unknown> } = {},
): Promise<{ name: string; version: number; created: boolean }> {
  const { expectName } = o;
  const clock = o.clock ?? systemClock;
  const policy = parsePolicy(text, origin);
  if (expectName !== undefined && policy.name !== expectName)
    throw new BulwarkError('input.invalid', `${origin}: the policy is named "${policy.name}", not "${expectName}"`);
  // A ring naming a host the store does not know (a typo in the canary's list) would silently
  // empty that ring and send its share of the rollout to the rings after it at once: refused, with
  // every such name at once. Add the host first (hosts add, scan, an agent), then the policy.
  const hosts = (await listTargets(db)).filter((t) => t.kind === 'host').map((t) => t.name);
  const unknown = unknownRingHosts(policy, hosts);
  if (unknown.length > 0)
    throw new BulwarkError(
      'config.invalid',
      unknown
        .map(
          (u) =>
            `${yamlPosition(text, origin, ['rollout', 'rings', u.ring, 'hosts', u.index])}: rollout.rings[${String(u.ring)}].hosts[${String(u.index)}]: no host named "${u.host}"${u.suggestion === null ? '' : ` (did you mean "${u.suggestion}"?)`}`,
        )
        .join('\n') + '\n(a ring may name only known hosts: add the host first, or fix the name)',
      { file: origin, hosts: unknown.map((u) => u.host) },
    );
  // A rule naming a signal never synced would never fire (issue #16): refused, every such rule at once.
  const synced = await signalsSynced(db);
  const missing = signalsNamed(policy).filter((n) => !synced[n.signal]);
  if (missing.length > 0)
    throw new BulwarkError(
      'config.invalid',
      missing
        .map(
          (n) =>
            `${yamlPosition(text, origin, ['outOfBand', n.rule])}: outOfBand[${String(n.rule)}] (${n.name}): ${n.what} needs the ${n.signal === 'kev' ? 'CISA KEV' : 'FIRST EPSS'} feed, which was never synced`,
        )
        .join('\n') +
        `\n(sync it first: ${[...new Set(missing.map((n) => `bulwark feeds sync --source ${n.signal === 'kev' ? 'cisa-kev' : 'first-epss'}`))].join('; ')})`,
      { file: origin, signals: [...new Set(missing.map((n) => n.signal))] },
    );
  const r = await savePolicyVersion(db, policy.name, text, policy, clock().toISOString());
  if (r.created) await recordAudit(db, actor, 'policy.apply', policy.name, { version: r.version, ...o.detail }, clock);
  return { name: policy.name, ...r };
}

export function listPolicies(db: Db): Promise<{ name: string; version: number; appliedAt: string }[]> {
  return listPolicyVersions(db);
}

async function loadPolicy(db: Db, name: string): Promise<{ policy: Policy; version: number }> {
  const stored = await getPolicyVersion(db, name);
  if (stored === null) throw await noPolicy(db, name);
  return { policy: Policy.parse(stored.document), version: stored.version };
}

/** The error for a policy name that is not stored, with the closest stored name. */
async function noPolicy(db: Db, name: string): Promise<BulwarkError> {
  const known = (await listPolicies(db)).map((p) => p.name);
  return new BulwarkError('storage.not-found', `no policy named "${name}"${didYouMean(name, known)} (apply one with \`bulwark policy apply -f FILE\`)`, {
    policy: name,
  });
}

/** Refuses a policy name that is not stored (a typo in `decisions --policy`), naming the closest. */
export async function requirePolicy(db: Db, name: string): Promise<void> {
  if ((await getPolicyVersion(db, name)) === null) throw await noPolicy(db, name);
}

/**
 * Assembles the plan of a policy at `at` (default now) from the store; `save` keeps it for `plan diff`.
 * @example await makePlan(db, 'azl3-prod', { save: true })
 */
export async function makePlan(
  db: Db,
  name: string,
  opts: { at?: Date; save?: boolean; clock?: Clock; audit?: Actor; reachable?: ((t: StoredTarget) => boolean) | undefined } = {},
): Promise<{ plan: Plan; policy: Policy; policyVersion: number; pk: number | null }> {
  // A target the run's transport cannot reach (an imported inventory) is left out of the plan's rings, named in a warning.
  const reachable = opts.reachable ?? ((): boolean => true);
  const { policy, version } = await loadPolicy(db, name);
  // Images are patched by building them again, never in place: plans are for hosts.
  const targets = (await listTargets(db)).filter((t) => t.kind === 'host');
  const now = opts.at ?? (opts.clock ?? systemClock)();
  // Open findings, and accepted ones whose acceptance has expired by then (the next scan or
  // scheduler pass makes them open; a plan for a later time counts them already).
  const findings = (await queryFindings(db, { status: ['open', 'accepted'] }))
    .filter((f) => f.status === 'open' || (f.acceptedUntil !== null && Date.parse(f.acceptedUntil) <= now.getTime() && f.fixed !== null))
    .map((f) => ({ ...f, status: 'open' as const }));
  const decisions = await listDecisions(db, { policy: name, now: now.toISOString() });
  const available = policy.source === undefined ? undefined : await viewAvailable(db, policy.source);
  // The exploitation signals of the findings' CVEs, fresh from the store: a KEV sync changes the next plan.
  const known = await exploitationOf(
    db,
    findings.flatMap((f) => f.cves),
  );
  const kev = new Map<string, { dueDate: string; ransomware: boolean }>();
  const epss = new Map<string, number>();
  for (const [cve, s] of known) {
    if (s.kev !== null) kev.set(cve, { dueDate: s.kev.dueDate, ransomware: s.kev.ransomware });
    if (s.epss !== null) epss.set(cve, s.epss.score);
  }
  const signals: PlanSignals = { kev, epss, synced: await signalsSynced(db) };
  const plan = assemblePlan({
    signals,
    ...(available !== undefined ? { available } : {}),
    ringHistory: await ringHistory(db, name),
    policy,
    now,
    approved: new Set(decisions.filter((d) => d.kind === 'approve').map((d) => d.advisoryId)),
    holds: decisions
      .filter((d) => d.kind === 'hold')
      .map((d) => ({ advisory: d.advisoryId, reason: `${d.reason} (held by ${d.actor})`, until: d.until ?? '9999-12-31' })),
    targets: targets.map((t) => ({
      id: t.id,
      name: t.name,
      release: t.release,
      tags: t.tags,
      rebootRequired: t.rebootRequired,
      reachable: reachable(t),
      rollbackable: rollsBack(t),
    })),
    findings: findings.map((f) => ({
      targetId: f.targetId,
      advisorySource: f.advisorySource,
      advisoryId: f.advisoryId,
      package: f.package,
      installed: f.installed,
      fixed: f.fixed,
      severity: f.severity,
      cvssScore: f.cvssScore,
      cvssV4Score: f.cvssV4Score,
      cves: f.cves,
      publishedAt: f.publishedAt,
      firstSeen: f.firstSeen,
      status: f.status,
    })),
  });
  const pk = opts.save === true ? await savePlan(db, name, version, plan, (opts.clock ?? systemClock)().toISOString()) : null;
  // A plan an operator asked for (`bulwark plan`) is audited; the ones a run or a diff keeps are theirs.
  if (pk !== null && opts.audit !== undefined)
    await recordAudit(
      db,
      opts.audit,
      'plan.create',
      name,
      { plan: pk, policyVersion: version, hosts: plan.entries.length, breaches: plan.breaches.length },
      opts.clock,
    );
  return { plan, policy, policyVersion: version, pk };
}

export interface PlanDiff {
  added: string[];
  removed: string[];
  changed: { target: string; what: string[] }[];
}

/** What changed between two plans, per target: hosts added or removed, packages, versions, ring, window. */
export function diffPlans(before: Plan, after: Plan): PlanDiff {
  const a = new Map(before.entries.map((e) => [e.target, e]));
  const b = new Map(after.entries.map((e) => [e.target, e]));
  const changed: PlanDiff['changed'] = [];
  for (const [t, e] of b) {
    const old = a.get(t);
    if (old === undefined) continue;
    const what: string[] = [];
    const pk = (x: typeof e): Map<string, string> => new Map(x.packages.map((p) => [p.name, p.to]));
    const [op, np] = [pk(old), pk(e)];
    for (const [n, v] of np) if (op.get(n) !== v) what.push(op.has(n) ? `${n} ${op.get(n) ?? ''} → ${v}` : `+${n} ${v}`);
    for (const n of op.keys()) if (!np.has(n)) what.push(`-${n}`);
    if (old.ring !== e.ring) what.push(`ring ${old.ring} → ${e.ring}`);
    // "At once" (an emergency, or no window) is the same start in both plans, whatever the clock said.
    const atOnce = old.start === before.generatedAt && e.start === after.generatedAt;
    if (old.start !== e.start && !atOnce) what.push(`start ${old.start} → ${e.start}`);
    if (old.deadline !== e.deadline) what.push(`deadline ${old.deadline} → ${e.deadline}`);
    if (old.approval !== e.approval) what.push(`approval ${old.approval} → ${e.approval}`);
    if (what.length > 0) changed.push({ target: t, what });
  }
  return {
    added: [...b.keys()].filter((t) => !a.has(t)).sort(),
    removed: [...a.keys()].filter((t) => !b.has(t)).sort(),
    changed: changed.sort((x, y) => x.target.localeCompare(y.target)),
  };
}

/** Assembles a plan now, stores it, and compares it with the previous stored one. */
export async function planDiff(db: Db, name: string, clock: Clock = systemClock): Promise<{ diff: PlanDiff; previousAt: string | null }> {
  const { plan, pk } = await makePlan(db, name, { save: true, clock });
  const prev = pk === null ? null : await latestPlan(db, name, pk);
  const empty: Plan = { ...plan, entries: [], breaches: [], idle: [] };
  return { diff: diffPlans(prev === null ? empty : (prev.plan as Plan), plan), previousAt: prev?.createdAt ?? null };
}

const ADVISORY_ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

function checkAdvisoryId(id: string): void {
  if (!ADVISORY_ID.test(id)) throw new BulwarkError('usage', `"${id}" is not an advisory id`);
}

/**
 * Operators' decisions (`bulwark approve | hold | unhold`): approvals release plan entries that
 * wait for one (rules with `approval: manual`, monthly work before its auto-approval); holds keep
 * an advisory out of the plan until they expire or are lifted. Each is audited with its actor.
 * @example await decide(db, { policy: 'azl3-prod', advisoryId: 'ADV-1', kind: 'hold', reason: 'app validation', until: '2026-12-31', actor: { kind: 'cli', name: 'alice' } })
 */
export async function decide(
  db: Db,
  d: { policy: string; advisoryId: string; kind: 'approve' | 'hold'; reason: string; until: string | null; actor: Actor },
  clock: Clock = systemClock,
): Promise<number> {
  await loadPolicy(db, d.policy);
  checkAdvisoryId(d.advisoryId);
  const now = clock();
  if (d.reason.trim() === '') throw new BulwarkError('usage', `a ${d.kind} needs a reason`);
  if (d.until !== null && !(Date.parse(d.until) > now.getTime())) throw new BulwarkError('usage', `--until ${d.until} is not a time in the future`);
  const pk = await transaction(db, (tx) => addDecision(tx, { ...d, actor: actorLabel(d.actor), now: now.toISOString() }));
  await recordAudit(
    db,
    d.actor,
    d.kind === 'approve' ? 'advisory.approve' : 'advisory.hold',
    d.policy,
    { advisory: d.advisoryId, reason: d.reason, until: d.until },
    clock,
  );
  return pk;
}

/** Lifts the holds on (or withdraws the approvals of) an advisory under a policy; returns how many. */
export async function revoke(
  db: Db,
  d: { policy: string; advisoryId: string; kind: 'approve' | 'hold'; actor: Actor },
  clock: Clock = systemClock,
): Promise<number> {
  await loadPolicy(db, d.policy);
  checkAdvisoryId(d.advisoryId);
  const n = await revokeDecisions(db, d.policy, d.advisoryId, d.kind, actorLabel(d.actor), clock().toISOString());
  if (n === 0) throw new BulwarkError('usage', `no active ${d.kind === 'hold' ? 'hold on' : 'approval of'} ${d.advisoryId} under ${d.policy}`);
  await recordAudit(db, d.actor, d.kind === 'approve' ? 'advisory.unapprove' : 'advisory.unhold', d.policy, { advisory: d.advisoryId }, clock);
  return n;
}

export function decisions(db: Db, o: { policy?: string; history?: boolean } = {}, clock: Clock = systemClock): Promise<Decision[]> {
  return listDecisions(db, { ...o, now: clock().toISOString() });
}
