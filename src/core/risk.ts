import { severityRank, type Severity } from './advisory.js';

/**
 * The risk order (issue #16 item 3): a documented, reproducible priority per finding from its
 * severity, CVSS base score, FIRST EPSS and CISA KEV (with known ransomware use). Pure: the
 * signals are passed in, no clock, no environment; the same inputs give the same order.
 *
 * 1. Findings whose CVEs CISA lists as known exploited (KEV) come first, those with known
 *    ransomware campaign use before the others: exploitation is a fact, not a probability.
 * 2. Within each of those tiers, by the score
 *      score = 100 × (0.6 × threat + 0.4 × impact), one decimal,
 *    where threat = 1 for a KEV-listed CVE, else its EPSS probability (0 when it has none), and
 *    impact = CVSS score / 10, or, without a score, the severity's typical value
 *    (critical 0.95, high 0.8, medium 0.55, low 0.3, none 0, unknown 0.5).
 *    The CVSS score is the v3 base score when the advisory has one, else its CVSS v4.0 score
 *    (the two scales differ, so v3 is kept first for the order to stay what it was; the reason
 *    says which one counted: "CVSS 9.8" for v3, "CVSS 4.0 9.3" for v4).
 * 3. Ties: higher CVSS (the same one), then more severe, then the order the rows came in (a stable sort).
 * A finding of several CVEs takes its most threatening CVE's signals (KEV over EPSS, the highest EPSS).
 */

/** What is known of one CVE's exploitation. */
export interface CveSignal {
  kev: { dateAdded: string; dueDate: string; ransomware: boolean } | null;
  epss: { score: number; percentile: number; date: string } | null;
}

export interface Risk {
  /** 0 to 100 (see above). */
  score: number;
  /** The KEV entry that makes it exploited, if any. */
  kev: { cve: string; dateAdded: string; dueDate: string; ransomware: boolean } | null;
  /** The highest EPSS score among its CVEs, if any. */
  epss: { cve: string; score: number; percentile: number; date: string } | null;
  /** In words, e.g. "KEV since 2026-03-02 (due 2026-03-23), EPSS 0.94 (99th percentile), CVSS 9.8, critical". */
  reason: string;
}

export interface RiskFacts {
  severity: Severity;
  /** CVSS v3 base score. */
  cvssScore: number | null;
  /** CVSS v4.0 score, used only when there is no v3 score; absent is null. */
  cvssV4Score?: number | null;
  cves: readonly string[];
}

/**
 * The CVSS score the order uses: v3 when present, else v4.0.
 * @example rankedCvss({ cvssScore: null, cvssV4Score: 9.3 }) // { score: 9.3, label: 'CVSS 4.0' }
 */
export function rankedCvss(f: Pick<RiskFacts, 'cvssScore' | 'cvssV4Score'>): { score: number; label: 'CVSS' | 'CVSS 4.0' } | null {
  if (f.cvssScore !== null) return { score: f.cvssScore, label: 'CVSS' };
  if (f.cvssV4Score !== undefined && f.cvssV4Score !== null) return { score: f.cvssV4Score, label: 'CVSS 4.0' };
  return null;
}

export const RISK_SORTS = ['risk', 'epss', 'kev', 'severity'] as const;
export type RiskSort = (typeof RISK_SORTS)[number];

const IMPACT: Record<Severity, number> = { critical: 0.95, high: 0.8, medium: 0.55, low: 0.3, none: 0, unknown: 0.5 };

