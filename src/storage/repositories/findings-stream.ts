import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import type { FindingQuery } from './findings.js';
import { findingsWhere } from './findings-where.js';

/**
 * Findings read in pages for streamed reports and listings (issue #14 item 4): keyset pages in
 * the findings_page index order (severity_rank desc, first_seen_at, pk), one severity at a time
 * so that every page is a range of the index (`severity_rank = r and (first_seen_at, pk) > (f, p)`),
 * never an OFFSET: a page costs the same at the end of the fleet as at its start, and the
 * connection is free between pages (the API's other requests run meanwhile). Rows carry the
 * target's name and release; what belongs to the advisory (identity, title, scores, CVEs) is
 * read once per advisory with advisoryFacts, not once per row.
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
  targetName: string;
  release: string | null;
}

/** The columns of a StreamedFinding, named as it names them: the rows are handed out as they come (no copy per row). */
const STREAMED = [
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
  'targets.name as targetName',
  'targets.release_id as release',
] as const;

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
 * The page after `after` (at most `limit` rows) in the findings_page order, or an empty array at
 * the end.
 * @example for (let p = await findingsAfter(db, q, null, 2000); p.length > 0; p = await findingsAfter(db, q, cursorOf(p), 2000)) …
 */
export async function findingsAfter(on: Executor, q: FindingQuery, after: FindingsCursor | null, limit: number): Promise<StreamedFinding[]> {
  const ex = kx(on);
  if (q.status?.length === 0 || q.targets?.length === 0) return [];
  let rank = after?.severityRank ?? 5;
  let cursor = after === null ? null : { firstSeen: after.firstSeen, pk: after.pk };
  const out: StreamedFinding[] = [];
  // Severity ranks run 5 (critical) to 0 (unknown): each is a range of the index of its own.
  while (rank >= 0 && out.length < limit) {
    const c = cursor;
    // One selective filter (hosts, a CVE) is an index of its own: the planner takes it and sorts
    // the few rows it gives; the fleet-wide listing is the findings_page range.
    let s = findingsWhere(ex, q, { ordered: q.targets === undefined && q.cve === undefined })
      .innerJoin('targets', 'targets.id', 'findings.target_id')
      .select(STREAMED)
      .where('findings.severity_rank', '=', rank);
    if (c !== null) s = s.where((eb) => eb(eb.refTuple('findings.first_seen_at', 'findings.pk'), '>', eb.tuple(c.firstSeen, c.pk)));
    const rows = await s
      .orderBy('findings.first_seen_at')
      .orderBy('findings.pk')
      .limit(limit - out.length)
      .execute();
    for (const r of rows) out.push(r);
    if (out.length < limit) {
      rank--;
      cursor = null;
    }
  }
  return out;
}

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

/**
 * The findings of the query on one advisory with one severity, after pk `after`, at most
 * `limit`, in pk order (the findings_advisory index: a page costs what it returns, whatever the
 * fleet's size): how the risk order reads the rows of its best-ranked advisories first.
 * @example for (let p = await findingsOfAdvisory(db, q, 12, 'high', 0, 5000); p.length > 0; …) …
 */
export async function findingsOfAdvisory(
  on: Executor,
  q: FindingQuery,
  advisoryPk: number,
  severity: string,
  after: number,
  limit: number,
): Promise<StreamedFinding[]> {
  const ex = kx(on);
  if (q.status?.length === 0 || q.targets?.length === 0) return [];
  // Status row by row (`ordered`): the (status, severity) index would walk the fleet's open findings.
  return findingsWhere(ex, q, { ordered: true })
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .select(STREAMED)
    .where('findings.advisory_pk', '=', advisoryPk)
    .where('findings.severity', '=', severity)
    .where('findings.pk', '>', after)
    .orderBy('findings.pk')
    .limit(limit)
    .execute();
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

/** Every target's id and name (bounded by the hosts): the report order compares names once per target, not once per row. */
export async function targetNames(on: Executor): Promise<{ id: string; name: string }[]> {
  return kx(on).selectFrom('targets').select(['id', 'name']).execute();
}
