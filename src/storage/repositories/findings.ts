import { sql } from 'kysely';
import { severityRank, type Severity } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
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
  status: Extract<FindingStatus, 'open' | 'no-fix'>;
  reason?: string | null;
  deadline?: string | null;
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

/**
 * Records the complete current set of findings of one target: new ones open, present ones
 * are refreshed (an `accepted` one stays accepted until its acceptance expires, and comes back
 * accepted after a withdrawal of its advisory), absent ones close with the time: as `fixed`
 * only when the build they were found on is no longer among `builds` (the host was updated or
 * the package removed), as `withdrawn` otherwise (the feed changed, not the host). Call inside a
 * transaction, with every match of the target (not a subset) and every build the matcher judged.
 */
export async function recordFindings(
  on: Executor,
  targetId: string,
  current: readonly FindingInput[],
  builds: readonly InstalledBuild[],
  now: string,
): Promise<FindingCounts> {
  const ex = kx(on);
  const counts: FindingCounts = { opened: 0, kept: 0, reopened: 0, closed: 0 };
  const advisoryPks = new Map<string, number>();
  const bySource = new Map<string, Set<string>>();
  for (const f of current) {
    let s = bySource.get(f.advisorySource);
    if (!s) bySource.set(f.advisorySource, (s = new Set()));
    s.add(f.advisoryId);
  }
  for (const [source, ids] of bySource) {
    for (const c of chunks([...ids], 1, 5000)) {
      const rows = await ex.selectFrom('advisories').select(['pk', 'advisory_id']).where('source', '=', source).where('advisory_id', 'in', c).execute();
      for (const r of rows) advisoryPks.set(`${source}\u0000${r.advisory_id}`, r.pk);
    }
  }
  const existing = await ex
    .selectFrom('findings')
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .select([
      'findings.pk',
      'findings.advisory_pk',
      'findings.package',
      'findings.arch',
      'findings.installed',
      'findings.status',
      'findings.closed_from',
      'findings.accepted_until',
      'advisories.withdrawn_at',
    ])
    .select((eb) => eb.exists(eb.selectFrom('fixes').select('fixes.advisory_pk').whereRef('fixes.advisory_pk', '=', 'advisories.pk')).as('has_fix'))
    .where('findings.target_id', '=', targetId)
    .execute();
  const byIdentity = new Map(existing.map((r) => [`${String(r.advisory_pk)}\u0000${r.package}\u0000${r.arch}`, r]));
  const seen = new Set<number>();
  const inserted = new Set<string>();
  for (const f of current) {
    const apk = advisoryPks.get(`${f.advisorySource}\u0000${f.advisoryId}`);
    if (apk === undefined) throw new BulwarkError('storage.not-found', `finding names advisory ${f.advisorySource}/${f.advisoryId}, which is not stored`);
    const identity = `${String(apk)}\u0000${f.package}\u0000${f.arch}`;
    const old = byIdentity.get(identity);
    if (old === undefined) {
      // The same identity twice in `current`: the first one stands, as for stored findings.
      if (inserted.has(identity)) continue;
      inserted.add(identity);
      await ex
        .insertInto('findings')
        .values({
          target_id: targetId,
          advisory_pk: apk,
          package: f.package,
          arch: f.arch,
          installed: f.installed,
          fixed: f.fixed,
          severity: f.severity,
          severity_rank: severityRank(f.severity),
          status: f.status,
          reason: f.reason ?? null,
          first_seen_at: now,
          last_seen_at: now,
          closed_at: null,
          deadline: f.deadline ?? null,
        })
        .execute();
      counts.opened++;
      continue;
    }
    if (seen.has(old.pk)) continue;
    seen.add(old.pk);
    // A finding closed by an update, or by its advisory's withdrawal, is affected again.
    const reopen = old.status === 'fixed' || old.status === 'withdrawn';
    // An operator's acceptance stands while it has not expired, across a withdrawal of the
    // advisory and its return too (its reason stayed in `reason`); an update ends it.
    const accepted =
      (old.status === 'accepted' || (old.status === 'withdrawn' && old.closed_from === 'accepted')) &&
      (old.accepted_until === null || Date.parse(old.accepted_until) > Date.parse(now));
    await ex
      .updateTable('findings')
      .set({
        installed: f.installed,
        fixed: f.fixed,
        severity: f.severity,
        severity_rank: severityRank(f.severity),
        status: accepted ? 'accepted' : f.status,
        reason: accepted ? undefined : (f.reason ?? null),
        last_seen_at: now,
        closed_at: null,
        closed_from: null,
        ...(f.deadline !== undefined ? { deadline: f.deadline } : {}),
      })
      .where('pk', '=', old.pk)
      .execute();
    if (reopen) counts.reopened++;
    else counts.kept++;
  }
  // Absent now. A report's "fixed" claims the host changed: only a finding whose build is gone
  // (updated, removed, or a kernel no longer running) closes as `fixed`. One whose build is
  // still there disappeared because the feed changed — the advisory withdrawn, left without any
  // fix, the package dropped from it, or its fix moved to a version at or below the installed
  // one — and closes as `withdrawn`. A withdrawn advisory or one without any fix closes its
  // findings as `withdrawn` even if the host changed too: the feed no longer says whether the
  // update fixed anything. A withdrawn finding whose advisory is back but no longer matches was
  // fixed meanwhile only if its build is gone.
  const present = new Set(builds.map((b) => `${b.package}\u0000${b.arch}\u0000${b.installed}`));
  const hostChanged = (r: { package: string; arch: string; installed: string }): boolean => !present.has(`${r.package}\u0000${r.arch}\u0000${r.installed}`);
  const absent = existing.filter((r) => !seen.has(r.pk));
  const active = (r: { status: string }): boolean => r.status !== 'fixed' && r.status !== 'withdrawn';
  // An advisory its feed kept but left without any fix says nothing any more, as a withdrawn
  // one. (exists() reads 0/1 on SQLite, a boolean on PostgreSQL.)
  const gone = (r: { withdrawn_at: string | null; has_fix: unknown }): boolean => r.withdrawn_at !== null || !(r.has_fix === true || Number(r.has_fix) === 1);
  // A release's end of support (package "(release)", services/scan.ts) is an advisory that never
  // has fixes, so having none says nothing about its feed: it is fixed when the release changed.
  const fixed = (r: (typeof absent)[number]): boolean => (r.package === '(release)' ? r.withdrawn_at === null : !gone(r)) && hostChanged(r);
  const toWithdraw = absent.filter((r) => !fixed(r) && active(r)).map((r) => r.pk);
  const toFix = absent.filter((r) => fixed(r) && r.status !== 'fixed').map((r) => r.pk);
  // The status before (an operator's `accepted`) is kept: the advisory's return restores it.
  for (const c of chunks(toWithdraw, 1, 5000))
    await ex
      .updateTable('findings')
      .set((eb) => ({ closed_from: eb.ref('status'), status: 'withdrawn', closed_at: now }))
      .where('pk', 'in', c)
      .execute();
  for (const c of chunks(toFix, 1, 5000)) await ex.updateTable('findings').set({ status: 'fixed', closed_at: now }).where('pk', 'in', c).execute();
  counts.closed = absent.filter(active).length;
  return counts;
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
    deadline: r.deadline,
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
  const counted = await findingsWhere(ex, q)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirst();
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
