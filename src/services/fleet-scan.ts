import { setImmediate } from 'node:timers/promises';
import type { Advisory } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { releaseFamily } from '../distros/registry.js';
import { BuildMatcher } from '../matching/fleet.js';
import { indexFixes, type Match } from '../matching/match.js';
import {
  advisoryPksOf,
  buildsByPk,
  buildsNamed,
  heldBuildsNamed,
  findingPackagesOn,
  linksOfBuilds,
  linksOfTargets,
  loadAdvisoriesWithPks,
  namesHeldInRelease,
  restoreIndexes,
  scanTargets,
  suspendFindingIndexes,
  targetsWithFindingsOn,
  transaction,
  upsertAdvisories,
  writeFindingSets,
  type Db,
  type FindingCounts,
  type FindingScope,
  type ResolvedFinding,
  type ScanTargetRow,
  type StoredBuild,
  type TargetFindingSet,
  type Tx,
} from '../storage/index.js';
import { advisoryKey, judgeHeld } from './fleet-judge.js';
import { rescanAdvisoriesInSql } from './fleet-scan-sql.js';
import { lifecycleFinding } from './lifecycle-finding.js';
import { expireAcceptances } from './acceptance-expiry.js';
import { SYSTEM } from './audit.js';
import { systemClock, type Clock } from './store.js';

/**
 * The one matching path of every stored scan (issue #14): a single host, `scan --all`, agent
 * reports, the re-scan after a feed sync, image builds. Per release, the distinct builds the
 * targets hold (`packages`, linked by `target_packages`) are matched once each against the
 * release's fixes (matching/fleet.ts BuildMatcher), every target gets its findings from its
 * builds' matches, and findings are written as set differences, a batch of targets per
 * transaction (storage writeFindingSets). A scope narrows the work to what changed:
 * - `packages`: only these binary names (an agent report that changed three packages);
 * - `advisoryPks`: only these advisories (what a feed sync changed): the builds their fixes
 *   name, and the targets that hold them or have findings on them, found through the index.
 */
export interface RescanScope {
  /** Target ids; absent: every target with an inventory (or, with `advisoryPks`, those the advisories touch). */
  targets?: readonly string[];
  packages?: readonly string[];
  advisoryPks?: readonly number[];
}

export interface RescanOptions {
  clock?: Clock;
  /** Targets per transaction (default 500). */
  batch?: number;
  /** Keep each match's installed package source, per target (a one-host scan prints them). */
  sources?: boolean;
  /**
   * A sync's scope (`advisoryPks` alone) on PostgreSQL is written as set operations in SQL
   * (fleet-scan-sql.ts) unless this is false: the per-target path, which the tests compare it with.
   */
  inSql?: boolean;
  /**
   * The build pks each target holds, when the caller has them in memory (an initial bulk load
   * has just written them, each list in ascending order): read from here instead of the store.
   * A batch with a target missing from it reads the store.
   */
  links?: ReadonlyMap<string, readonly number[]>;
  /**
   * The one target of `targets`, as scanTargets reads it, when the caller has it; with `held`,
   * every build of the scope's `packages` it holds (what heldBuildsNamed and linksOfTargets read).
   */
  known?: { target: ScanTargetRow; held?: readonly StoredBuild[] | undefined };
}

export interface RescanResult {
  /** The targets matched, by name (not listed by a sync's re-scan in SQL: see `looked`). */
  targets: ScanTargetRow[];
  /** How many targets were looked at. */
  looked: number;
  counts: Map<string, FindingCounts>;
  failures: { target: string; error: string }[];
  /** Distinct builds matched (each once). */
  distinctMatched: number;
  /** With `sources`: per target id, each match's package source by packageSourceKey. */
  sources: Map<string, Map<string, Match['packageSource']>>;
}

/** The key of a finding in a scan's package sources. */
export function packageSourceKey(f: { advisorySource: string; advisoryId: string; package: string; arch: string }): string {
  return [f.advisorySource, f.advisoryId, f.package, f.arch].join('\u0000');
}

