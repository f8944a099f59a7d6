import { BulwarkError } from '../core/errors.js';
import type { Severity } from '../core/advisory.js';
import { attainment, type Attainment, type AttainmentItem } from '../policy/attainment.js';
import { findingDeadline, monthlyCycle, nextCycleAfter } from '../policy/deadlines.js';
import { inScope } from '../policy/drafts.js';
import { Policy } from '../policy/schema.js';
import { complianceFindings, getPolicyVersion, kevDueDates, listDecisions, listPolicyVersions, type ComplianceFindingRow } from '../storage/index.js';
import { getProfile, type DeadlineProfile } from './compliance-profiles.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * The compliance report (issue #18 item 3): SLA attainment over a period per severity (and KEV),
 * per policy, per release and per month, with the exceptions (holds, accepted risks) and who
 * decided them. Deadlines come from a profile (FedRAMP, PCI DSS, an operator's) counted from a
 * finding's first sight, or with `deadlines: 'policy'` from the policies covering each host
 * (their out-of-band rules, else the next monthly cycle; the earliest when several cover it).
 * The figures' definitions are in src/policy/attainment.ts.
 */
export interface ComplianceReport {
  generatedAt: string;
  period: { from: string; to: string };
  deadlines: { name: string; description: string; days: DeadlineProfile['days'] | null; kevDueDate: boolean };
  attainment: Attainment;
  /** Findings not counted, and why. */
  notCounted: { accepted: number; noFix: number; withdrawn: number; noDeadline: number };
  exceptions: {
    holds: { policy: string; advisory: string; reason: string; until: string | null; decidedBy: string; decidedAt: string; revokedAt: string | null }[];
    acceptedRisks: {
      host: string;
      advisory: string;
      package: string;
      severity: string;
      reason: string | null;
      acceptedUntil: string | null;
      decidedBy: string;
      /** When it was accepted; null if before Bulwark recorded it. */
      decidedAt: string | null;
    }[];
  };
  /** Counted findings open past their deadline at the end of the period, oldest deadline first (at most 500). */
  overdue: { host: string; advisory: string; package: string; severity: string; firstSeen: string; deadline: string; daysOverdue: number }[];
}

const DAY = 86_400_000;

function endOfDay(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) + DAY;
}

/** The deadline (ms) of a row under a profile: first seen + the severity's days; a KEV due date when earlier. */
export function profileDeadline(
  p: DeadlineProfile,
  f: { severity: string; firstSeen: string; cves: readonly string[] },
  kev: ReadonlyMap<string, string>,
): number | null {
  const d = p.days[f.severity as keyof DeadlineProfile['days']];
  let deadline = d === undefined ? null : Date.parse(f.firstSeen) + d * DAY;
  if (p.kevDueDate)
    for (const c of f.cves) {
      const due = kev.get(c);
      if (due === undefined) continue;
      const at = endOfDay(due);
      if (deadline === null || at < deadline) deadline = at;
    }
  return deadline;
}

export interface ComplianceOptions {
  /** A profile name, or `policy`. */
  deadlines?: string;
  from: Date;
  to: Date;
}

