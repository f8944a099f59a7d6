import type { PackageFamily } from '../../core/release.js';
import type { InstalledPackage, LivePatch, SourceOrigin, TargetStreams } from '../../core/target.js';
import { chunks } from '../chunk.js';
import { directStatement } from '../sqlite-direct.js';
import { kx, type Executor } from '../database.js';
import type { PackageRow } from '../schema.js';

// The fleet index's reads (issue #14): distinct package builds (`packages`, one row per build)
// and host→build links (`target_packages`), asked for by the set, never host by host.

/** A target as the matcher needs it. */
export interface ScanTargetRow {
  id: string;
  name: string;
  release: string | null;
  runningKernel: string | null;
  inventoryAt: string | null;
  /** Its enabled module streams and subscription channels (matching/applicability.ts); null: not collected. */
  streams: TargetStreams;
  /** Its running kernel's live patches (matching/livepatch.ts); null: not collected. */
  livePatches: LivePatch[] | null;
}

/** One distinct build with its row id. */
export interface StoredBuild {
  pk: number;
  pkg: InstalledPackage;
}

export function toInstalled(r: PackageRow): InstalledPackage {
  return {
    family: r.family as PackageFamily,
    name: r.name,
    epoch: r.epoch,
    version: r.version,
    release: r.release,
    arch: r.arch,
    sourceName: r.source_name,
    sourceVersion: r.source_version,
    ...(r.source_origin === null ? {} : { sourceOrigin: r.source_origin as SourceOrigin }),
  };
}

/** A stored JSON list of names (module streams, channels); null when not collected. */
export function jsonList(text: string | null | undefined): string[] | null {
  if (text === null || text === undefined) return null;
  const v = JSON.parse(text) as unknown;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
}

/** A stored JSON list of live patches (migration 0063); null when not collected. */
export function livePatchList(text: string | null | undefined): LivePatch[] | null {
  if (text === null || text === undefined) return null;
  const v = JSON.parse(text) as unknown;
  if (!Array.isArray(v)) return null;
  return v
    .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null)
    .map((x) => ({
      tool: x['tool'] === 'canonical-livepatch' ? 'canonical-livepatch' : 'kpatch',
      name: String(x['name']),
      state: String(x['state']),
      active: x['active'] === true,
      package: typeof x['package'] === 'string' ? x['package'] : null,
      cves: Array.isArray(x['cves']) ? x['cves'].filter((c): c is string => typeof c === 'string') : [],
    }));
}

const targetColumns = ['id', 'name', 'release_id', 'running_kernel', 'inventory_at', 'module_streams', 'channels', 'live_patches'] as const;

export function toScanTarget(r: {
  id: string;
  name: string;
  release_id: string | null;
  running_kernel: string | null;
  inventory_at: string | null;
  module_streams: string | null;
  channels: string | null;
  live_patches: string | null;
}): ScanTargetRow {
  return {
    id: r.id,
    name: r.name,
    release: r.release_id,
    runningKernel: r.running_kernel,
    inventoryAt: r.inventory_at,
    streams: { modules: jsonList(r.module_streams), channels: jsonList(r.channels) },
    livePatches: livePatchList(r.live_patches),
  };
}