interface ReleaseWork {
  release: string;
  targets: ScanTargetRow[];
  /** Only links to these builds are read (a narrowed scope); undefined: every build. */
  buildPks: number[] | undefined;
  advisories: { pk: number; advisory: Advisory }[];
  writeScope: FindingScope;
  full: boolean;
  /** The build pks the one target holds within the scope, when known (not read from its links). */
  held?: readonly number[];
}

/**
 * Matches targets (all, or a scope) through the fleet index and records their findings.
 * @example await rescan(db, {}) // every target
 * @example await rescan(db, { targets: [id], packages: ['openssl', 'curl'] })
 */
export async function rescan(db: Db | Tx, scope: RescanScope = {}, o: RescanOptions = {}): Promise<RescanResult> {
  const clock = o.clock ?? systemClock;
  const now = clock();
  const result: RescanResult = { targets: [], looked: 0, counts: new Map(), failures: [], distinctMatched: 0, sources: new Map() };
  if (scope.packages?.length === 0 || scope.advisoryPks?.length === 0 || scope.targets?.length === 0) return result;
  // Acceptances that expired by now end first (audited), so the findings written below are open again.
  await expireAcceptances(db, now.toISOString(), SYSTEM);
  if (
    'close' in db && // a Db, not a caller's transaction: the SQL path pins connections of its own
    db.dialect === 'postgres' &&
    o.inSql !== false &&
    o.sources !== true &&
    scope.advisoryPks !== undefined &&
    scope.targets === undefined &&
    scope.packages === undefined
  ) {
    const r = await rescanAdvisoriesInSql(db, scope.advisoryPks, now, o.batch);
    return { ...result, ...r };
  }
  await scanIn(db, scope, o, now, result);
  return result;
}

/**
 * rescan with every batch in the caller's transaction (a bulk import's initial load), without
 * ending expired acceptances first (the caller does, before its transaction). On SQLite, when
 * the targets getting their first findings are at least as many as those with findings, the
 * findings table's secondary indexes are dropped and built again before it commits.
 * @example await rescanWithin(tx, { targets: ids })
 */
export async function rescanWithin(tx: Tx, scope: RescanScope, o: RescanOptions = {}): Promise<RescanResult> {
  const result: RescanResult = { targets: [], looked: 0, counts: new Map(), failures: [], distinctMatched: 0, sources: new Map() };
  if (scope.packages?.length === 0 || scope.advisoryPks?.length === 0 || scope.targets?.length === 0) return result;
  const suspended = await suspendFindingIndexes(tx, scope.targets ?? (await scanTargets(tx)).map((t) => t.id));
  await scanIn(tx, scope, o, (o.clock ?? systemClock)(), result);
  await restoreIndexes(tx, suspended);
  return result;
}

async function scanIn(db: Db | Tx, scope: RescanScope, o: RescanOptions, now: Date, result: RescanResult): Promise<void> {
  // A sync's scope: the targets come from the index (holders of the named builds, and targets
  // with findings on the advisories), not from a list.
  let extraTargets: string[] = [];
  if (scope.advisoryPks !== undefined && scope.targets === undefined) extraTargets = await targetsWithFindingsOn(db, scope.advisoryPks);
  const all = scope.targets === undefined && scope.advisoryPks === undefined ? await scanTargets(db) : null;
  const byRelease = new Map<string, ScanTargetRow[]>();
  const known = o.known?.target;
  const releasesOf = async (): Promise<ScanTargetRow[]> => {
    if (all !== null) return all;
    if (scope.targets !== undefined)
      return scope.targets.length === 1 && known?.id === scope.targets[0] && known !== undefined ? [known] : scanTargets(db, scope.targets);
    // Every target of a release some changed advisory names is a candidate: narrowed below.
    return (await scanTargets(db)).filter((t) => t.inventoryAt !== null);
  };
  for (const t of await releasesOf()) {
    if (t.release === null) {
      result.failures.push({ target: t.name, error: `target "${t.name}" has no release; import its inventory with --release first` });
      continue;
    }
    if (releaseFamily(t.release) === null) {
      result.failures.push({ target: t.name, error: `target "${t.name}": unknown release "${t.release}"` });
      continue;
    }
    byRelease.set(t.release, [...(byRelease.get(t.release) ?? []), t]);
  }
  const builds = new Map<number, InstalledPackage>();
  for (const [release, targets] of byRelease) {
    const held = o.known?.held !== undefined && targets.length === 1 && targets[0]?.id === o.known.target.id ? o.known.held : undefined;
    const work = await plan(db, release, targets, scope, extraTargets, builds, held);
    if (work === null) continue;
    await runRelease(db, work, builds, now, o, result);
  }
  result.targets.sort((a, b) => a.name.localeCompare(b.name));
  result.looked = result.targets.length;
}

