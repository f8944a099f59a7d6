import { severityRank, type Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import { assessRisk, riskSortKeys, type CveSignal, type Risk, type RiskSort } from '../core/risk.js';
import { ExternalSorter } from '../lib/external-sort.js';
import {
  advisoryFacts,
  cursorAfter,
  findingAdvisorySeverities,
  findingsAfter,
  targetNames,
  type AdvisoryFacts,
  type FindingQuery,
  type FindingRow,
  type StreamedFinding,
} from '../storage/index.js';
import { exploitationOf } from './signals.js';
import type { Db } from './store.js';

/**
 * Findings streamed in the order of findFindings (services/report.ts), with the same rows, for
 * reports and listings of any size (issue #14 item 4): never the fleet's findings in memory.
 *
 * The order: most severe first, then oldest (first seen), then host name and package name as
 * `localeCompare` orders them, then as recorded (pk); a risk order (`risk`, `epss`, `kev`)
 * first, stably. Host and package names are compared as JavaScript does, which SQL cannot
 * (collations differ), so:
 * - the database gives keyset pages in (severity, first seen, pk) order (the findings_page
 *   index); rows of one (severity, first seen) are sorted here by host and package before they
 *   go out, on disk (lib/external-sort.ts) when they are more than a run;
 * - a risk order depends on an advisory's CVEs and their KEV and EPSS signals only: each
 *   (advisory, severity) of the query is ranked once (a dense rank, ties equal) before the rows
 *   stream; the rows are then sorted by (rank, the order above) through the external sorter.
 * Host names are ranked once per target (bounded by the hosts), so comparing two rows compares numbers.
 */

export type { FindingRow };

export interface FindingsQuery {
  hosts?: string[] | undefined;
  minSeverity?: Severity | undefined;
  cve?: string | undefined;
  /** Default: open and no-fix. */
  status?: FindingStatus[] | undefined;
  /** Only findings of a CVE CISA lists as known exploited (issue #16). */
  kev?: boolean | undefined;
  /** Only findings of a CVE whose EPSS probability is above this (0 to 1). */
  epssAbove?: number | undefined;
  /** The order (default severity, then oldest): see src/core/risk.ts. */
  sort?: RiskSort | undefined;
}

const PAGE = 5000;

/** A row as it waits in the sorter: the stored finding and its place in the order. */
type Pending = StreamedFinding & { nameRank: number; riskRank: number };

const collator = new Intl.Collator();

function compareBase(a: Pending, b: Pending): number {
  return (
    b.severityRank - a.severityRank ||
    (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0) ||
    a.nameRank - b.nameRank ||
    (a.package === b.package ? 0 : collator.compare(a.package, b.package)) ||
    a.pk - b.pk
  );
}

function compareRisk(a: Pending, b: Pending): number {
  return a.riskRank - b.riskRank || compareBase(a, b);
}

/** Options of the stream: how many rows one sorted run holds in memory (tests make it small). */
export interface StreamOptions {
  runSize?: number;
}

/** The store's query for a findings query (default status: open, no-fix and mitigated: a live-patched finding is shown, with its reason). */
export function storageQuery(q: FindingsQuery): FindingQuery {
  return {
    status: q.status ?? ['open', 'no-fix', 'mitigated'],
    ...(q.hosts !== undefined && q.hosts.length > 0 ? { targets: q.hosts } : {}),
    ...(q.minSeverity !== undefined ? { minSeverity: q.minSeverity } : {}),
    ...(q.cve !== undefined ? { cve: q.cve } : {}),
  };
}

/**
 * The findings of `q`, one at a time, each with its risk, filtered by `kev`/`epssAbove`, in
 * findFindings' order. Memory holds at most a run of rows, the advisories and the hosts' names.
 * @example for await (const r of streamFindings(db, { minSeverity: 'high', sort: 'risk' })) …
 */
export async function* streamFindings(db: Db, q: FindingsQuery = {}, o: StreamOptions = {}): AsyncGenerator<FindingRow> {
  const sq = storageQuery(q);
  if (sq.status?.length === 0) return;
  // Names ranked as localeCompare orders them; equal names share a rank.
  const names = (await targetNames(db)).sort((a, b) => collator.compare(a.name, b.name));
  const nameRank = new Map<string, number>();
  let rank = 0;
  for (let i = 0; i < names.length; i++) {
    const t = names[i] as { id: string; name: string };
    if (i > 0 && collator.compare((names[i - 1] as { name: string }).name, t.name) !== 0) rank++;
    nameRank.set(t.id, rank);
  }
  // Per advisory (bounded by the advisories): its facts, its CVEs' signals, its risk per severity.
  const facts = new Map<number, AdvisoryFacts>();
  const signals = new Map<string, CveSignal>();
  const risks = new Map<string, Risk>();
  const need = async (pks: Iterable<number>): Promise<void> => {
    const missing = [...new Set(pks)].filter((p) => !facts.has(p));
    if (missing.length === 0) return;
    const found = await advisoryFacts(db, missing);
    for (const [k, v] of await exploitationOf(
      db,
      [...found.values()].flatMap((f) => f.cves),
    ))
      signals.set(k, v);
    for (const [k, v] of found) facts.set(k, v);
  };
  // Only after `need` for the advisory: the same risk as withRisk gives (core/risk.ts).
  const riskOf = (apk: number, severity: string): Risk => {
    const key = `${String(apk)}\u0000${severity}`;
    let r = risks.get(key);
    if (r === undefined) {
      const f = facts.get(apk) as AdvisoryFacts;
      r = assessRisk({ severity: severity as Severity, cvssScore: f.cvssScore, cvssV4Score: f.cvssV4Score, cves: f.cves }, (c) => signals.get(c));
      risks.set(key, r);
    }
    return r;
  };
  const sort: RiskSort | undefined = q.sort === 'severity' ? undefined : q.sort;
  // The dense rank of each (advisory, severity) in the risk order.
  const riskRank = new Map<string, number>();
  if (sort !== undefined) {
    const pairs = await findingAdvisorySeverities(db, sq);
    await need(pairs.map((p) => p.advisoryPk));
    const keyed: { key: string; keys: number[] }[] = [];
    for (const p of pairs) {
      const f = facts.get(p.advisoryPk) as AdvisoryFacts;
      const risk = riskOf(p.advisoryPk, p.severity);
      const keys = riskSortKeys({ severity: p.severity as Severity, cvssScore: f.cvssScore, cvssV4Score: f.cvssV4Score, cves: f.cves, risk }, sort);
      keyed.push({ key: `${String(p.advisoryPk)}\u0000${p.severity}`, keys });
    }
    const cmp = (a: number[], b: number[]): number => {
      for (let j = 0; j < a.length; j++) {
        const d = (b[j] ?? 0) - (a[j] ?? 0);
        if (d !== 0) return d;
      }
      return 0;
    };
    keyed.sort((a, b) => cmp(a.keys, b.keys));
    let r = 0;
    for (let i = 0; i < keyed.length; i++) {
      const k = keyed[i] as { key: string; keys: number[] };
      if (i > 0 && cmp((keyed[i - 1] as { keys: number[] }).keys, k.keys) !== 0) r++;
      riskRank.set(k.key, r);
    }
  }
  const keep = (risk: Risk): boolean =>
    (q.kev !== true || risk.kev !== null) && (q.epssAbove === undefined || (risk.epss !== null && risk.epss.score > q.epssAbove));
  const toRow = (p: Pending): FindingRow => {
    const f = facts.get(p.advisoryPk) as AdvisoryFacts;
    return {
      targetId: p.targetId,
      advisorySource: f.source,
      advisoryId: f.advisoryId,
      package: p.package,
      installed: p.installed,
      fixed: p.fixed,
      severity: p.severity as Severity,
      status: p.status as FindingStatus,
      reason: p.reason,
      firstSeen: p.firstSeen,
      lastSeen: p.lastSeen,
      closedAt: p.closedAt,
      deadline: p.deadline,
      arch: p.arch,
      targetName: p.targetName,
      release: p.release,
      title: f.title,
      cves: f.cves,
      cvssScore: f.cvssScore,
      cvssV4Score: f.cvssV4Score,
      publishedAt: f.publishedAt,
      risk: riskOf(p.advisoryPk, p.severity),
    };
  };
  const sorter = new ExternalSorter<Pending>(sort === undefined ? compareBase : compareRisk, { runSize: o.runSize ?? 20_000 });
  try {
    // The (severity, first seen) group being gathered, in the base order.
    let group: string | null = null;
    for (let page = await findingsAfter(db, sq, null, PAGE); page.length > 0; page = await findingsAfter(db, sq, cursorAfter(page), PAGE)) {
      await need(page.map((r) => r.advisoryPk));
      for (const r of page) {
        if (!keep(riskOf(r.advisoryPk, r.severity))) continue;
        const key = `${String(r.severityRank)}\u0000${r.firstSeen}`;
        if (sort === undefined && group !== null && key !== group) for await (const p of sorter.drain()) yield toRow(p);
        group = key;
        // The row itself, with its place in the order (no copy per row).
        const p = r as Pending;
        p.nameRank = nameRank.get(r.targetId) ?? 0;
        p.riskRank = sort === undefined ? 0 : (riskRank.get(`${String(r.advisoryPk)}\u0000${r.severity}`) ?? 0);
        const spilling = sorter.add(p);
        if (spilling !== undefined) await spilling;
      }
    }
    for await (const p of sorter.drain()) yield toRow(p);
  } finally {
    sorter.dispose();
  }
}

/** Whether a row counts for `--fail-on`: open or without a fix, and as severe as `min` or worse. */
export function overThresholdRow(r: FindingRow, min: Severity): boolean {
  return (r.status === 'open' || r.status === 'no-fix') && severityRank(r.severity) >= severityRank(min);
}
