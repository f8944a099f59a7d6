import type { InstalledPackage } from '../../core/target.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';

/**
 * What Bulwark knows of source package names beyond the inventory in hand (issue #13): the
 * names earlier inventories of a release carried, and what snapshotted repositories say each
 * exact build was built from.
 */

/**
 * Remembers the source names `packages` carried themselves (rpm -qa's SOURCERPM, a purl's
 * `upstream`) for `release`, as claims of `targetId`; resolved or assumed names teach nothing.
 * A target's later report replaces its own claims, never another target's; `learned_at` says
 * when a claim was first made or last changed.
 */
export async function learnSourceNames(on: Executor, release: string, targetId: string, packages: readonly InstalledPackage[], now: string): Promise<void> {
  const ex = kx(on);
  const pairs = new Map<string, string>();
  for (const p of packages)
    if (p.family === 'rpm' && p.sourceName !== null && (p.sourceOrigin === undefined || p.sourceOrigin === 'given')) pairs.set(p.name, p.sourceName);
  if (pairs.size === 0) return;
  // Hosts report the same pairs again and again: only what is new or changed is written.
  const known = new Map<string, string>();
  for (const c of chunks([...pairs.keys()], 1, 5000)) {
    const rows = await ex
      .selectFrom('learned_source_claims')
      .select(['name', 'source_name'])
      .where('release_id', '=', release)
      .where('target_id', '=', targetId)
      .where('name', 'in', c)
      .execute();
    for (const r of rows) known.set(r.name, r.source_name);
  }
  const rows = [...pairs]
    .filter(([name, source]) => known.get(name) !== source)
    .map(([name, source_name]) => ({ release_id: release, name, target_id: targetId, source_name, learned_at: now }));
  for (const c of chunks(rows, 5))
    await ex
      .insertInto('learned_source_claims')
      .values(c)
      .onConflict((oc) =>
        oc
          .columns(['release_id', 'name', 'target_id'])
          .doUpdateSet((eb) => ({ source_name: eb.ref('excluded.source_name'), learned_at: eb.ref('excluded.learned_at') })),
      )
      .execute();
}

/** What the targets of a release claim a binary is built from: each source and how many targets say it. */
export type SourceClaims = ReadonlyMap<string, number>;

/** The learned claims on `names` in `release`. */
export async function learnedSourceNames(on: Executor, release: string, names: readonly string[]): Promise<Map<string, SourceClaims>> {
  const ex = kx(on);
  const out = new Map<string, Map<string, number>>();
  for (const c of chunks([...new Set(names)], 1, 5000)) {
    const rows = await ex
      .selectFrom('learned_source_claims')
      .select(['name', 'source_name'])
      .where('release_id', '=', release)
      .where('name', 'in', c)
      .execute();
    for (const r of rows) {
      const claims = out.get(r.name) ?? new Map<string, number>();
      claims.set(r.source_name, (claims.get(r.source_name) ?? 0) + 1);
      out.set(r.name, claims);
    }
  }
  return out;
}

/** The key of an exact build in repoSourceNames' answer. */
export const buildKey = (p: { name: string; version: string; release: string | null }): string => `${p.name}\u0000${p.version}\u0000${p.release ?? ''}`;

/** Records what a snapshot's primary.xml says each build was built from (the latest snapshot wins). */
export async function recordRepoSourceNames(
  on: Executor,
  snapshotId: string,
  builds: readonly { name: string; version: string; release: string; sourceName: string }[],
): Promise<void> {
  const ex = kx(on);
  const rows = new Map<string, { name: string; version: string; release: string; source_name: string; snapshot_id: string }>();
  for (const b of builds) rows.set(buildKey(b), { name: b.name, version: b.version, release: b.release, source_name: b.sourceName, snapshot_id: snapshotId });
  for (const c of chunks([...rows.values()], 5))
    await ex
      .insertInto('repo_sources')
      .values(c)
      .onConflict((oc) =>
        oc
          .columns(['name', 'version', 'release'])
          .doUpdateSet((eb) => ({ source_name: eb.ref('excluded.source_name'), snapshot_id: eb.ref('excluded.snapshot_id') })),
      )
      .execute();
}

/** Source names snapshotted repositories give the builds of `names`, keyed by buildKey. */
export async function repoSourceNames(on: Executor, names: readonly string[]): Promise<Map<string, string>> {
  const ex = kx(on);
  const out = new Map<string, string>();
  for (const c of chunks([...new Set(names)], 1, 5000)) {
    const rows = await ex.selectFrom('repo_sources').select(['name', 'version', 'release', 'source_name']).where('name', 'in', c).execute();
    for (const r of rows) out.set(buildKey(r), r.source_name);
  }
  return out;
}

/**
 * The source names stored with the packages findings are about (target, package, arch), and
 * where each came from (SourceOrigin; null: given by the inventory).
 */
export async function findingPackageSources(
  on: Executor,
  rows: readonly { targetId: string; package: string; arch: string }[],
): Promise<Map<string, { sourceName: string; origin: string | null }>> {
  const ex = kx(on);
  const out = new Map<string, { sourceName: string; origin: string | null }>();
  const byTarget = new Map<string, Set<string>>();
  for (const r of rows) byTarget.set(r.targetId, (byTarget.get(r.targetId) ?? new Set()).add(r.package));
  // One query for many targets (a streamed report asks for a page's worth at once), the names
  // of all of them; a target's rows are kept for its own names only.
  for (const targets of chunks([...byTarget.keys()], 1, 500)) {
    const names = new Set<string>();
    for (const t of targets) for (const n of byTarget.get(t) ?? []) names.add(n);
    for (const c of chunks([...names], 1, 5000)) {
      const found = await ex
        .selectFrom('packages')
        .innerJoin('target_packages', 'target_packages.package_pk', 'packages.pk')
        .select(['target_packages.target_id', 'packages.name', 'packages.arch', 'packages.source_name', 'packages.source_origin'])
        .where('target_packages.target_id', 'in', targets)
        .where('packages.name', 'in', c)
        .execute();
      for (const f of found)
        if (f.source_name !== null && byTarget.get(f.target_id)?.has(f.name) === true)
          out.set(`${f.target_id}\u0000${f.name}\u0000${f.arch}`, { sourceName: f.source_name, origin: f.source_origin });
    }
  }
  return out;
}