/** The targets with an inventory (all, or those of `ids`), by name. */
export async function scanTargets(on: Executor, ids?: readonly string[]): Promise<ScanTargetRow[]> {
  const ex = kx(on);
  if (ids === undefined) {
    const rows = await ex.selectFrom('targets').select(targetColumns).where('inventory_at', 'is not', null).orderBy('name').execute();
    return rows.map(toScanTarget);
  }
  const out: ScanTargetRow[] = [];
  for (const c of chunks([...new Set(ids)], 1, 5000))
    out.push(...(await ex.selectFrom('targets').select(targetColumns).where('id', 'in', c).execute()).map(toScanTarget));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The (target, build) links of these targets (only to these builds, when given). */
export async function linksOfTargets(
  on: Executor,
  targetIds: readonly string[],
  buildPks?: readonly number[],
): Promise<{ target_id: string; package_pk: number }[]> {
  const ex = kx(on);
  const out: { target_id: string; package_pk: number }[] = [];
  const builds = buildPks === undefined ? [undefined] : chunks([...new Set(buildPks)], 1, 20_000);
  for (const c of chunks(targetIds, 1, 5000))
    for (const b of builds) {
      let q = ex.selectFrom('target_packages').select(['target_id', 'package_pk']).where('target_id', 'in', c);
      if (b !== undefined) q = q.where('package_pk', 'in', b);
      for (const r of await q.execute()) out.push(r);
    }
  return out;
}

/** The (target, build) links of these builds: which targets hold them (the inverted index). */
export async function linksOfBuilds(on: Executor, buildPks: readonly number[]): Promise<{ target_id: string; package_pk: number }[]> {
  const ex = kx(on);
  const out: { target_id: string; package_pk: number }[] = [];
  for (const c of chunks([...new Set(buildPks)], 1, 5000))
    for (const r of await ex.selectFrom('target_packages').select(['target_id', 'package_pk']).where('package_pk', 'in', c).execute()) out.push(r);
  return out;
}

/** Distinct builds by row id. */
export async function buildsByPk(on: Executor, pks: readonly number[]): Promise<StoredBuild[]> {
  const ex = kx(on);
  const out: StoredBuild[] = [];
  for (const c of chunks([...new Set(pks)], 1, 5000))
    for (const r of await ex.selectFrom('packages').selectAll().where('pk', 'in', c).execute()) out.push({ pk: r.pk, pkg: toInstalled(r) });
  return out;
}

/**
 * The builds of `names` that these targets hold (issue #14: what a report that changed three
 * names re-matches on its host, not every build of those names the fleet ever held).
 */
export async function heldBuildsNamed(on: Executor, targetIds: readonly string[], names: readonly string[]): Promise<StoredBuild[]> {
  const ex = kx(on);
  const out = new Map<number, StoredBuild>();
  for (const c of chunks([...new Set(names)], 1, 5000))
    for (const r of await ex
      .selectFrom('packages')
      .selectAll()
      .where('name', 'in', c)
      // Each build of the names asked whether one of the targets holds it (SQLite, given a join,
      // walked the target's 600 links instead).
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('target_packages')
            .select('target_packages.package_pk')
            .whereRef('target_packages.package_pk', '=', 'packages.pk')
            .where('target_packages.target_id', 'in', [...targetIds]),
        ),
      )
      .execute())
      out.set(r.pk, { pk: r.pk, pkg: toInstalled(r) });
  return [...out.values()];
}

/** The builds whose binary name (or, with `bySource`, source name) is one of `names`. */
export async function buildsNamed(on: Executor, names: readonly string[], o: { bySource?: boolean } = {}): Promise<StoredBuild[]> {
  const ex = kx(on);
  const out = new Map<number, StoredBuild>();
  for (const c of chunks([...new Set(names)], 2, 10_000)) {
    const rows = await ex
      .selectFrom('packages')
      .selectAll()
      .where((eb) => (o.bySource === true ? eb.or([eb('name', 'in', c), eb('source_name', 'in', c)]) : eb('name', 'in', c)))
      .execute();
    for (const r of rows) out.set(r.pk, { pk: r.pk, pkg: toInstalled(r) });
  }
  return [...out.values()];
}

/** The distinct binary and source names held by the targets of a release (all of them, in one statement). */
export async function namesHeldInRelease(on: Executor, release: string): Promise<string[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('packages')
    .select(['name', 'source_name'])
    .distinct()
    .where('pk', 'in', (sub) =>
      sub
        .selectFrom('target_packages')
        .innerJoin('targets', 'targets.id', 'target_packages.target_id')
        .select('target_packages.package_pk')
        .where('targets.release_id', '=', release),
    )
    .execute();
  const out = new Set<string>();
  for (const r of rows) {
    out.add(r.name);
    if (r.source_name !== null) out.add(r.source_name);
  }
  return [...out];
}

