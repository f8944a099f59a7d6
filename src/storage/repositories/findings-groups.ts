import { sql, type Expression, type SqlBool } from 'kysely';
import { severityRank, type Severity } from '../../core/advisory.js';
import type { FindingStatus } from '../../core/finding.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';

/**
 * Findings folded into groups (issue #17): one row per advisory, or per source package, with how
 * many hosts and findings it has, its worst severity, and the binaries and hosts under it. Counted,
 * sorted and paged in SQL (a fleet of 10,000 hosts has hundreds of thousands of findings); only
 * the groups of the page are then unfolded. The source package is the one stored on each finding
 * by its writer (migration 0060), and the counts come from the covering indexes 0060 made.
 */
export interface FindingGroupQuery {
  /** A host's name or id. */
  host?: string;
  tag?: string;
  release?: string;
  status?: readonly FindingStatus[];
  minSeverity?: Severity;
  cve?: string;
  /** Part of an advisory id, its title or a package name (case-insensitive). */
  text?: string;
  /** Only findings of advisories with a CVE CISA lists as known exploited (risk, issue #16). */
  kev?: boolean;
  /** Only findings of advisories with a CVE whose EPSS score is above this (risk, issue #16). */
  epssAbove?: number;
}

export const FINDING_GROUP_SORTS = ['severity', 'hosts', 'findings', 'key', 'firstSeen'] as const;
export type FindingGroupSort = (typeof FINDING_GROUP_SORTS)[number];

export interface FindingGroup {
  /** `source:advisoryId` for advisories, the source package's name for packages. */
  key: string;
  /** For advisories: the feed source and advisory id, title and CVEs. */
  advisory?: { source: string; id: string; title: string; cves: string[] };
  severity: Severity;
  hosts: number;
  findings: number;
  firstSeen: string;
  /** Binary packages under the group, with the number of hosts that have each and the first 10 of them by name. */
  binaries: { name: string; hosts: string[]; hostCount: number; installed: string[]; fixed: string[] }[];
  /** For source packages: the advisories of its findings. */
  advisories?: string[];
}

/** Hosts named under each binary of a group (the rest are counted). */
const HOST_SAMPLE = 10;

const SEVERITY_OF_RANK = new Map<number, Severity>(
  (['critical', 'high', 'medium', 'low', 'none', 'unknown'] as Severity[]).map((s) => [severityRank(s), s] as const),
);

/** A finding's group key: its advisory, or the source package its writer stored (never null: migration 0060 filled older rows). */
function keyOf(by: 'advisory' | 'source'): Expression<string | number> {
  return by === 'advisory' ? sql<number>`findings.advisory_pk` : sql<string>`findings.source_package`;
}

