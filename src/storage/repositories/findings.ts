import { sql } from 'kysely';
import { SEVERITIES, severityRank, type Severity } from '../../core/advisory.js';
import type { Finding, FindingStatus } from '../../core/finding.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import type { Risk } from '../../core/risk.js';
import type { FindingRow as FindingsRow } from '../schema.js';
import { findingsWhere, type FindingQuery } from './findings-where.js';

/** What the matcher found for one target now. */
export interface FindingInput {
  advisorySource: string;
  advisoryId: string;
  package: string;
  arch: string;
  installed: string;
  fixed: string | null;
  severity: Severity;
  status: Extract<FindingStatus, 'open' | 'no-fix' | 'mitigated'>;
  reason?: string | null;
  /** The source package the binary was built from on the target; absent: looked up in the target's stored inventory (else the binary's own name). */
  sourcePackage?: string;
}

export interface FindingCounts {
  opened: number;
  /** Still present; installed/fixed versions and severity refreshed. */
  kept: number;
  /** Previously fixed, affected again (a downgrade, or a changed advisory). */
  reopened: number;
  /** No longer present: the package was updated or removed, or the advisory withdrawn. */
  closed: number;
}

/** One package build the target has now, as the matcher judged it (`installed` as in FindingInput). */
export interface InstalledBuild {
  package: string;
  arch: string;
  installed: string;
}

export interface FindingFilter {
  targetId?: string;
  status?: readonly FindingStatus[];
}

/** A findings row joined with its advisory's source and id, as the domain sees it. */
function toFinding(r: FindingsRow & { source: string; advisory_id: string }): Finding {
  return {
    targetId: r.target_id,
    advisorySource: r.source,
    advisoryId: r.advisory_id,
    package: r.package,
    installed: r.installed,
    fixed: r.fixed,
    severity: r.severity as Severity,
    status: r.status as FindingStatus,
    reason: r.reason,
    firstSeen: r.first_seen_at,
    lastSeen: r.last_seen_at,
    closedAt: r.closed_at,
    acceptedBy: r.accepted_by,
    acceptedAt: r.accepted_at,
    acceptedUntil: r.accepted_until,
  };
}

/** Findings with their advisory identity, most severe first. */
export async function listFindings(on: Executor, filter: FindingFilter = {}): Promise<Finding[]> {
  const ex = kx(on);
  if (filter.status?.length === 0) return [];
  let q = ex
    .selectFrom('findings')
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .selectAll('findings')
    .select(['advisories.source', 'advisories.advisory_id']);
  if (filter.targetId !== undefined) q = q.where('findings.target_id', '=', filter.targetId);
  if (filter.status !== undefined) q = q.where('findings.status', 'in', [...filter.status]);
  const rows = await q.orderBy('findings.target_id').orderBy('findings.package').orderBy('advisories.advisory_id').orderBy('findings.arch').execute();
  return rows.map(toFinding).sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}

export interface FindingRow extends Finding {
  /** The installed package's arch (`-` for a release-wide finding). */
  arch: string;
  targetName: string;
  release: string | null;
  title: string;
  cves: string[];
  /** CVSS v3 base score; v4.0 apart (never mixed): the advisory's, null when it has none. */
  cvssScore: number | null;
  cvssV4Score: number | null;
  publishedAt: string | null;
  /** The risk order's score and reason (issue #16), set by services/signals.ts; absent from the store's own rows. */
  risk?: Risk;
}

export type { FindingQuery } from './findings-where.js';

function filteredFindings(on: Executor, q: FindingQuery, o: { ordered?: boolean } = {}) {
  const ex = kx(on);
  return findingsWhere(ex, q, o)
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .selectAll('findings')
    .select([
      'advisories.source',
      'advisories.advisory_id',
      'advisories.title',
      'advisories.cvss_score',
      'advisories.cvss_v4_score',
      'advisories.published_at',
      'targets.name as target_name',
      'targets.release_id',
    ]);
}

/**
 * Findings for reports: with the target's name and release and the advisory's title and CVEs,
 * most severe first, then oldest first, then by host and package name, then as recorded (pk).
 * @example await queryFindings(db, { status: ['open', 'no-fix'], minSeverity: 'high' })
 */
