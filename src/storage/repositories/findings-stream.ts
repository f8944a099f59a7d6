import { CompiledQuery, PostgresAdapter, sql, type QueryResult } from 'kysely';
import { chunks } from '../chunk.js';
import { kx, sqliteArrays, sqliteOf, type Db, type Executor } from '../database.js';
import { pgSnapshot, snapshotStream } from '../snapshot.js';
import type { FindingQuery } from './findings.js';
import { findingsWhere } from './findings-where.js';

/**
 * Findings read in pages for streamed reports and listings (issue #14 item 4): keyset pages in
 * the findings_page index order (severity_rank desc, first_seen_at, pk), one severity at a time
 * so that every page is a range of the index (`severity_rank = r and (first_seen_at, pk) > (f, p)`),
 * never an OFFSET: a page costs the same at the end of the fleet as at its start (a streamed
 * report reads them on a connection of its own, in one snapshot: storage/snapshot.ts). On PostgreSQL,
 * findingPages reads one ordered query through a server-side cursor instead (in the snapshot's
 * transaction, on its connection): a keyset page there is only cheap when the planner's statistics are
 * fresh, and without them (autovacuum off, a fleet just imported) every page re-read and sorted
 * the rest of its severity. Rows carry neither the target's name nor the advisory's facts:
 * what belongs to a target (targetNames) or an advisory (identity, title, scores, CVEs:
 * advisoryFacts) is read once, not once per row.
 */

/** One stored finding as a page gives it. */
export interface StreamedFinding {
  pk: number;
  targetId: string;
  advisoryPk: number;
  package: string;
  arch: string;
  installed: string;
  fixed: string | null;
  severity: string;
  severityRank: number;
  status: string;
  reason: string | null;
  firstSeen: string;
  lastSeen: string;
  closedAt: string | null;
  acceptedBy: string | null;
  acceptedAt: string | null;
  acceptedUntil: string | null;
}

/** Where the previous page ended (its last row), or null for the first page. */
export interface FindingsCursor {
  severityRank: number;
  firstSeen: string;
  pk: number;
}

/** What every finding of one advisory shares. */
export interface AdvisoryFacts {
  source: string;
  advisoryId: string;
  title: string;
  cvssScore: number | null;
  cvssV4Score: number | null;
  publishedAt: string | null;
  /** Sorted; one array per advisory, shared by its rows (core/risk.ts withRisk relies on that). */
  cves: string[];
}

/**
 * The findings of `q` with the columns of a StreamedFinding, named as it names them: the rows
 * are handed out as they come (no copy per row). `ordered`: the status is checked row by row
 * (findingsWhere), for a walk of an index in its order.
 */
function findingsSelect(on: Executor, q: FindingQuery, ordered: boolean) {
  return findingsWhere(kx(on), q, { ordered }).select([
    'findings.pk',
    'findings.target_id as targetId',
    'findings.advisory_pk as advisoryPk',
    'findings.package',
    'findings.arch',
    'findings.installed',
    'findings.fixed',
    'findings.severity',
    'findings.severity_rank as severityRank',
    'findings.status',
    'findings.reason',
    'findings.first_seen_at as firstSeen',
    'findings.last_seen_at as lastSeen',
    'findings.closed_at as closedAt',
    'findings.accepted_by as acceptedBy',
    'findings.accepted_at as acceptedAt',
    'findings.accepted_until as acceptedUntil',
  ]);
}

/** A row of findingsSelect as an array (or streamedArray's), as a StreamedFinding. */
export function streamedOf(a: unknown[]): StreamedFinding {
  return {
    pk: a[0] as number,
    targetId: a[1] as string,
    advisoryPk: a[2] as number,
    package: a[3] as string,
    arch: a[4] as string,
    installed: a[5] as string,
    fixed: a[6] as string | null,
    severity: a[7] as string,
    severityRank: a[8] as number,
    status: a[9] as string,
    reason: a[10] as string | null,
    firstSeen: a[11] as string,
    lastSeen: a[12] as string,
    closedAt: a[13] as string | null,
    acceptedBy: a[14] as string | null,
    acceptedAt: a[15] as string | null,
    acceptedUntil: a[16] as string | null,
  };
}

