import { SEVERITIES } from '../core/advisory.js';

/**
 * SLA attainment (issue #18 item 3), pure: findings with their deadlines in, figures out. The
 * definitions, which the README states and the compliance test recomputes from raw rows:
 * - counted: findings `open` or `fixed` with a deadline. Accepted risks are exceptions (listed
 *   apart), `no-fix` findings have nothing to install, `withdrawn` ones were never remediated —
 *   none of them is counted; a finding whose severity the deadlines do not cover has none.
 * - due: counted findings whose deadline falls in the period [from, to).
 * - met: due findings closed at or before their deadline; missed: the others (still open, or
 *   closed late). share = met / due (null when nothing was due).
 * - time to remediate: of findings fixed in the period, closed − first seen, in days; mean and
 *   90th percentile by the nearest-rank method (the ⌈0.9·n⌉-th smallest).
 * - open past deadline: counted findings first seen before `to`, not closed by `to`, whose
 *   deadline was before `to` (for a month: at the end of that month).
 */
export interface AttainmentItem {
  severity: string;
  kev: boolean;
  release: string;
  policies: readonly string[];
  status: string;
  firstSeen: number;
  closedAt: number | null;
  deadline: number | null;
}

export interface Bucket {
  key: string;
  due: number;
  met: number;
  missed: number;
  /** met / due, 0 to 1; null when nothing was due. */
  share: number | null;
  /** Findings fixed in the period (the time to remediate is theirs). */
  fixed: number;
  meanDaysToRemediate: number | null;
  p90DaysToRemediate: number | null;
  openPastDeadline: number;
}

export interface Attainment {
  overall: Bucket;
  bySeverity: Bucket[];
  /** Findings of a CVE CISA lists as known exploited. */
  kev: Bucket;
  byPolicy: Bucket[];
  byRelease: Bucket[];
  /** Calendar months (UTC) of the period, `YYYY-MM`: due and met by the deadline's month, fixes by their month. */
  byMonth: Bucket[];
}

const DAY = 86_400_000;

/** The nearest-rank percentile of sorted values: the ⌈p·n⌉-th smallest. @example percentile([1, 2, 3, 4], 0.9) // 4 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? null;
}

function counted(i: AttainmentItem): boolean {
  return i.deadline !== null && (i.status === 'open' || i.status === 'fixed');
}

/** One bucket of items over [from, to). */
export function bucket(key: string, items: readonly AttainmentItem[], from: number, to: number): Bucket {
  let due = 0;
  let met = 0;
  let open = 0;
  const days: number[] = [];
  for (const i of items) {
    if (!counted(i) || i.deadline === null) continue;
    if (i.deadline >= from && i.deadline < to) {
      due++;
      if (i.closedAt !== null && i.closedAt <= i.deadline) met++;
    }
    if (i.status === 'fixed' && i.closedAt !== null && i.closedAt >= from && i.closedAt < to) days.push((i.closedAt - i.firstSeen) / DAY);
    if (i.firstSeen < to && (i.closedAt === null || i.closedAt >= to) && i.deadline < to) open++;
  }
  days.sort((a, b) => a - b);
  const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 100) / 100);
  return {
    key,
    due,
    met,
    missed: due - met,
    share: due === 0 ? null : met / due,
    fixed: days.length,
    meanDaysToRemediate: round(days.length === 0 ? null : days.reduce((a, b) => a + b, 0) / days.length),
    p90DaysToRemediate: round(percentile(days, 0.9)),
    openPastDeadline: open,
  };
}

function groupBy(items: readonly AttainmentItem[], keys: (i: AttainmentItem) => readonly string[]): Map<string, AttainmentItem[]> {
  const out = new Map<string, AttainmentItem[]>();
  for (const i of items)
    for (const k of keys(i)) {
      const l = out.get(k);
      if (l === undefined) out.set(k, [i]);
      else l.push(i);
    }
  return out;
}

/** The months (UTC) a period touches, with their bounds clipped to it. */
export function monthsOf(from: number, to: number): { key: string; from: number; to: number }[] {
  const out: { key: string; from: number; to: number }[] = [];
  const d = new Date(from);
  let y = d.getUTCFullYear();
  let m = d.getUTCMonth();
  for (;;) {
    const start = Date.UTC(y, m, 1);
    if (start >= to) break;
    const end = Date.UTC(y, m + 1, 1);
    out.push({ key: `${String(y)}-${String(m + 1).padStart(2, '0')}`, from: Math.max(start, from), to: Math.min(end, to) });
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
  return out;
}

/** @example attainment(items, Date.parse('2026-01-01'), Date.parse('2027-01-01')).overall.share */
export function attainment(items: readonly AttainmentItem[], from: number, to: number): Attainment {
  const sorted = (m: Map<string, AttainmentItem[]>): Bucket[] =>
    [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, l]) => bucket(k, l, from, to));
  const bySev = groupBy(items, (i) => [i.severity]);
  const order = (s: string): number => {
    const k = (SEVERITIES as readonly string[]).indexOf(s);
    return k === -1 ? 99 : k;
  };
  return {
    overall: bucket('all', items, from, to),
    bySeverity: [...bySev.entries()].sort(([a], [b]) => order(a) - order(b)).map(([k, l]) => bucket(k, l, from, to)),
    kev: bucket(
      'kev',
      items.filter((i) => i.kev),
      from,
      to,
    ),
    byPolicy: sorted(groupBy(items, (i) => i.policies)),
    byRelease: sorted(groupBy(items, (i) => [i.release])),
    byMonth: monthsOf(from, to).map((m) => bucket(m.key, items, m.from, m.to)),
  };
}