/** Row ids of advisories by (source, id), for writing findings. */
export async function advisoryPksOf(on: Executor, keys: readonly { source: string; id: string }[]): Promise<Map<string, number>> {
  const ex = kx(on);
  const bySource = new Map<string, Set<string>>();
  for (const k of keys) {
    let s = bySource.get(k.source);
    if (!s) bySource.set(k.source, (s = new Set()));
    s.add(k.id);
  }
  const out = new Map<string, number>();
  for (const [source, ids] of bySource)
    for (const c of chunks([...ids], 1, 5000))
      for (const r of await ex.selectFrom('advisories').select(['pk', 'advisory_id']).where('source', '=', source).where('advisory_id', 'in', c).execute())
        out.set(`${source}\u0000${r.advisory_id}`, r.pk);
  return out;
}

/**
 * The advisories of `source` that one sync added, changed, withdrew or restored (their events
 * carry the sync's time `at`): what a re-scan after the sync must look at, and nothing else.
 */
export async function advisoriesChangedAt(on: Executor, source: string, at: string): Promise<{ pk: number; source: string; id: string }[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('advisory_events')
    .innerJoin('advisories', 'advisories.pk', 'advisory_events.advisory_pk')
    .select(['advisories.pk', 'advisories.source', 'advisories.advisory_id'])
    .distinct()
    .where('advisories.source', '=', source)
    .where('advisory_events.at', '=', at)
    .execute();
  return rows.map((r) => ({ pk: r.pk, source: r.source, id: r.advisory_id }));
}

/** The targets with a finding (any status) on one of these advisories. */
export async function targetsWithFindingsOn(on: Executor, advisoryPks: readonly number[]): Promise<string[]> {
  const ex = kx(on);
  const out = new Set<string>();
  for (const c of chunks([...new Set(advisoryPks)], 1, 5000))
    for (const r of await ex.selectFrom('findings').select('target_id').distinct().where('advisory_pk', 'in', c).execute()) out.add(r.target_id);
  return [...out];
}

/** Binary package names of the findings of these targets on these advisories. */
export async function findingPackagesOn(on: Executor, advisoryPks: readonly number[]): Promise<string[]> {
  const ex = kx(on);
  const out = new Set<string>();
  for (const c of chunks([...new Set(advisoryPks)], 1, 5000))
    for (const r of await ex.selectFrom('findings').select('package').distinct().where('advisory_pk', 'in', c).execute()) out.add(r.package);
  return [...out];
}

/** How many of a target's findings are not closed (open, no-fix, mitigated, accepted). */
export async function countActiveFindings(on: Executor, targetId: string): Promise<number> {
  const st = directStatement(on, `select count(*) as n from "findings" where "target_id" = ? and "status" in ('open', 'no-fix', 'mitigated', 'accepted')`);
  if (st !== null) return (st.get(targetId) as { n: number }).n;
  const ex = kx(on);
  const r = await ex
    .selectFrom('findings')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('target_id', '=', targetId)
    .where('status', 'in', ['open', 'no-fix', 'mitigated', 'accepted'])
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** The releases of the targets with an inventory (null: targets without one), with how many targets each. */
export async function inventoryReleases(on: Executor): Promise<{ release: string | null; targets: number }[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('targets')
    .select(['release_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('inventory_at', 'is not', null)
    .groupBy('release_id')
    .execute();
  return rows.map((r) => ({ release: r.release_id, targets: Number(r.n) }));
}

/** The targets with an inventory in `release` (null: without a release), by name. */
export async function scanTargetsInRelease(on: Executor, release: string | null): Promise<ScanTargetRow[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('targets')
    .select(targetColumns)
    .where('inventory_at', 'is not', null)
    .where('release_id', release === null ? 'is' : '=', release)
    .orderBy('name')
    .execute();
  return rows.map(toScanTarget);
}