/** A StreamedFinding as the array of its columns (streamedOf's inverse): what an external sort writes, without the keys. */
export function streamedArray(r: StreamedFinding): unknown[] {
  return [
    r.pk,
    r.targetId,
    r.advisoryPk,
    r.package,
    r.arch,
    r.installed,
    r.fixed,
    r.severity,
    r.severityRank,
    r.status,
    r.reason,
    r.firstSeen,
    r.lastSeen,
    r.closedAt,
    r.acceptedBy,
    r.acceptedAt,
    r.acceptedUntil,
  ];
}

/** The rows of a query of findingsSelect: arrays made objects on SQLite (half the driver's cost), the driver's objects on PostgreSQL. */
async function streamedRows(on: Executor, query: { compile(): CompiledQuery; execute(): Promise<StreamedFinding[]> }): Promise<StreamedFinding[]> {
  const arrays = await sqliteArrays(on, query.compile());
  return arrays === null ? query.execute() : arrays.map(streamedOf);
}

/** Whether the fleet-wide listing's order is the findings_page index (no host or CVE filter). */
function pageOrdered(q: FindingQuery): boolean {
  // One selective filter (hosts, a CVE) is an index of its own: the planner takes it and sorts
  // the few rows it gives; the fleet-wide listing is the findings_page range.
  return q.targets === undefined && q.cve === undefined;
}

/**
 * The page after `after` (at most `limit` rows) in the findings_page order, or an empty array at
 * the end.
 * @example for (let p = await findingsAfter(db, q, null, 2000); p.length > 0; p = await findingsAfter(db, q, cursorOf(p), 2000)) …
 */
export async function findingsAfter(on: Executor, q: FindingQuery, after: FindingsCursor | null, limit: number): Promise<StreamedFinding[]> {
  if (q.status?.length === 0 || q.targets?.length === 0) return [];
  let rank = after?.severityRank ?? 5;
  let cursor = after === null ? null : { firstSeen: after.firstSeen, pk: after.pk };
  const out: StreamedFinding[] = [];
  // Severity ranks run 5 (critical) to 0 (unknown): each is a range of the index of its own.
  while (rank >= 0 && out.length < limit) {
    const c = cursor;
    let s = findingsSelect(on, q, pageOrdered(q)).where('findings.severity_rank', '=', rank);
    if (c !== null) s = s.where((eb) => eb(eb.refTuple('findings.first_seen_at', 'findings.pk'), '>', eb.tuple(c.firstSeen, c.pk)));
    const page = s
      .orderBy('findings.first_seen_at')
      .orderBy('findings.pk')
      .limit(limit - out.length);
    for (const r of await streamedRows(on, page)) out.push(r);
    if (out.length < limit) {
      rank--;
      cursor = null;
    }
  }
  return out;
}

/**
 * Every finding of `q` in the findings_page order (severity rank descending, first seen, pk), in
 * pages of up to `size` rows: keyset pages on SQLite, a server-side cursor on PostgreSQL (one
 * ordered scan, in the transaction of a snapshot (storage/snapshot.ts), the reader's own when it
 * is not in one; the cursor is closed when the pages are, read to the end or not).
 * @example for await (const page of findingPages(db, { status: ['open'] }, 10_000)) …
 */
export async function* findingPages(on: Executor, q: FindingQuery, size: number): AsyncGenerator<StreamedFinding[]> {
  if (q.status?.length === 0 || q.targets?.length === 0) return;
  const k = kx(on);
  // SQLite reads keyset pages (one connection, free between them); so does an open transaction.
  if (!(k.getExecutor().adapter instanceof PostgresAdapter) || k.isTransaction) {
    for (let page = await findingsAfter(on, q, null, size); page.length > 0; page = await findingsAfter(on, q, cursorAfter(page), size)) yield page;
    return;
  }
  if (!pgSnapshot(on)) {
    yield* snapshotStream(on as Db, (s) => findingPages(s, q, size));
    return;
  }
  const query = findingsSelect(on, q, pageOrdered(q))
    .orderBy('findings.severity_rank', 'desc')
    .orderBy('findings.first_seen_at')
    .orderBy('findings.pk')
    .compile();
  // Named apart: a snapshot may read more than one stream.
  const name = `bulwark_findings_${String(++cursors)}`;
  await k.executeQuery(CompiledQuery.raw(`declare ${name} no scroll cursor for ${query.sql}`, [...query.parameters]));
  const fetch = CompiledQuery.raw(`fetch forward ${String(size)} from ${name}`);
  // The next page is asked for before this one is handed out: the server reads it while the
  // consumer works (the snapshot's other queries wait for it on the connection; at most two pages are held).
  let next: Promise<QueryResult<StreamedFinding>> | undefined = k.executeQuery<StreamedFinding>(fetch);
  try {
    for (;;) {
      const { rows } = await next;
      next = undefined;
      if (rows.length === 0) break;
      next = k.executeQuery<StreamedFinding>(fetch);
      yield rows;
    }
  } finally {
    // (After an error the transaction is aborted, and the cursor with it.)
    if (next !== undefined) await next.catch(() => undefined);
    await k.executeQuery(CompiledQuery.raw(`close ${name}`)).catch(() => undefined);
  }
}
let cursors = 0;

