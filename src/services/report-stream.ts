import { severityRank, type Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import { assessRisk, riskSortKeys, type CveSignal, type Risk, type RiskSort } from '../core/risk.js';
import { ExternalSorter } from '../lib/external-sort.js';
import {
  advisoryFacts,
  findingAdvisorySeverities,
  findingPages,
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

const PAGE = 10_000;
/**
 * Rows of one (severity, first seen) group sorted in memory before the sorter spills to disk:
 * hosts scanned together share their first-seen time (a cohort of a thousand hosts is about
 * 20,000 findings of one severity), and a spill costs writing and re-reading every row.
 */
const RUN = 25_000;

/** A row as it waits in the sorter: the stored finding and its place in the order. */
type Pending = StreamedFinding & { nameRank: number; riskRank: number };

/** A target as the rows name it, with its name's rank in the order. */
interface Target {
  name: string;
  release: string | null;
  rank: number;
}

/** A value per (advisory pk, severity): risks and risk ranks, without a string key built per row. */
class PerSeverity<V> {
  private readonly m = new Map<number, Map<string, V>>();
  get(pk: number, severity: string): V | undefined {
    return this.m.get(pk)?.get(severity);
  }
  set(pk: number, severity: string, v: V): void {
    let s = this.m.get(pk);
    if (s === undefined) this.m.set(pk, (s = new Map<string, V>()));
    s.set(severity, v);
  }
}

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

/** The store's query for a findings query (default status: open and no-fix). */
export function storageQuery(q: FindingsQuery): FindingQuery {
  return {
    status: q.status ?? ['open', 'no-fix'],
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
  for await (const b of findingBatches(db, q, o)) yield* b;
}

/** Rows handed out at once by findingBatches (at most; fewer at the end of a page). */
const BATCH = 2000;

/**
 * streamFindings in arrays of rows (up to a page's worth each): for writers that handle many
 * rows per await (an await per row costs more than rendering a CSV line).
 * @example for await (const rows of findingBatches(db, {})) for (const r of rows) …
 */
export async function* findingBatches(db: Db, q: FindingsQuery = {}, o: StreamOptions = {}): AsyncGenerator<FindingRow[]> {
  const sq = storageQuery(q);
  if (sq.status?.length === 0) return;
  // Names ranked as localeCompare orders them; equal names share a rank.
  const names = (await targetNames(db)).sort((a, b) => collator.compare(a.name, b.name));
  const targets = new Map<string, Target>();
  let rank = 0;
  for (let i = 0; i < names.length; i++) {
    const t = names[i] as { id: string; name: string; release: string | null };
    if (i > 0 && collator.compare((names[i - 1] as { name: string }).name, t.name) !== 0) rank++;
    targets.set(t.id, { name: t.name, release: t.release, rank });
  }
  // A target stored after the names were read (a scan meanwhile): named, ranked first as before.
  const named = async (page: readonly StreamedFinding[]): Promise<void> => {
    const missing = page.filter((r) => !targets.has(r.targetId)).map((r) => r.targetId);
    if (missing.length > 0) for (const t of await targetNames(db, missing)) targets.set(t.id, { name: t.name, release: t.release, rank: 0 });
  };
  // Per advisory (bounded by the advisories): its facts, its CVEs' signals, its risk per severity.
  const facts = new Map<number, AdvisoryFacts>();
  const signals = new Map<string, CveSignal>();
  const risks = new PerSeverity<Risk>();
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
    let r = risks.get(apk, severity);
    if (r === undefined) {
      const f = facts.get(apk) as AdvisoryFacts;
      r = assessRisk({ severity: severity as Severity, cvssScore: f.cvssScore, cvssV4Score: f.cvssV4Score, cves: f.cves }, (c) => signals.get(c));
      risks.set(apk, severity, r);
    }
    return r;
  };
  const sort: RiskSort | undefined = q.sort === 'severity' ? undefined : q.sort;
  // The dense rank of each (advisory, severity) in the risk order.
  const riskRank = new PerSeverity<number>();
  if (sort !== undefined) {
    const pairs = await findingAdvisorySeverities(db, sq);
    await need(pairs.map((p) => p.advisoryPk));
    const keyed: { pk: number; severity: string; keys: number[] }[] = [];
    for (const p of pairs) {
      const f = facts.get(p.advisoryPk) as AdvisoryFacts;
      const risk = riskOf(p.advisoryPk, p.severity);
      const keys = riskSortKeys({ severity: p.severity as Severity, cvssScore: f.cvssScore, cvssV4Score: f.cvssV4Score, cves: f.cves, risk }, sort);
      keyed.push({ pk: p.advisoryPk, severity: p.severity, keys });
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
      const k = keyed[i] as { pk: number; severity: string; keys: number[] };
      if (i > 0 && cmp((keyed[i - 1] as { keys: number[] }).keys, k.keys) !== 0) r++;
      riskRank.set(k.pk, k.severity, r);
    }
  }
  const keep = (risk: Risk): boolean =>
    (q.kev !== true || risk.kev !== null) && (q.epssAbove === undefined || (risk.epss !== null && risk.epss.score > q.epssAbove));
  const toRow = (p: Pending): FindingRow => {
    const f = facts.get(p.advisoryPk) as AdvisoryFacts;
    const t = targets.get(p.targetId) as Target;
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
      targetName: t.name,
      release: t.release,
      title: f.title,
      cves: f.cves,
      cvssScore: f.cvssScore,
      cvssV4Score: f.cvssV4Score,
      publishedAt: f.publishedAt,
      risk: riskOf(p.advisoryPk, p.severity),
    };
  };
  const sorter = new ExternalSorter<Pending>(sort === undefined ? compareBase : compareRisk, { runSize: o.runSize ?? RUN });
  try {
    let out: FindingRow[] = [];
    // The (severity, first seen) group being gathered, in the base order.
    let groupRank = -1;
    let groupSeen = '';
    for await (const page of findingPages(db, sq, PAGE)) {
      await need(page.map((r) => r.advisoryPk));
      await named(page);
      for (const r of page) {
        // A target removed since its row was read (its findings go with it) is left out.
        const t = targets.get(r.targetId);
        if (t === undefined || !keep(riskOf(r.advisoryPk, r.severity))) continue;
        if (sort === undefined && (r.severityRank !== groupRank || r.firstSeen !== groupSeen)) {
          for await (const run of sorter.drainBatches(BATCH))
            for (const p of run) {
              out.push(toRow(p));
              if (out.length >= BATCH) {
                yield out;
                out = [];
              }
            }
          groupRank = r.severityRank;
          groupSeen = r.firstSeen;
        }
        // The row itself, with its place in the order (no copy per row).
        const p = r as Pending;
        p.nameRank = t.rank;
        p.riskRank = sort === undefined ? 0 : (riskRank.get(r.advisoryPk, r.severity) ?? 0);
        const spilling = sorter.add(p);
        if (spilling !== undefined) await spilling;
      }
      if (out.length > 0) yield out;
      out = [];
    }
    for await (const run of sorter.drainBatches(BATCH)) yield run.map(toRow);
  } finally {
    sorter.dispose();
  }
}

/** Whether a row counts for `--fail-on`: open or without a fix, and as severe as `min` or worse. */
export function overThresholdRow(r: FindingRow, min: Severity): boolean {
  return (r.status === 'open' || r.status === 'no-fix') && severityRank(r.severity) >= severityRank(min);
}