export async function complianceReport(db: Db, o: ComplianceOptions, clock: Clock = systemClock): Promise<ComplianceReport> {
  const now = clock();
  const from = o.from.getTime();
  // What is not yet due is not yet missed: the period ends now at the latest.
  const to = Math.min(o.to.getTime(), now.getTime());
  if (!(from < to)) throw new BulwarkError('usage', `the period is empty: --from ${o.from.toISOString()} is not before --to ${new Date(to).toISOString()}`);
  const before = new Date(to).toISOString();
  const name = o.deadlines ?? 'fedramp';
  const profile = name === 'policy' ? null : await getProfile(db, name);
  const rows = await complianceFindings(db, { before });
  const kev = await kevDueDates(db);
  const policies: { name: string; policy: Policy }[] = [];
  for (const v of await listPolicyVersions(db)) {
    const stored = await getPolicyVersion(db, v.name);
    if (stored !== null) policies.push({ name: v.name, policy: Policy.parse(stored.document) });
  }
  const exploited = new Set(kev.keys());
  const signals = { kev: new Map([...kev].map(([c, d]) => [c, { dueDate: d, ransomware: false }])), epss: new Map<string, number>() };
  const cycles = new Map(policies.map((p) => [p.name, nextCycleAfter(monthlyCycle(p.policy))]));
  const deadlineOf = (r: ComplianceFindingRow, covering: readonly { name: string; policy: Policy }[]): number | null => {
    if (profile !== null) return profileDeadline(profile, r, kev);
    let best: number | null = null;
    for (const p of covering) {
      const f = { ...r, advisorySource: r.source, severity: r.severity as Severity, status: 'open' as const };
      const d = findingDeadline(f, p.policy.outOfBand, exploited, cycles.get(p.name) ?? (() => Number.POSITIVE_INFINITY), signals).deadline;
      if (best === null || d < best) best = d;
    }
    return best;
  };
  const items: AttainmentItem[] = [];
  const notCounted = { accepted: 0, noFix: 0, withdrawn: 0, noDeadline: 0 };
  const overdue: ComplianceReport['overdue'] = [];
  const acceptedRisks: ComplianceReport['exceptions']['acceptedRisks'] = [];
  for (const r of rows) {
    const target = { id: r.targetId, name: r.targetName, release: r.release, tags: r.tags, rebootRequired: null };
    const covering = policies.filter((p) => inScope(p.policy, target));
    const deadline = deadlineOf(r, covering);
    const closedAt = r.closedAt === null ? null : Date.parse(r.closedAt);
    items.push({
      severity: r.severity,
      kev: r.cves.some((c) => kev.has(c)),
      release: r.release ?? 'unknown',
      policies: covering.map((p) => p.name),
      status: r.status,
      firstSeen: Date.parse(r.firstSeen),
      closedAt,
      deadline,
    });
    if (r.status === 'accepted') {
      notCounted.accepted++;
      acceptedRisks.push({
        host: r.targetName,
        advisory: r.advisoryId,
        package: r.package,
        severity: r.severity,
        reason: r.reason,
        acceptedUntil: r.acceptedUntil,
        // Accepted before Bulwark recorded who (migration 0064): said so rather than guessed.
        decidedBy: r.acceptedBy ?? 'not recorded',
        decidedAt: r.acceptedAt,
      });
    } else if (r.status === 'no-fix') notCounted.noFix++;
    else if (r.status === 'withdrawn') notCounted.withdrawn++;
    else if (deadline === null) notCounted.noDeadline++;
    else if (deadline < to && (closedAt === null || closedAt >= to))
      overdue.push({
        host: r.targetName,
        advisory: r.advisoryId,
        package: r.package,
        severity: r.severity,
        firstSeen: r.firstSeen,
        deadline: new Date(deadline).toISOString(),
        daysOverdue: Math.floor((to - deadline) / DAY),
      });
  }
  overdue.sort((a, b) => a.deadline.localeCompare(b.deadline) || a.host.localeCompare(b.host));
  const holds = (await listDecisions(db, { now: before, history: true }))
    .filter((d) => d.kind === 'hold' && Date.parse(d.createdAt) < to && (d.revokedAt === null || Date.parse(d.revokedAt) >= from))
    .map((d) => ({
      policy: d.policy,
      advisory: d.advisoryId,
      reason: d.reason,
      until: d.until,
      decidedBy: d.actor,
      decidedAt: d.createdAt,
      revokedAt: d.revokedAt,
    }));
  return {
    generatedAt: now.toISOString(),
    period: { from: o.from.toISOString(), to: before },
    deadlines:
      profile === null
        ? { name: 'policy', description: "each policy's own deadlines (out-of-band rules, else the next monthly cycle)", days: null, kevDueDate: false }
        : { name: profile.name, description: profile.description, days: profile.days, kevDueDate: profile.kevDueDate },
    attainment: attainment(items, from, to),
    notCounted,
    exceptions: { holds, acceptedRisks },
    overdue: overdue.slice(0, 500),
  };
}
