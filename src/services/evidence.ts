import { BulwarkError } from '../core/errors.js';
import { auditBetween, complianceFindings, getTarget, listDecisions, planByPk, targetSteps } from '../storage/index.js';
import type { Db } from './store.js';

/**
 * Evidence for auditors (issue #18 item 3): for one host and a period, every run that touched it
 * — who started it, the exact packages and versions it changed there (from → to, as its stored
 * plan says, with the versions the run asked the package manager for), how each step ended, who
 * approved the advisories it installed — and the findings of the host it closed (closed as
 * `fixed` between the run's start and its last step on the host).
 */
export interface HostEvidence {
  host: string;
  period: { from: string; to: string };
  runs: {
    run: number;
    policy: string;
    status: string;
    createdAt: string;
    startedBy: string;
    steps: { kind: string; state: string; startedAt: string | null; finishedAt: string | null; exitCode: number | null }[];
    packages: { name: string; from: string | null; to: string; advisories: string[] }[];
    approvals: { advisory: string; by: string; at: string; reason: string }[];
    closed: { advisory: string; package: string; installed: string; fixed: string | null; severity: string; closedAt: string }[];
  }[];
}

interface PlanShape {
  entries?: { targetId?: string; packages?: { name: string; from: string; to: string; advisories: string[] }[]; approval?: string; reasons?: string[] }[];
}

export async function hostEvidence(db: Db, o: { host: string; from: Date; to: Date }): Promise<HostEvidence> {
  const target = await getTarget(db, o.host);
  if (target === null) throw new BulwarkError('storage.not-found', `no host named "${o.host}"`);
  const from = o.from.toISOString();
  const to = o.to.toISOString();
  if (!(from < to)) throw new BulwarkError('usage', `the period is empty: --from ${from} is not before --to ${to}`);
  const steps = await targetSteps(db, target.id, from, to);
  const earliest = steps.reduce((m, s) => (s.createdAt < m ? s.createdAt : m), to);
  const starts = steps.length === 0 ? [] : await auditBetween(db, ['run.start'], earliest, to);
  const decisions = await listDecisions(db, { now: to, history: true });
  const findings = (await complianceFindings(db, { before: to, targetId: target.id })).filter((f) => f.status === 'fixed' && f.closedAt !== null);
  const byRun = new Map<number, typeof steps>();
  for (const s of steps) byRun.set(s.run, [...(byRun.get(s.run) ?? []), s]);
  const runs: HostEvidence['runs'] = [];
  for (const [run, ss] of byRun) {
    const first = ss[0];
    if (first === undefined) continue;
    const plan = (first.planPk === null ? null : await planByPk(db, first.planPk)) as PlanShape | null;
    const entry = plan?.entries?.find((e) => e.targetId === target.id);
    const asked = new Map<string, string>();
    for (const s of ss)
      if (s.kind === 'update') for (const p of (s.spec['packages'] ?? []) as { name: string; version: string }[]) asked.set(p.name, p.version);
    const planned = new Map((entry?.packages ?? []).map((p) => [p.name, p]));
    const packages = [...new Set([...asked.keys(), ...planned.keys()])].sort().map((name) => {
      const p = planned.get(name);
      return { name, from: p?.from ?? null, to: asked.get(name) ?? p?.to ?? '', advisories: p?.advisories ?? [] };
    });
    const advisories = new Set(packages.flatMap((p) => p.advisories));
    const approvals = decisions
      .filter((d) => d.kind === 'approve' && d.policy === first.policy && advisories.has(d.advisoryId) && d.createdAt <= first.createdAt)
      .map((d) => ({ advisory: d.advisoryId, by: d.actor, at: d.createdAt, reason: d.reason }));
    if (entry?.approval === 'approved' && approvals.length === 0)
      approvals.push({
        advisory: '*',
        by: 'policy',
        at: first.createdAt,
        reason: `approved by the policy's own rules (${(entry.reasons ?? []).join(', ') || 'auto-approval'})`,
      });
    const start = starts.find((a) => Number(a.detail['run']) === run);
    const last = ss.reduce<string>((m, s) => (s.finishedAt !== null && s.finishedAt > m ? s.finishedAt : m), first.createdAt);
    // The rescan after the update closes the findings: the same instant as its step's end, or just before.
    const closed = findings
      .filter((f) => (f.closedAt ?? '') >= first.createdAt && (f.closedAt ?? '') <= last)
      .map((f) => ({ advisory: f.advisoryId, package: f.package, installed: f.installed, fixed: f.fixed, severity: f.severity, closedAt: f.closedAt ?? '' }));
    runs.push({
      run,
      policy: first.policy,
      status: first.status,
      createdAt: first.createdAt,
      startedBy: start?.actor ?? 'not recorded',
      steps: ss.map((s) => ({ kind: s.kind, state: s.state, startedAt: s.startedAt, finishedAt: s.finishedAt, exitCode: s.exitCode })),
      packages,
      approvals,
      closed,
    });
  }
  return { host: target.name, period: { from, to }, runs };
}