export async function queryFindings(on: Executor, q: FindingQuery = {}): Promise<FindingRow[]> {
  const ex = kx(on);
  if (q.status?.length === 0 || q.targets?.length === 0) return [];
  // Ties of the order below keep the recorded order (a stable sort): pk, not whatever plan SQL took.
  const rows = await filteredFindings(ex, q).orderBy('findings.pk').execute();
  return (await withCves(ex, rows)).sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.firstSeen.localeCompare(b.firstSeen) ||
      a.targetName.localeCompare(b.targetName) ||
      a.package.localeCompare(b.package),
  );
}

type JoinedRow = Awaited<ReturnType<ReturnType<typeof filteredFindings>['execute']>>[number];

async function withCves(on: Executor, rows: readonly JoinedRow[]): Promise<FindingRow[]> {
  const ex = kx(on);
  const pks = [...new Set(rows.map((r) => r.advisory_pk))];
  const cves = new Map<number, string[]>();
  for (const c of chunks(pks, 1, 5000)) {
    for (const r of await ex.selectFrom('advisory_cves').selectAll().where('advisory_pk', 'in', c).orderBy('cve').execute()) {
      const l = cves.get(r.advisory_pk) ?? [];
      l.push(r.cve);
      cves.set(r.advisory_pk, l);
    }
  }
  return rows.map((r) => ({
    ...toFinding(r),
    arch: r.arch,
    targetName: r.target_name,
    release: r.release_id,
    title: r.title,
    cves: cves.get(r.advisory_pk) ?? [],
    cvssScore: r.cvss_score,
    cvssV4Score: r.cvss_v4_score,
    publishedAt: r.published_at,
  }));
}

/** Sort keys of findingsPage and the column each means. */
export const FINDING_SORT_KEYS = ['severity', 'targetName', 'advisoryId', 'package', 'firstSeen', 'status', 'cvssScore', 'publishedAt'] as const;
export type FindingSortKey = (typeof FINDING_SORT_KEYS)[number];

/**
 * One page of findings, filtered, sorted and counted in SQL (the API's list on large fleets):
 * default order most severe first, then oldest, then as recorded.
 * @example await findingsPage(db, { status: ['open'] }, { limit: 100, offset: 0, sort: { key: 'firstSeen', desc: true } })
 */
export async function findingsPage(
  on: Executor,
  q: FindingQuery,
  p: { limit: number; offset: number; sort?: { key: FindingSortKey; desc: boolean } },
): Promise<{ rows: FindingRow[]; total: number }> {
  const ex = kx(on);
  if (q.status?.length === 0 || q.targets?.length === 0) return { rows: [], total: 0 };
  const column = {
    severity: sql.ref('findings.severity_rank'),
    targetName: sql.ref('targets.name'),
    advisoryId: sql.ref('advisories.advisory_id'),
    package: sql.ref('findings.package'),
    firstSeen: sql.ref('findings.first_seen_at'),
    status: sql.ref('findings.status'),
    cvssScore: sql.ref('advisories.cvss_score'),
    publishedAt: sql.ref('advisories.published_at'),
  } as const;
  // Counted from the (status, severity) index alone: the least severity as the names at least as
  // severe (each stored with its rank: findings-write.ts), not the rank the index lacks (a read
  // of the table per finding: 50,000 of them for `high` on a fleet of 10,000 hosts).
  const { minSeverity, ...unranked } = q;
  const least = minSeverity === undefined ? 0 : severityRank(minSeverity);
  let counting = findingsWhere(ex, unranked);
  if (least > 0)
    counting = counting.where(
      'findings.severity',
      'in',
      SEVERITIES.filter((x) => severityRank(x) >= least),
    );
  const counted = await counting.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
  // The fleet-wide default page walks the findings_page index and checks the status row by row
  // (findingsWhere); a host or a CVE is an index of its own (migration 0042), whose few rows are sorted.
  const selective = q.targets !== undefined || q.cve !== undefined;
  let s = filteredFindings(ex, q, { ordered: !selective && (p.sort === undefined || p.sort.key === 'severity') });
  if (p.sort !== undefined) s = s.orderBy(column[p.sort.key], p.sort.desc ? 'desc' : 'asc');
  // The default order is the findings_page index (severity_rank desc, first_seen_at, pk): a page
  // is an index scan that stops after `limit` rows.
  s = s.orderBy('findings.severity_rank', 'desc').orderBy('findings.first_seen_at').orderBy('findings.pk');
  const rows = await s.limit(p.limit).offset(p.offset).execute();
  return { rows: await withCves(ex, rows), total: Number(counted?.n ?? 0) };
}