/** 1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st. */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${String(n)}${suffix}`;
}

/**
 * An EPSS probability as people read it: two decimals, or one significant digit below 0.01.
 * @example formatEpss(0.94372) // '0.94'
 * @example formatEpss(0.00043) // '0.0004'
 */
export function formatEpss(p: number): string {
  return p >= 0.01 || p === 0 ? p.toFixed(2) : p.toPrecision(1);
}

/**
 * The risk of one finding, with its reason.
 * @example assessRisk({ severity: 'critical', cvssScore: 9.8, cves: ['CVE-2024-6387'] }, (c) => signals.get(c)).reason
 */
export function assessRisk(f: RiskFacts, signalOf: (cve: string) => CveSignal | undefined): Risk {
  let kev: Risk['kev'] = null;
  let epss: Risk['epss'] = null;
  for (const cve of f.cves) {
    const s = signalOf(cve);
    if (s === undefined) continue;
    // The KEV entry with ransomware use, else the earliest added (the longest known exploited).
    if (s.kev !== null && (kev === null || (s.kev.ransomware && !kev.ransomware) || (s.kev.ransomware === kev.ransomware && s.kev.dateAdded < kev.dateAdded)))
      kev = { cve, ...s.kev };
    if (s.epss !== null && (epss === null || s.epss.score > epss.score)) epss = { cve, ...s.epss };
  }
  const cvss = rankedCvss(f);
  const impact = cvss !== null ? Math.min(10, Math.max(0, cvss.score)) / 10 : IMPACT[f.severity];
  const threat = kev !== null ? 1 : (epss?.score ?? 0);
  const score = Math.round(1000 * (0.6 * threat + 0.4 * impact)) / 10;
  const parts: string[] = [];
  const which = (cve: string): string => (f.cves.length > 1 ? ` for ${cve}` : '');
  if (kev !== null) parts.push(`KEV since ${kev.dateAdded} (due ${kev.dueDate}${kev.ransomware ? ', known ransomware use' : ''})${which(kev.cve)}`);
  if (epss !== null)
    parts.push(
      `EPSS ${formatEpss(epss.score)} (${ordinal(Math.floor(epss.percentile * 100))} percentile)${kev === null || kev.cve !== epss.cve ? which(epss.cve) : ''}`,
    );
  else parts.push('no EPSS score');
  if (cvss !== null) parts.push(`${cvss.label} ${cvss.score.toFixed(1)}`);
  parts.push(f.severity);
  // Joined by concatenation: Array#join can give a two-byte string for one-byte parts, and the
  // reason is in every line of a report (a two-byte piece makes the whole chunk two bytes a character).
  let reason = parts[0] as string;
  for (let i = 1; i < parts.length; i++) reason += `, ${parts[i] as string}`;
  return { score, kev, epss, reason };
}

/** KEV tier: 2 with known ransomware use, 1 listed, 0 not listed. */
function tier(r: Risk): number {
  return r.kev === null ? 0 : r.kev.ransomware ? 2 : 1;
}

type Ranked = RiskFacts & { risk: Risk };

/**
 * The risk order as one number, larger first: KEV tier, then score (one decimal), then CVSS (one
 * decimal, none lowest), then severity. Below 2^22, so that a row's index fits beside it.
 */
function riskKey(r: Ranked): number {
  const ranked = rankedCvss(r);
  const cvss = ranked === null ? 0 : 1 + Math.round(Math.min(10, Math.max(0, ranked.score)) * 10);
  return ((tier(r.risk) * 1001 + Math.round(r.risk.score * 10)) * 102 + cvss) * 6 + severityRank(r.severity);
}

/** The order's keys, most significant first, larger first. */
const KEYS: Record<RiskSort, (r: Ranked) => number[]> = {
  risk: (r) => [riskKey(r)],
  // Highest EPSS first (none last), then the risk order.
  epss: (r) => [r.risk.epss?.score ?? -1, riskKey(r)],
  // KEV-listed first: ransomware use, then the earliest due date (the most overdue), then the risk order.
  kev: (r) => [tier(r.risk), r.risk.kev === null ? 0 : -Date.parse(r.risk.kev.dueDate), riskKey(r)],
  severity: (r) => [severityRank(r.severity)],
};

/**
 * A row's keys in an order, most significant first, larger first: two rows with equal keys are
 * equal in that order (a streamed report ranks each advisory once with them, services/report-stream.ts).
 * @example riskSortKeys(row, 'kev')
 */
export function riskSortKeys(r: RiskFacts & { risk: Risk }, sort: RiskSort): number[] {
  return KEYS[sort](r);
}

/**
 * Rows in the given order, stably (rows equal under it keep their order). Returns a new array.
 * Keys are computed once per row and sorted as numbers: 640,000 findings in a few hundred ms.
 * @example sortByRisk(rows, 'risk')[0]?.risk.reason
 */
export function sortByRisk<T extends Ranked>(rows: readonly T[], sort: RiskSort): T[] {
  const n = rows.length;
  const keyOf = KEYS[sort];
  if ((sort === 'risk' || sort === 'severity') && n < 2 ** 24) {
    // One key: (largest key first, then input order) packed in one float and sorted natively.
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = (2 ** 22 - (keyOf(rows[i] as T)[0] ?? 0)) * 2 ** 24 + i;
    packed.sort();
    const out: T[] = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = rows[(packed[i] ?? 0) % 2 ** 24] as T;
    return out;
  }
  const keys = rows.map(keyOf);
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => {
    const ka = keys[a] ?? [];
    const kb = keys[b] ?? [];
    for (let j = 0; j < ka.length; j++) {
      const d = (kb[j] ?? 0) - (ka[j] ?? 0);
      if (d !== 0) return d;
    }
    return a - b;
  });
  return idx.map((i) => rows[i] as T);
}

/**
 * Rows with their risk, computed once per distinct (severity, CVSS v3 and v4, CVE list): a fleet's many
 * findings of one advisory share it. The risk is set on the given rows themselves (copying
 * 640,000 findings of twenty fields costs ten times more than the ranking), which are returned:
 * pass rows of your own (the store's are fresh per query).
 */
export function withRisk<T extends RiskFacts & { risk?: Risk }>(rows: readonly T[], signalOf: (cve: string) => CveSignal | undefined): (T & { risk: Risk })[] {
  // Rows of one advisory share its CVE list (the store hands out one array per advisory): looked
  // up by the array first, by its text only when the array is new.
  const byArray = new WeakMap<readonly string[], Map<string, Risk>>();
  const byText = new Map<string, Map<string, Risk>>();
  return rows.map((r) => {
    let inner = byArray.get(r.cves);
    if (inner === undefined) {
      const text = r.cves.join(' ');
      inner = byText.get(text);
      if (inner === undefined) byText.set(text, (inner = new Map<string, Risk>()));
      byArray.set(r.cves, inner);
    }
    const key = `${r.severity} ${String(r.cvssScore)} ${String(r.cvssV4Score ?? null)}`;
    let risk = inner.get(key);
    if (risk === undefined) inner.set(key, (risk = assessRisk(r, signalOf)));
    const ranked = r as T & { risk: Risk };
    ranked.risk = risk;
    return ranked;
  });
}