/** What to read and match for one release. */
async function plan(
  db: Db | Tx,
  release: string,
  targets: ScanTargetRow[],
  scope: RescanScope,
  extraTargets: readonly string[],
  builds: Map<number, InstalledPackage>,
  held: readonly StoredBuild[] | undefined,
): Promise<ReleaseWork | null> {
  const remember = (bs: readonly { pk: number; pkg: InstalledPackage }[]): number[] => {
    for (const b of bs) builds.set(b.pk, b.pkg);
    return bs.map((b) => b.pk);
  };
  if (scope.advisoryPks !== undefined) {
    const advisories = await loadAdvisoriesWithPks(db, { release, pks: scope.advisoryPks });
    // The builds the changed advisories name (by binary or source name), every build of the same
    // binary names (the kernel rule and duplicates are judged by name), and the packages of
    // findings already on those advisories (a change may drop a package from one).
    const fixNames = new Set<string>();
    for (const a of advisories) for (const f of a.advisory.fixes) if (f.release === release) fixNames.add(f.package);
    const named = await buildsNamed(db, [...fixNames], { bySource: true });
    const names = new Set(named.map((b) => b.pkg.name));
    for (const n of await findingPackagesOn(db, scope.advisoryPks)) names.add(n);
    const pks = remember(await buildsNamed(db, [...names]));
    const inRelease = new Map(targets.map((t) => [t.id, t]));
    const chosen = new Set<string>(extraTargets.filter((id) => inRelease.has(id)));
    const candidates = new Set(named.map((b) => b.pk));
    if (scope.targets === undefined) {
      for (const l of await linksOfBuilds(db, [...candidates])) if (inRelease.has(l.target_id)) chosen.add(l.target_id);
    } else for (const t of targets) chosen.add(t.id);
    const picked = targets.filter((t) => chosen.has(t.id));
    if (picked.length === 0) return null;
    return { release, targets: picked, buildPks: pks, advisories, writeScope: { advisoryPks: scope.advisoryPks }, full: false };
  }
  if (scope.packages !== undefined) {
    // A few targets (an agent's report): only the builds of those names they hold; judging
    // needs no other, and the names' findings on builds they no longer hold close all the same.
    const named =
      held !== undefined
        ? held
        : scope.targets !== undefined && targets.length <= 50
          ? await heldBuildsNamed(
              db,
              targets.map((t) => t.id),
              scope.packages,
            )
          : await buildsNamed(db, scope.packages);
    const pks = remember(named);
    const names = new Set(scope.packages);
    for (const b of named) if (b.pkg.sourceName !== null) names.add(b.pkg.sourceName);
    const advisories = await loadAdvisoriesWithPks(db, { release, packages: [...names] });
    return { release, targets, buildPks: pks, advisories, writeScope: { packages: scope.packages }, full: false, ...(held === undefined ? {} : { held: pks }) };
  }
  // A whole scan: the advisories naming what the targets hold (a few targets: read their
  // links; many: every name held in the release, in one statement).
  let names: string[];
  if (targets.length <= 50) {
    const links = await linksOfTargets(
      db,
      targets.map((t) => t.id),
    );
    remember(
      await buildsByPk(
        db,
        [...new Set(links.map((l) => l.package_pk))].filter((pk) => !builds.has(pk)),
      ),
    );
    const held = new Set<string>();
    for (const l of links) {
      const p = builds.get(l.package_pk);
      if (p === undefined) continue;
      held.add(p.name);
      if (p.sourceName !== null) held.add(p.sourceName);
    }
    names = [...held];
  } else names = await namesHeldInRelease(db, release);
  const advisories = names.length === 0 ? [] : await loadAdvisoriesWithPks(db, { release, packages: names });
  return { release, targets, buildPks: undefined, advisories, writeScope: {}, full: true };
}

