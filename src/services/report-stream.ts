import { severityRank, type Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import { assessRisk, riskSortKeys, type CveSignal, type Risk, type RiskSort } from '../core/risk.js';
import { ExternalSorter } from '../lib/external-sort.js';
import {
  advisoryFacts,
  findingAdvisorySeverities,
  findingPages,
  findingKeysFirst,
  findingKeysOfAdvisory,
  findingsByPk,
  snapshotStream,
  streamedArray,
  streamedOf,
  targetNames,
  type AdvisoryFacts,
  type FindingQuery,
  type FindingRow,
  type StreamedFinding,
} from '../storage/index.js';
import { exploitationOf } from './signals.js';
import { compareBase, compareRisk, PerSeverity, rankedTargets, rowInterner, type Keyed, type Pending, type RankedBatch, type Target } from './report-order.js';
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
 *   (advisory, severity) of the query is ranked once, with its count of findings, before any
 *   row is read (a dense rank, ties equal); the pairs of one rank are a group. A window of the
 *   order (an API page, `--limit N`) whose groups are few rows reads only those groups, each by
 *   its advisories (the findings_advisory index), passing whole groups before it by their
 *   counts; the total is their sum (`kev` and `epssAbove` drop whole pairs). The whole order is
 *   one pass of the table in pages, sorted by (group, the order above) through the external
 *   sorter: reading a fleet advisory by advisory costs a random read per row.
 * The rows are read in pages of arrays (SQLite) or through a server-side cursor (PostgreSQL),
 * without the targets' names (read once per host) and handed out in batches (findingBatches).
 * Host names are ranked once per target (bounded by the hosts), so comparing two rows compares numbers.
 */

export type { FindingRow };
export type { RankedBatch } from './report-order.js';

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

/**
 * Rows read at once: a page is held while its rows are sorted and written (awaits between), so
 * its rows outlive young-generation collections; small pages keep that garbage small.
 */
const PAGE = 2000;
/**
 * Rows of one (severity, first seen) group sorted in memory before the sorter spills to disk:
 * hosts scanned together share their first-seen time (a cohort of a thousand hosts is about
 * 20,000 findings of one severity), and a spill costs writing and re-reading every row.
 */
const RUN = 25_000;

/** A window of a risk order is read group by group when its groups hold at most this many rows. */
const BY_GROUPS_MAX = 50_000;

/** Options of the stream. */
export interface StreamOptions {
  /** How many rows one sorted run holds in memory (tests make it small). */
  runSize?: number;
  /** Rows of the order to pass over first (a page's offset): in a risk order whole groups are passed unread. */
  skip?: number;
  /** Told how many rows the query has in all (after `kev`/`epssAbove`), before the first row is read (awaited). */
  onTotal?: (total: number) => unknown;
  /** At most this many rows (after `skip`): the first of the order, and nothing after them read. */
  limit?: number;
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
 * Stop early (a page, a top N) and the rest is not read.
 * @example for await (const r of streamFindings(db, { minSeverity: 'high', sort: 'risk' })) …
 */
export async function* streamFindings(db: Db, q: FindingsQuery = {}, o: StreamOptions = {}): AsyncGenerator<FindingRow> {
  for await (const b of findingBatches(db, q, o)) yield* b;
}

/** Rows handed out at once by findingBatches (at most; fewer at the end of a page). */
const BATCH = 2000;

/**
 * streamFindings in arrays of rows (up to a page's worth each): for writers that handle many
 * rows per await (an await per row costs more than rendering a CSV line). `skip` and `limit`
 * window the order as streamFindings does; the batches end with the window.
 * @example for await (const rows of findingBatches(db, {})) for (const r of rows) …
 */
export async function* findingBatches(db: Db, q: FindingsQuery = {}, o: StreamOptions = {}): AsyncGenerator<FindingRow[]> {
  for await (const b of batches(db, q, o, false)) yield b.rows;
}

/**
 * The rows of a risk order (without `skip` and `limit`) in the base order, each with its group
 * in the risk order, and each group's least severity rank (told before the first batch; at least one group, -1 without a sort): the risk order is
 * the groups in turn, each in the base order, so a writer that appends each rendered row to its
 * group's bucket (lib/bucket-spool.ts) writes the risk order without sorting the rows by it.
 * With `skip` or `limit`, or without a risk sort, the batches come in the order itself.
 * @example for await (const b of rankedBatches(db, { sort: 'risk' }, {}, (n) => …)) for (const [i, r] of b.rows.entries()) bucket(b.ranks[i], r)
 */
export function rankedBatches(db: Db, q: FindingsQuery, o: StreamOptions, onGroups: (least: number[]) => void): AsyncGenerator<RankedBatch> {
  return batches(db, q, o, true, onGroups);
}

/** The batches, their counts, facts and rows read from one snapshot of the store (storage/snapshot.ts): a finding written meanwhile is in none of them. */
function batches(db: Db, q: FindingsQuery, o: StreamOptions, ranked: boolean, onGroups?: (least: number[]) => void): AsyncGenerator<RankedBatch> {
  return snapshotStream(db, (s) => batchesOf(s, q, o, ranked, onGroups));
}

async function* batchesOf(db: Db, q: FindingsQuery, o: StreamOptions, ranked: boolean, onGroups?: (least: number[]) => void): AsyncGenerator<RankedBatch> {
  const sq = storageQuery(q);
  if (sq.status?.length === 0) return;
  const { targets, byteOrdered } = rankedTargets(await targetNames(db));
  // A target stored after the names were read (a scan meanwhile): named, ranked first as before.
  const named = async (page: readonly { targetId: string }[]): Promise<void> => {
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
    const cves = [...found.values()].flatMap((f) => f.cves);
    for (const [k, v] of await exploitationOf(db, cves)) signals.set(k, v);
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
  const keep = (risk: Risk): boolean =>
    (q.kev !== true || risk.kev !== null) && (q.epssAbove === undefined || (risk.epss !== null && risk.epss.score > q.epssAbove));
  // The pairs the filters keep, with their counts, in groups of one rank (best first; none for the base order).
  const groups: { advisoryPk: number; severity: string; count: number }[][] = [];
  if (sort !== undefined || o.onTotal !== undefined) {
    const pairs = await findingAdvisorySeverities(db, sq);
    await need(pairs.map((p) => p.advisoryPk));
    const kept = pairs.filter((p) => keep(riskOf(p.advisoryPk, p.severity)));
    await o.onTotal?.(kept.reduce((n, p) => n + p.count, 0));
    if (sort !== undefined) {
      const keyed = kept.map((p) => {
        const f = facts.get(p.advisoryPk) as AdvisoryFacts;
        const risk = riskOf(p.advisoryPk, p.severity);
        return {
          pair: p,
          keys: riskSortKeys({ severity: p.severity as Severity, cvssScore: f.cvssScore, cvssV4Score: f.cvssV4Score, cves: f.cves, risk }, sort),
        };
      });
      const cmp = (a: number[], b: number[]): number => {
        for (let j = 0; j < a.length; j++) {
          const d = (b[j] ?? 0) - (a[j] ?? 0);
          if (d !== 0) return d;
        }
        return 0;
      };
      keyed.sort((a, b) => cmp(a.keys, b.keys) || a.pair.advisoryPk - b.pair.advisoryPk);
      for (let i = 0; i < keyed.length; i++) {
        const k = keyed[i] as { pair: (typeof kept)[number]; keys: number[] };
        if (i === 0 || cmp((keyed[i - 1] as { keys: number[] }).keys, k.keys) !== 0) groups.push([]);
        groups[groups.length - 1]?.push(k.pair);
      }
    }
  }
  onGroups?.(groups.length === 0 ? [-1] : groups.map((g) => Math.min(...g.map((p) => severityRank(p.severity as Severity)))));
  // The rows go out in the base order, the risk order left to the caller (rankedBatches).
  const base = sort === undefined || (ranked && o.skip === undefined && o.limit === undefined);
  let skip = o.skip ?? 0;
  // Rows still to hand out (after `skip`); none asked for: the total was all (a page of 0 rows).
  let left = o.limit ?? Infinity;
  if (left <= 0) return;
  // Each pair's group (its dense rank in the order).
  const rankOf = new PerSeverity<number>();
  groups.forEach((g, i) => {
    for (const p of g) rankOf.set(p.advisoryPk, p.severity, i);
  });
  // A window (a page, a top N) is read group by group when its groups are few rows; the whole
  // order (or most of it) in one pass of the table, sorted by (group, base order): reading a
  // fleet by advisory costs a random read per row.
  let byGroups = false;
  if (sort !== undefined && o.limit !== undefined) {
    let before = 0;
    let read = 0;
    for (const g of groups) {
      const c = g.reduce((n, p) => n + p.count, 0);
      if (before + c > skip) read += c;
      before += c;
      if (before >= skip + o.limit) break;
    }
    byGroups = read <= BY_GROUPS_MAX;
  }
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
      acceptedBy: p.acceptedBy,
      acceptedAt: p.acceptedAt,
      acceptedUntil: p.acceptedUntil,
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
  // The row itself, with its place in the order (no copy per row).
  const intern = rowInterner();
  const pending = (r: StreamedFinding, t: Target): Pending => {
    const p = intern(r) as Pending;
    p.nameRank = t.rank;
    p.riskRank = sort === undefined ? 0 : (rankOf.get(r.advisoryPk, r.severity) ?? 0);
    return p;
  };
  let out: RankedBatch = { rows: [], ranks: [] };
  // Rows of the order into `out`, handed out whenever it holds BATCH (a group of the order can
  // be a cohort's tens of thousands of rows: as rows they would outlive many collections): the
  // first `skip` passed over, at most `left` kept.
  function* put(run: readonly Pending[]): Generator<RankedBatch> {
    const from = Math.min(skip, run.length);
    skip -= from;
    const to = Math.min(run.length, from + left);
    left -= to - from;
    for (let i = from; i < to; i++) {
      const p = run[i] as Pending;
      out.rows.push(toRow(p));
      if (ranked) out.ranks.push(p.riskRank);
      if (out.rows.length >= BATCH) {
        yield out;
        out = { rows: [], ranks: [] };
      }
    }
  }
  const sorter = new ExternalSorter<Pending>(base || byGroups ? compareBase : compareRisk, {
    runSize: o.runSize ?? RUN,
    // A spilled row as the array of its columns and places: half the text of its keys and values.
    encode: (p) => JSON.stringify([...streamedArray(p), p.nameRank, p.riskRank]),
    decode: (l) => {
      const a = JSON.parse(l) as unknown[];
      // The row itself takes its places (no second object per row).
      const p = streamedOf(a) as Pending;
      p.nameRank = a[17] as number;
      p.riskRank = a[18] as number;
      return p;
    },
  });
  try {
    if (byGroups) {
      for (const group of groups) {
        const count = group.reduce((n, p) => n + p.count, 0);
        if (skip >= count) {
          skip -= count;
          continue;
        }
        // The group's rows by their keys alone (an index holds them), in the base order; only
        // the rows of the window are then read whole: a window of 50 in a group of a cohort's
        // 20,000 findings reads 50 rows, not 20,000.
        const keyed: Keyed[] = [];
        for (const pair of group) {
          const rank = severityRank(pair.severity as Severity);
          const first = byteOrdered ? await findingKeysFirst(db, sq, pair.advisoryPk, rank, skip + left) : null;
          const keys = first ?? (await findingKeysOfAdvisory(db, sq, pair.advisoryPk, rank));
          await named(keys);
          for (const k of keys) {
            const t = targets.get(k.targetId);
            if (t !== undefined) keyed.push({ ...k, nameRank: t.rank });
          }
        }
        keyed.sort(compareBase);
        const from = Math.min(skip, keyed.length);
        skip -= from;
        const to = Math.min(keyed.length, from + left);
        left -= to - from;
        const window = keyed.slice(from, to);
        const whole = new Map(
          (
            await findingsByPk(
              db,
              window.map((k) => k.pk),
            )
          ).map((r) => [r.pk, r] as const),
        );
        for (const k of window) {
          const r = whole.get(k.pk);
          const t = r === undefined ? undefined : targets.get(r.targetId);
          // A finding removed since its keys were read is left out, as a page read later would.
          if (r === undefined || t === undefined) continue;
          const p = pending(r, t);
          out.rows.push(toRow(p));
          if (ranked) out.ranks.push(p.riskRank);
          if (out.rows.length >= BATCH) {
            yield out;
            out = { rows: [], ranks: [] };
          }
        }
        // The window is full: no group after it is read.
        if (left === 0) break;
      }
      if (out.rows.length > 0) yield out;
      return;
    }
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
        if (base && (r.severityRank !== groupRank || r.firstSeen !== groupSeen)) {
          for await (const run of sorter.drainBatches(BATCH)) {
            yield* put(run);
            // The window is full: returning closes the pages (and the cursor) where they stand.
            if (left === 0) {
              if (out.rows.length > 0) yield out;
              return;
            }
          }
          groupRank = r.severityRank;
          groupSeen = r.firstSeen;
        }
        const spilling = sorter.add(pending(r, t));
        if (spilling !== undefined) await spilling;
      }
      if (out.rows.length > 0) yield out;
      out = { rows: [], ranks: [] };
    }
    for await (const run of sorter.drainBatches(BATCH)) {
      yield* put(run);
      if (left === 0) break;
    }
    if (out.rows.length > 0) yield out;
  } finally {
    sorter.dispose();
  }
}
