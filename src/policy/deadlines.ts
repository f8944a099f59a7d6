import type { PlanFinding, PlanSignals } from './plan-types.js';
import type { Policy } from './schema.js';
import { cycleAround, type MonthlyCycle } from './time.js';

/**
 * Deadlines: when a finding must be patched by — an out-of-band rule's deadline counted from the
 * advisory's publication, else the next monthly cycle after the finding was first seen — and
 * whether an entry is predicted to miss it.
 */
export function monthlyCycle(policy: Policy): MonthlyCycle {
  const m = policy.cadence.monthly;
  return { weekday: m.weekday, week: m.week, offsetDays: m.offsetDays, timezone: policy.cadence.timezone };
}

/**
 * The next cycle date after a first-seen time, memoised: calendar arithmetic goes through Intl
 * and is costly, and the same first-seen times recur across a fleet.
 * @example const next = nextCycleAfter(monthlyCycle(policy)); next('2026-11-20T00:00:00Z')
 */
export function nextCycleAfter(cycle: MonthlyCycle): (firstSeen: string) => number {
  const memo = new Map<string, number>();
  return (firstSeen) => {
    let v = memo.get(firstSeen);
    if (v === undefined) memo.set(firstSeen, (v = cycleAround(cycle, Date.parse(firstSeen)).next));
    return v;
  };
}

export interface FindingDeadline {
  deadline: number;
  /** `monthly`, or the name of the out-of-band rule whose deadline is the earliest. */
  reason: string;
  /** Some out-of-band rule covers the finding: its package does not wait for the monthly approval. */
  outOfBand: boolean;
  /** Some rule covering it is an emergency: it may go outside windows, at once. */
  emergency: boolean;
  /** Some rule covering it wants an operator's approval. */
  manual: boolean;
}

/**
 * The deadline of one finding under the policy's rules. A rule matches when every condition it
 * has holds; the earliest deadline wins, and any matching rule makes the finding out-of-band
 * (emergency, manual) if it says so.
 * `signals` feeds the `ransomware` and `epssAbove` matchers and `deadlineFrom: kevDueDate`
 * (issue #16): the end (UTC) of CISA's due date, the earliest of the finding's KEV-listed CVEs.
 * @example findingDeadline(f, policy.outOfBand, kev, nextCycleAfter(monthlyCycle(policy)))
 */
export function findingDeadline(
  f: PlanFinding,
  rules: Policy['outOfBand'],
  exploited: ReadonlySet<string>,
  nextCycle: (firstSeen: string) => number,
  signals?: Pick<PlanSignals, 'kev' | 'epss'>,
): FindingDeadline {
  const kevOf = signals?.kev;
  const epssOf = signals?.epss;
  const published = Date.parse(f.publishedAt ?? f.firstSeen);
  const out: FindingDeadline = { deadline: nextCycle(f.firstSeen), reason: 'monthly', outOfBand: false, emergency: false, manual: false };
  for (const r of rules) {
    const m = r.match;
    if (m.severity !== undefined && !m.severity.includes(f.severity)) continue;
    if (m.minCvss !== undefined && (f.cvssScore === null || f.cvssScore < m.minCvss)) continue;
    // v4.0 has its own threshold: a v4.0 score never stands in for a missing v3 one, nor the reverse.
    if (m.minCvssV4 !== undefined && (f.cvssV4Score === undefined || f.cvssV4Score === null || f.cvssV4Score < m.minCvssV4)) continue;
    if (m.cves !== undefined && !m.cves.some((c) => f.cves.includes(c))) continue;
    if (m.knownExploited === true && !f.cves.some((c) => exploited.has(c))) continue;
    if (m.ransomware === true && !f.cves.some((c) => kevOf?.get(c)?.ransomware === true)) continue;
    const above = m.epssAbove;
    if (above !== undefined && !f.cves.some((c) => (epssOf?.get(c) ?? -1) > above)) continue;
    out.outOfBand = true;
    let due = published + r.deadlineHours * 3_600_000;
    if (r.deadlineFrom === 'kevDueDate') {
      const dues = f.cves
        .flatMap((c) => kevOf?.get(c)?.dueDate ?? [])
        .map((x) => Date.parse(`${x}T00:00:00Z`) + 86_400_000)
        .filter((x) => !Number.isNaN(x));
      if (dues.length > 0) due = Math.min(...dues);
    }
    if (due < out.deadline) {
      out.deadline = due;
      out.reason = r.name;
    }
    if (r.emergency) out.emergency = true;
    if (r.approval === 'manual') out.manual = true;
  }
  return out;
}

/**
 * A predicted breach of a deadline still ahead: the entry starts after it, or its window lets
 * hosts begin after it. A deadline already passed is a breach, not a prediction.
 * @example predictedBreach(deadline, { start, end }, Date.now()) // 'finish'
 */
export function predictedBreach(deadline: number, slot: { start: number; end: number | null }, nowMs: number): 'start' | 'finish' | undefined {
  if (deadline < nowMs) return undefined;
  if (slot.start > deadline) return 'start';
  return slot.end !== null && slot.end > deadline ? 'finish' : undefined;
}