/** The cursor after a page's last row. */
export function cursorAfter(page: readonly StreamedFinding[]): FindingsCursor | null {
  const last = page[page.length - 1];
  return last === undefined ? null : { severityRank: last.severityRank, firstSeen: last.firstSeen, pk: last.pk };
}

/**
 * The advisories findings of the query are about, with the severities they were found with and
 * how many findings each pair has (bounded by the advisories, not by the hosts): what the risk
 * order ranks before it streams.
 */
export async function findingAdvisorySeverities(on: Executor, q: FindingQuery): Promise<{ advisoryPk: number; severity: string; count: number }[]> {
  const ex = kx(on);
  if (q.status?.length === 0 || q.targets?.length === 0) return [];
  // Status row by row (`ordered`): the count is a walk of the (advisory_pk, severity, status)
  // index in group order, not a lookup per finding from the status index and a sort.
  const rows = await findingsWhere(ex, q, { ordered: true })
    .select((eb) => ['findings.advisory_pk', 'findings.severity', eb.fn.countAll<number | string>().as('n')])
    .groupBy(['findings.advisory_pk', 'findings.severity'])
    .execute();
  return rows.map((r) => ({ advisoryPk: r.advisory_pk, severity: r.severity, count: Number(r.n) }));
}

/** What orders a finding among those of one (advisory, severity): its keys, without the rest of the row. */
export interface FindingKeys {
  pk: number;
  targetId: string;
  package: string;
  severityRank: number;
  firstSeen: string;
}

/**
 * The keys of the findings of `q` under one advisory and severity rank, read from the
 * findings_group_advisory index alone (it holds them all, and the status): a window of a risk
 * order sorts a group of 20,000 findings by these and reads whole only the rows it hands out
 * (findingsByPk). The severity goes by its rank: the two are written together (findings-write.ts,
 * migration 0012), one rank per severity.
 * @example await findingKeysOfAdvisory(db, { status: ['open'] }, 12, 4)
 */
export async function findingKeysOfAdvisory(on: Executor, q: FindingQuery, advisoryPk: number, severityRank: number): Promise<FindingKeys[]> {
  if (q.status?.length === 0 || q.targets?.length === 0) return [];
  // Status row by row (`ordered`): the (status, severity) index would walk the fleet's open findings.
  const query = findingsWhere(kx(on), q, { ordered: true })
    .select(['findings.pk', 'findings.target_id', 'findings.package', 'findings.severity_rank', 'findings.first_seen_at'])
    .where('findings.advisory_pk', '=', advisoryPk)
    .where('findings.severity_rank', '=', severityRank);
  // Arrays on SQLite (objects cost the driver twice as much for 20,000 rows); PostgreSQL's driver may give a bigint's text.
  const arrays =
    (await sqliteArrays(on, query.compile())) ?? (await query.execute()).map((r) => [r.pk, r.target_id, r.package, r.severity_rank, r.first_seen_at]);
  return arrays.map((a) => ({ pk: Number(a[0]), targetId: a[1] as string, package: a[2] as string, severityRank: Number(a[3]), firstSeen: a[4] as string }));
}

/**
 * At least the first `n` findings of `q` under one advisory and severity rank in the order
 * (first seen, host name in byte order), with every finding tied with the n-th (the same host
 * and first-seen time): SQLite sorts the group's index entries and hands out n rows, where
 * findingKeysOfAdvisory hands out the whole group. Only the caller knows whether byte order is
 * the hosts' order (their names in localeCompare order): null on PostgreSQL (whose names sort
 * by the database's collation), for findingKeysOfAdvisory.
 * @example await findingKeysFirst(db, { status: ['open'] }, 12, 4, 50)
 */
