import { sql, type Expression, type SqlBool } from 'kysely';
import { severityRank, type Severity } from '../../core/advisory.js';
import type { FindingStatus } from '../../core/finding.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';

/**
 * Findings folded into groups (issue #17): one row per advisory, or per source package, with how
 * many hosts and findings it has, its worst severity, and the binaries and hosts under it. Counted,
 * sorted and paged in SQL (a fleet of 10,000 hosts has hundreds of thousands of findings); only
 * the groups of the page are then unfolded.
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

/** The source package a finding's binary was built from: the host's inventory says; its own name when it does not. */
function sourceOf() {
  return sql<string>`coalesce((select p.source_name from target_packages tp inner join packages p on p.pk = tp.package_pk
    where tp.target_id = findings.target_id and p.name = findings.package and p.source_name is not null limit 1), findings.package)`;
}

function like(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function filtered(on: Executor, q: FindingGroupQuery) {
  const ex = kx(on);
  let s = ex.selectFrom('findings').innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk').innerJoin('targets', 'targets.id', 'findings.target_id');
  if (q.host !== undefined) {
    const h = q.host;
    s = s.where((eb) => eb.or([eb('targets.name', '=', h), eb('targets.id', '=', h)]));
  }
  if (q.tag !== undefined) s = s.where(sql<SqlBool>`targets.tags like ${like(`"${q.tag}"`)} escape '\\'`);
  if (q.release !== undefined) s = s.where('targets.release_id', '=', q.release);
  if (q.status !== undefined) s = s.where('findings.status', 'in', [...q.status]);
  if (q.minSeverity !== undefined) s = s.where('findings.severity_rank', '>=', severityRank(q.minSeverity));
  if (q.cve !== undefined) {
    const cve = q.cve.toUpperCase();
    s = s.where('findings.advisory_pk', 'in', (sub) =>
      sub.selectFrom('advisory_cves').select('advisory_cves.advisory_pk').where('advisory_cves.cve', '=', cve),
    );
  }
  if (q.text !== undefined && q.text !== '') {
    const pattern = like(q.text);
    s = s.where(
      (eb) =>
        sql<SqlBool>`(lower(${eb.ref('advisories.advisory_id')}) like ${pattern} escape '\\' or lower(${eb.ref('advisories.title')}) like ${pattern} escape '\\' or lower(${eb.ref('findings.package')}) like ${pattern} escape '\\')`,
    );
  }
  return s;
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
  const keyExpr: Expression<string | number> = by === 'advisory' ? sql<string | number>`advisories.pk` : sourceOf();
  const grouped = filtered(ex, q)
    .select([
      sql<string | number>`${keyExpr}`.as('gkey'),
      sql<number | string>`max(findings.severity_rank)`.as('rank'),
      (eb) => eb.fn.countAll<number | string>().as('n'),
      sql<number | string>`count(distinct findings.target_id)`.as('hosts'),
      (eb) => eb.fn.min('findings.first_seen_at').as('first_seen'),
      // The number of groups, counted by the same scan (a window over the grouped rows).
      sql<number | string>`count(*) over ()`.as('groups'),
    ])
    .groupBy(sql`gkey`);
  const order = { severity: sql`rank`, hosts: sql`hosts`, findings: sql`n`, key: sql`gkey`, firstSeen: sql`first_seen` }[p.sort];
  const page = await grouped
    .orderBy(order, p.desc ? 'desc' : 'asc')
    .orderBy(sql`hosts`, 'desc')
    .orderBy(sql`gkey`)
    .limit(p.limit)
    .offset(p.offset)
    .execute();
  const keys = page.map((r) => String(r.gkey));
  // What is under each group of the page, counted in SQL (a group of a fleet may hold 10,000
  // findings): per advisory, binary and build, the hosts that have it; and the first hosts by name
  // of each binary, for the page to show.
  const agg: { gkey: string; source: string; id: string; title: string; package: string; installed: string; fixed: string | null; hosts: number }[] = [];
  const sample = new Map<string, string[]>();
  for (const c of chunks(keys, 1, 500)) {
    const inPage = by === 'advisory' ? sql<SqlBool>`advisories.pk in (${sql.join(c.map(Number))})` : sql<SqlBool>`${sourceOf()} in (${sql.join(c)})`;
    const rows = await filtered(ex, q)
      .where(inPage)
      .select([
        sql<string | number>`${keyExpr}`.as('gkey'),
        'advisories.source',
        'advisories.advisory_id',
        'advisories.title',
        'findings.package',
        'findings.installed',
        'findings.fixed',
        sql<number | string>`count(distinct findings.target_id)`.as('hosts'),
      ])
      .groupBy([sql`gkey`, 'advisories.source', 'advisories.advisory_id', 'advisories.title', 'findings.package', 'findings.installed', 'findings.fixed'])
      .execute();
    for (const r of rows)
      agg.push({
        gkey: String(r.gkey),
        source: r.source,
        id: r.advisory_id,
        title: r.title,
        package: r.package,
        installed: r.installed,
        fixed: r.fixed,
        hosts: Number(r.hosts),
      });
    const ranked = filtered(ex, q)
      .where(inPage)
      .select([
        sql<string | number>`${keyExpr}`.as('gkey'),
        'findings.package',
        'targets.name as target',
        sql<number>`row_number() over (partition by ${keyExpr}, findings.package order by targets.name)`.as('rn'),
      ]);
    for (const r of await ex.selectFrom(ranked.as('r')).selectAll().where('rn', '<=', HOST_SAMPLE).orderBy('target').execute()) {
      const k = `${String(r.gkey)}\u0000${r.package}`;
      const l = sample.get(k) ?? [];
      if (!l.includes(r.target)) l.push(r.target);
      sample.set(k, l);
    }
  }
  const cves = new Map<number, string[]>();
  if (by === 'advisory')
    for (const c of chunks(keys.map(Number), 1, 500))
      for (const r of await ex
        .selectFrom('advisory_cves')
        .select([sql<string | number>`advisory_pk`.as('advisory_pk'), 'cve'])
        .where('advisory_pk', 'in', c)
        .orderBy('cve')
        .execute())
        cves.set(Number(r.advisory_pk), [...(cves.get(Number(r.advisory_pk)) ?? []), r.cve]);
  const items = page.map((r): FindingGroup => {
    const k = String(r.gkey);
    const rows = agg.filter((d) => d.gkey === k);
    const binaries = new Map<string, { perAdvisory: Map<string, number>; installed: Set<string>; fixed: Set<string> }>();
    for (const d of rows) {
      const b = binaries.get(d.package) ?? { perAdvisory: new Map<string, number>(), installed: new Set<string>(), fixed: new Set<string>() };
      // A host has one build of a binary: its builds' hosts add up, under one advisory.
      b.perAdvisory.set(d.id, (b.perAdvisory.get(d.id) ?? 0) + d.hosts);
      b.installed.add(d.installed);
      if (d.fixed !== null) b.fixed.add(d.fixed);
      binaries.set(d.package, b);
    }
    const first = rows[0];
    return {
      key: by === 'advisory' && first !== undefined ? `${first.source}:${first.id}` : k,
      ...(by === 'advisory' && first !== undefined
        ? { advisory: { source: first.source, id: first.id, title: first.title, cves: cves.get(Number(k)) ?? [] } }
        : {}),
      ...(by === 'source' ? { advisories: [...new Set(rows.map((d) => d.id))].sort() } : {}),
      severity: SEVERITY_OF_RANK.get(Number(r.rank)) ?? 'unknown',
      hosts: Number(r.hosts),
      findings: Number(r.n),
      firstSeen: r.first_seen,
      binaries: [...binaries]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, b]) => ({
          name,
          hosts: sample.get(`${k}\u0000${name}`) ?? [],
          hostCount: Math.max(...b.perAdvisory.values()),
          installed: [...b.installed].sort(),
          fixed: [...b.fixed].sort(),
        })),
    };
  });
  // Past the last page no row carries the count: counted apart then only.
  const total =
    page[0] !== undefined
      ? Number(page[0].groups)
      : Number(
          (
            await ex
              .selectFrom(grouped.as('g'))
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .executeTakeFirst()
          )?.n ?? 0,
        );
  return { items, total };
}