function like(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The target filters (host, tag, release) as a condition on `targets`; null when there are none. */
function targetWhere(q: FindingGroupQuery, t: string): ReturnType<typeof sql<SqlBool>> | null {
  const parts: ReturnType<typeof sql<SqlBool>>[] = [];
  if (q.host !== undefined) parts.push(sql<SqlBool>`(${sql.ref(`${t}.name`)} = ${q.host} or ${sql.ref(`${t}.id`)} = ${q.host})`);
  if (q.tag !== undefined) parts.push(sql<SqlBool>`${sql.ref(`${t}.tags`)} like ${like(`"${q.tag}"`)} escape '\\'`);
  if (q.release !== undefined) parts.push(sql<SqlBool>`${sql.ref(`${t}.release_id`)} = ${q.release}`);
  return parts.length === 0 ? null : sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
}

/**
 * The findings filters on `findings` alone (targets and advisories through subqueries, so the
 * counting reads only a covering index); `withTargets` false leaves the target filters to the caller;
 * `targetIds`: the targets they keep, when a host is named (one or two ids).
 */
function findingsWhere(q: FindingGroupQuery, withTargets = true, targetIds?: readonly string[]): ReturnType<typeof sql<SqlBool>> {
  const parts: ReturnType<typeof sql<SqlBool>>[] = [];
  // `|| ''`: checked row by row, so that the planner reads the grouped views' covering index, not
  // the status index and then every row of the table.
  if (q.status !== undefined) parts.push(sql<SqlBool>`findings.status || '' in (${sql.join([...q.status])})`);
  if (q.minSeverity !== undefined) parts.push(sql<SqlBool>`findings.severity_rank >= ${severityRank(q.minSeverity)}`);
  const t = withTargets ? targetWhere(q, 'targets') : null;
  // A named host: its id itself, so that the planner reads that host's findings only.
  if (withTargets && targetIds !== undefined) parts.push(sql<SqlBool>`findings.target_id in (${sql.join([...targetIds])})`);
  else if (t !== null) parts.push(sql<SqlBool>`findings.target_id in (select targets.id from targets where ${t})`);
  if (q.cve !== undefined) parts.push(sql<SqlBool>`findings.advisory_pk in (select advisory_pk from advisory_cves where cve = ${q.cve.toUpperCase()})`);
  if (q.kev === true)
    parts.push(
      sql<SqlBool>`findings.advisory_pk in (select ac.advisory_pk from advisory_cves ac inner join kev_entries k on k.cve = ac.cve where k.removed_at is null)`,
    );
  if (q.epssAbove !== undefined)
    parts.push(
      sql<SqlBool>`findings.advisory_pk in (select ac.advisory_pk from advisory_cves ac inner join epss_scores e on e.cve = ac.cve where e.epss > ${q.epssAbove})`,
    );
  if (q.text !== undefined && q.text !== '') {
    const p = like(q.text);
    parts.push(
      sql<SqlBool>`(findings.advisory_pk in (select pk from advisories where lower(advisory_id) like ${p} escape '\\' or lower(title) like ${p} escape '\\') or lower(findings.package) like ${p} escape '\\')`,
    );
  }
  return parts.length === 0 ? sql<SqlBool>`1 = 1` : sql<SqlBool>`${sql.join(parts, sql` and `)}`;
}

interface Unfolded {
  gkey: string;
  advisoryPk: number;
  package: string;
  installed: string;
  fixed: string | null;
  hosts: number;
}

/**
 * The first hosts by name that have a binary of a group. Walked in name order with a probe per
 * host when most hosts have it; else the few that have it read and sorted.
 */
async function hostSample(on: Executor, by: 'advisory' | 'source', q: FindingGroupQuery, gkey: string, pkg: string, dense: boolean): Promise<string[]> {
  const ex = kx(on);
  const key = sql`${keyOf(by)} = ${by === 'advisory' ? Number(gkey) : gkey}`;
  const t = targetWhere(q, 't');
  // With a target filter the walk visits only the hosts it keeps.
  if (dense || t !== null) {
    // Each probe is led by the host (`+ 0`, `|| ''`: not by the group's index, which would read the whole group per host).
    const probeKey = by === 'advisory' ? sql`findings.advisory_pk + 0 = ${Number(gkey)}` : sql`findings.source_package || '' = ${gkey}`;
    const r = await sql<{ name: string }>`select t.name from targets t where ${t ?? sql`1 = 1`} and exists (select 1 from findings
      where findings.target_id = t.id and ${probeKey} and findings.package || '' = ${pkg} and ${findingsWhere(q, false)}) order by t.name limit ${HOST_SAMPLE}`.execute(
      ex,
    );
    return r.rows.map((x) => x.name);
  }
  const r = await sql<{ name: string }>`select distinct t.name from findings inner join targets t on t.id = findings.target_id
    where ${key} and findings.package = ${pkg} and ${findingsWhere(q, false)} order by t.name limit ${HOST_SAMPLE}`.execute(ex);
  return r.rows.map((x) => x.name);
}

/**
 * One page of groups, with the total number of groups.
 * @example await findingGroups(db, 'advisory', { status: ['open'] }, { limit: 50, offset: 0, sort: 'severity', desc: true })
 */
export async function findingGroups(
  on: Executor,
  by: 'advisory' | 'source',
  q: FindingGroupQuery,
  p: { limit: number; offset: number; sort: FindingGroupSort; desc: boolean },
): Promise<{ items: FindingGroup[]; total: number }> {
  const ex = kx(on);
  if (q.status?.length === 0) return { items: [], total: 0 };
  let ids: string[] | undefined;
  if (q.host !== undefined) {
    const t = targetWhere(q, 'targets');
    ids = (await sql<{ id: string }>`select targets.id from targets where ${t ?? sql`1 = 1`}`.execute(ex)).rows.map((r) => r.id);
    if (ids.length === 0) return { items: [], total: 0 };
  } else if (q.tag !== undefined || q.release !== undefined) {
    // A tag or a release every host has keeps every finding (each has its host: a foreign key):
    // left out, the groups are counted from the covering index alone, not probed host by host.
    const t = targetWhere(q, 'targets') ?? sql`1 = 1`;
    const c = (
      await sql<{ kept: number | string | null; n: number | string }>`select sum(case when ${t} then 1 else 0 end) as kept, count(*) as n from targets`.execute(
        ex,
      )
    ).rows[0];
    if (Number(c?.kept ?? 0) === 0) return { items: [], total: 0 };
    if (Number(c?.kept) === Number(c?.n)) {
      const rest = { ...q };
      delete rest.tag;
      delete rest.release;
      q = rest;
    }
  }
  const where = findingsWhere(q, true, ids);
  // Read from the covering index in its group key's order; the number of groups by the same scan (a window).
  const order = { severity: sql`rank`, hosts: sql`hosts`, findings: sql`n`, key: sql`gkey`, firstSeen: sql`first_seen` }[p.sort];
  const dir = p.desc ? sql`desc` : sql`asc`;
  const page = (
    await sql<{ gkey: string | number; rank: number | string; n: number | string; hosts: number | string; first_seen: string; groups: number | string }>`
    select ${keyOf(by)} as gkey, max(findings.severity_rank) as rank, count(*) as n, count(distinct findings.target_id) as hosts,
      min(findings.first_seen_at) as first_seen, count(*) over () as groups
    from findings where ${where} group by 1 order by ${order} ${dir}, hosts desc, gkey limit ${p.limit} offset ${p.offset}`.execute(ex)
  ).rows;
  const keys = page.map((r) => String(r.gkey));
  // What is under each group of the page, counted in SQL (a group of a fleet may hold 10,000
  // findings): per advisory, binary and build, the hosts that have it.
  const agg: Unfolded[] = [];
  for (const c of chunks(keys, 1, 500)) {
    const inPage = by === 'advisory' ? sql`findings.advisory_pk in (${sql.join(c.map(Number))})` : sql`${keyOf(by)} in (${sql.join(c)})`;
    const rows = await sql<{
      gkey: string | number;
      advisory_pk: number | string;
      package: string;
      installed: string;
      fixed: string | null;
      hosts: number | string;
    }>`
      select ${keyOf(by)} as gkey, findings.advisory_pk, findings.package, findings.installed, findings.fixed, count(distinct findings.target_id) as hosts
      from findings where ${inPage} and ${where} group by ${by === 'advisory' ? sql`1, findings.package, findings.installed, findings.fixed` : sql`1, findings.package, findings.installed, findings.fixed, findings.advisory_pk`}`.execute(
      ex,
    );
    for (const r of rows.rows)
      agg.push({ gkey: String(r.gkey), advisoryPk: Number(r.advisory_pk), package: r.package, installed: r.installed, fixed: r.fixed, hosts: Number(r.hosts) });
  }
  const advisories = new Map<number, { source: string; id: string; title: string; cves: string[] }>();
  for (const c of chunks([...new Set(agg.map((a) => a.advisoryPk))], 1, 500)) {
    for (const r of await ex.selectFrom('advisories').select(['pk', 'source', 'advisory_id', 'title']).where('pk', 'in', c).execute())
      advisories.set(r.pk, { source: r.source, id: r.advisory_id, title: r.title, cves: [] });
    if (by === 'advisory')
      for (const r of await ex.selectFrom('advisory_cves').select(['advisory_pk', 'cve']).where('advisory_pk', 'in', c).orderBy('cve').execute())
        advisories.get(r.advisory_pk)?.cves.push(r.cve);
  }
  const targets = Number(
    (
      await ex
        .selectFrom('targets')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst()
    )?.n ?? 0,
  );
  const items: FindingGroup[] = [];
  for (const r of page) {
    const k = String(r.gkey);
    const rows = agg.filter((d) => d.gkey === k);
    const binaries = new Map<string, { perAdvisory: Map<number, number>; installed: Set<string>; fixed: Set<string> }>();
    for (const d of rows) {
      const b = binaries.get(d.package) ?? { perAdvisory: new Map<number, number>(), installed: new Set<string>(), fixed: new Set<string>() };
      // A host has one build of a binary: its builds' hosts add up, under one advisory.
      b.perAdvisory.set(d.advisoryPk, (b.perAdvisory.get(d.advisoryPk) ?? 0) + d.hosts);
      b.installed.add(d.installed);
      if (d.fixed !== null) b.fixed.add(d.fixed);
      binaries.set(d.package, b);
    }
    const a = by === 'advisory' ? advisories.get(Number(k)) : undefined;
    const folded: FindingGroup['binaries'] = [];
    for (const [name, b] of [...binaries].sort(([x], [y]) => x.localeCompare(y))) {
      const hostCount = Math.max(...b.perAdvisory.values());
      // Dense: a walk of the hosts by name meets ten that have it within a few hundred.
      const dense = hostCount * 50 >= targets;
      folded.push({ name, hosts: await hostSample(ex, by, q, k, name, dense), hostCount, installed: [...b.installed].sort(), fixed: [...b.fixed].sort() });
    }
    items.push({
      key: a !== undefined ? `${a.source}:${a.id}` : k,
      ...(a !== undefined ? { advisory: a } : {}),
      ...(by === 'source'
        ? { advisories: [...new Set(rows.map((d) => advisories.get(d.advisoryPk)?.id).filter((x): x is string => x !== undefined))].sort() }
        : {}),
      severity: SEVERITY_OF_RANK.get(Number(r.rank)) ?? 'unknown',
      hosts: Number(r.hosts),
      findings: Number(r.n),
      firstSeen: r.first_seen,
      binaries: folded,
    });
  }
  // Past the last page no row carries the count: counted apart then only.
  const total =
    page[0] !== undefined
      ? Number(page[0].groups)
      : Number((await sql<{ n: number | string }>`select count(distinct ${keyOf(by)}) as n from findings where ${where}`.execute(ex)).rows[0]?.n ?? 0);
  return { items, total };
}