export async function findingKeysFirst(on: Executor, q: FindingQuery, advisoryPk: number, severityRank: number, n: number): Promise<FindingKeys[] | null> {
  if (sqliteOf(on) === undefined) return null;
  if (q.status?.length === 0 || q.targets?.length === 0 || n <= 0) return [];
  const ex = kx(on);
  const keysOf = async (query: { compile(): CompiledQuery }): Promise<FindingKeys[] | undefined> =>
    (await sqliteArrays(on, query.compile()))?.map((a) => ({
      pk: Number(a[0]),
      targetId: a[1] as string,
      package: a[2] as string,
      severityRank: Number(a[3]),
      firstSeen: a[4] as string,
    }));
  // `+ 0`: the group's covering index (advisory first), not the severity's index (the fleet's high findings).
  const group = findingsWhere(ex, q, { ordered: true })
    .select(['findings.pk', 'findings.target_id', 'findings.package', 'findings.severity_rank', 'findings.first_seen_at'])
    .where('findings.advisory_pk', '=', advisoryPk)
    .where(sql`findings.severity_rank + 0`, '=', severityRank);
  const first = await keysOf(group.innerJoin('targets', 'targets.id', 'findings.target_id').orderBy('findings.first_seen_at').orderBy('targets.name').limit(n));
  // In a transaction the driver's arrays are not at hand: findingKeysOfAdvisory then.
  if (first === undefined) return null;
  const last = first[first.length - 1];
  if (first.length < n || last === undefined) return first;
  // The n-th row's host may have more findings of this first-seen time (its packages): all of them.
  // By the host's own index (`+ 0`: not the advisory's, the whole group again; nor the first-seen
  // time's, a whole cohort): its findings of the advisory, those of that time kept.
  const ties =
    (await keysOf(
      findingsWhere(ex, q, { ordered: true })
        .select(['findings.pk', 'findings.target_id', 'findings.package', 'findings.severity_rank', 'findings.first_seen_at'])
        .where(sql`findings.advisory_pk + 0`, '=', advisoryPk)
        .where(sql`findings.severity_rank + 0`, '=', severityRank)
        .where('findings.target_id', '=', last.targetId),
    )) ?? [];
  const seen = new Set(first.map((k) => k.pk));
  return [...first, ...ties.filter((k) => k.firstSeen === last.firstSeen && !seen.has(k.pk))];
}

/**
 * The findings with these pks, whole (in no particular order); a pk since removed is left out.
 * @example await findingsByPk(db, [101, 102])
 */
export async function findingsByPk(on: Executor, pks: readonly number[]): Promise<StreamedFinding[]> {
  const out: StreamedFinding[] = [];
  for (const c of chunks(pks, 1, 500)) for (const r of await streamedRows(on, findingsSelect(on, {}, false).where('findings.pk', 'in', c))) out.push(r);
  return out;
}

/**
 * Advisory identity, title, scores and CVEs by advisory pk.
 * @example (await advisoryFacts(db, [12])).get(12)?.cves
 */
export async function advisoryFacts(on: Executor, pks: Iterable<number>): Promise<Map<number, AdvisoryFacts>> {
  const ex = kx(on);
  const out = new Map<number, AdvisoryFacts>();
  for (const c of chunks([...new Set(pks)], 1, 5000)) {
    const rows = await ex
      .selectFrom('advisories')
      .select(['pk', 'source', 'advisory_id', 'title', 'cvss_score', 'cvss_v4_score', 'published_at'])
      .where('pk', 'in', c)
      .execute();
    for (const r of rows)
      out.set(r.pk, {
        source: r.source,
        advisoryId: r.advisory_id,
        title: r.title,
        cvssScore: r.cvss_score,
        cvssV4Score: r.cvss_v4_score,
        publishedAt: r.published_at,
        cves: [],
      });
    for (const r of await ex.selectFrom('advisory_cves').select(['advisory_pk', 'cve']).where('advisory_pk', 'in', c).orderBy('cve').execute())
      out.get(r.advisory_pk)?.cves.push(r.cve);
  }
  return out;
}

/** Every target's id, name and release (bounded by the hosts): the report order compares names once per target, not once per row. */
export async function targetNames(on: Executor, ids?: readonly string[]): Promise<{ id: string; name: string; release: string | null }[]> {
  const s = kx(on).selectFrom('targets').select(['id', 'name', 'release_id as release']);
  if (ids === undefined) return s.execute();
  const out: { id: string; name: string; release: string | null }[] = [];
  for (const c of chunks([...new Set(ids)], 1, 5000)) out.push(...(await s.where('id', 'in', c).execute()));
  return out;
}