async function runRelease(
  db: Db | Tx,
  w: ReleaseWork,
  builds: Map<number, InstalledPackage>,
  now: Date,
  o: RescanOptions,
  result: RescanResult,
): Promise<void> {
  const family = releaseFamily(w.release);
  if (family === null) return;
  const at = now.toISOString();
  const pkOf = new Map(w.advisories.map((a) => [advisoryKey(a.advisory.source, a.advisory.id), a.pk]));
  // A release past its end of security support is itself a finding (issue #4), in a whole scan.
  let eol: ResolvedFinding | null = null;
  const life = w.full ? lifecycleFinding(w.release, now) : null;
  if (life !== null) {
    await upsertAdvisories(db, [life.advisory], at);
    const pk = (await advisoryPksOf(db, [{ source: life.advisory.source, id: life.advisory.id }])).get(advisoryKey(life.advisory.source, life.advisory.id));
    if (pk !== undefined) eol = { ...life.finding, advisoryPk: pk };
  }
  const matcher = new BuildMatcher(
    indexFixes(
      w.advisories.map((a) => a.advisory),
      w.release,
      family,
    ),
  );
  const size = Math.max(1, o.batch ?? 500);
  for (let i = 0; i < w.targets.length; i += size) {
    const batch = w.targets.slice(i, i + size);
    // Each batch in a transaction of its own, or in the caller's when `db` is one.
    const counts = await transaction(db, async (tx) => {
      const pksOf =
        w.held !== undefined && batch.length === 1
          ? new Map([[(batch[0] as ScanTargetRow).id, [...w.held].sort((a, b) => a - b)]])
          : await heldPks(tx, batch, w.buildPks, o.links);
      const missing = new Set<number>();
      for (const pks of pksOf.values()) for (const pk of pks) if (!builds.has(pk)) missing.add(pk);
      for (const b of await buildsByPk(tx, [...missing])) builds.set(b.pk, b.pkg);
      const held = new Map<string, { key: number; pkg: InstalledPackage }[]>();
      for (const [id, pks] of pksOf) {
        const list: { key: number; pkg: InstalledPackage }[] = [];
        for (const pk of pks) {
          const pkg = builds.get(pk);
          if (pkg !== undefined) list.push({ key: pk, pkg });
        }
        if (list.length > 0) held.set(id, list);
      }
      const sets: TargetFindingSet[] = batch.map((t) => {
        const j = judgeHeld(matcher, held.get(t.id) ?? [], t, pkOf, eol, w.full ? w.release : null);
        if (o.sources === true) result.sources.set(t.id, new Map(j.matches.map((m) => [packageSourceKey(m), m.packageSource])));
        // Its builds read only when a stored finding is no longer found (writeFindingSets).
        return {
          targetId: t.id,
          current: j.current,
          get builds() {
            return j.present;
          },
        };
      });
      return writeFindingSets(tx, sets, w.writeScope, at);
    });
    for (const [id, c] of counts) result.counts.set(id, c);
    result.targets.push(...batch);
    // Statements on SQLite never yield on their own: let waiting requests in between batches
    // (not for one target, an agent's report: its transaction is not held open for them).
    if (w.targets.length > 1) await setImmediate();
  }
  result.distinctMatched += matcher.matched;
}

/** The build pks each target of a batch holds: from the caller's lists when it has them all. */
async function heldPks(
  tx: Tx,
  batch: readonly ScanTargetRow[],
  buildPks: readonly number[] | undefined,
  known: ReadonlyMap<string, readonly number[]> | undefined,
): Promise<Map<string, readonly number[]>> {
  const out = new Map<string, number[]>();
  if (known !== undefined && buildPks === undefined && batch.every((t) => known.has(t.id))) {
    for (const t of batch) out.set(t.id, known.get(t.id) as number[]);
    return out;
  }
  const links = await linksOfTargets(
    tx,
    batch.map((t) => t.id),
    buildPks,
  );
  for (const l of links) {
    let list = out.get(l.target_id);
    if (list === undefined) out.set(l.target_id, (list = []));
    list.push(l.package_pk);
  }
  return out;
}
