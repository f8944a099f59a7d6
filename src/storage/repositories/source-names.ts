import type { InstalledPackage } from '../../core/target.js';
import { chunks, rowChunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';

/**
 * What Bulwark knows of source package names beyond the inventory in hand (issue #13): the
 * names earlier inventories of a release carried, and what snapshotted repositories say each
 * exact build was built from.
 */

/**
 * Remembers the source names `packages` carried themselves (rpm -qa's SOURCERPM, a purl's
 * `upstream`) for `release`, as claims of `targetId`; resolved or assumed names teach nothing.
 * A target's later report replaces its own claims, never another target's.
 */
export async function learnSourceNames(on: Executor, release: string, targetId: string, packages: readonly InstalledPackage[], now: string): Promise<void> {
  await learnSourceNamesOfMany(on, release, [{ targetId, packages }], now);
}

/**
 * learnSourceNames for many targets of a release at once (issue #14). Each target's claims are
 * one row (source_claim_sets), and how many targets claim each fact one row per fact
 * (source_claim_counts), so what is written grows with what changed, not with host x binary: a
 * report that claims what its host claimed before writes nothing. Call inside a transaction that
 * has written the targets' rows (on PostgreSQL that row lock keeps two reports of one target
 * from counting the same change twice).
 */
export async function learnSourceNamesOfMany(
  on: Executor,
  release: string,
  inventories: readonly { targetId: string; packages: readonly InstalledPackage[] }[],
  now: string,
): Promise<void> {
  // A target listed twice: its pairs add up in order, the later winning, as two reports would.
  const given = new Map<string, Map<string, string>>();
  for (const i of inventories) {
    let pairs = given.get(i.targetId);
    for (const p of i.packages)
      if (p.family === 'rpm' && p.sourceName !== null && (p.sourceOrigin === undefined || p.sourceOrigin === 'given')) {
        if (pairs === undefined) given.set(i.targetId, (pairs = new Map<string, string>()));
        pairs.set(p.name, p.sourceName);
      }
  }
  if (given.size === 0) return;
  const ex = kx(on);
  const held = new Map<string, string>();
  for (const c of chunks([...given.keys()], 1, 5000))
    for (const r of await ex
      .selectFrom('source_claim_sets')
      .select(['target_id', 'claims'])
      .where('release_id', '=', release)
      .where('target_id', 'in', c)
      .execute())
      held.set(r.target_id, r.claims);
  const delta: ClaimDelta = new Map();
  const fragments: Fragments = new Map();
  const sets: { target_id: string; release_id: string; claims: string; learned_at: string }[] = [];
  for (const [targetId, pairs] of given) {
    const text = claimsText(pairs, fragments);
    const before = held.get(targetId);
    // Most reports claim what their host claimed last time, in the same order: nothing to do.
    if (before === text) continue;
    if (before === undefined) {
      for (const [name, source] of pairs) bump(delta, name, source, 1);
      sets.push({ target_id: targetId, release_id: release, claims: text, learned_at: now });
      continue;
    }
    const claims = new Map(Object.entries(JSON.parse(before) as Record<string, string>));
    let changed = false;
    for (const [name, source] of pairs) {
      const was = claims.get(name);
      if (was === source) continue;
      if (was !== undefined) bump(delta, name, was, -1);
      bump(delta, name, source, 1);
      claims.set(name, source);
      changed = true;
    }
    if (changed) sets.push({ target_id: targetId, release_id: release, claims: claimsText(claims, fragments), learned_at: now });
  }
  for (const c of rowChunks(sets))
    await ex
      .insertInto('source_claim_sets')
      .values(c)
      .onConflict((oc) =>
        oc.columns(['target_id', 'release_id']).doUpdateSet((eb) => ({ claims: eb.ref('excluded.claims'), learned_at: eb.ref('excluded.learned_at') })),
      )
      .execute();
  await addClaimCounts(ex, release, delta, now);
}

/** Each pair's text in a claim set (`"name":"source"`), by name then source: the hosts of a batch claim mostly the same pairs. */
type Fragments = Map<string, Map<string, string>>;

/** A claim set as stored: a JSON object binary → source, in the order given (built by hand: JSON.stringify of a 600-key object is three times slower). */
function claimsText(pairs: ReadonlyMap<string, string>, fragments: Fragments): string {
  const parts: string[] = [];
  for (const [name, source] of pairs) {
    let bySource = fragments.get(name);
    if (bySource === undefined) fragments.set(name, (bySource = new Map<string, string>()));
    let f = bySource.get(source);
    if (f === undefined) bySource.set(source, (f = `${JSON.stringify(name)}:${JSON.stringify(source)}`));
    parts.push(f);
  }
  return `{${parts.join(',')}}`;
}

/** Per binary name, per source: how many targets more (or fewer) claim it. */
type ClaimDelta = Map<string, Map<string, number>>;

function bump(delta: ClaimDelta, name: string, source: string, by: number): void {
  let m = delta.get(name);
  if (m === undefined) delta.set(name, (m = new Map<string, number>()));
  m.set(source, (m.get(source) ?? 0) + by);
}

/** Adds `delta` to the counts of `release`; a fact no target claims any more goes. */
async function addClaimCounts(on: Executor, release: string, delta: ClaimDelta, now: string): Promise<void> {
  const ex = kx(on);
  const rows: { release_id: string; name: string; source_name: string; targets: number; learned_at: string }[] = [];
  for (const [name, m] of delta)
    for (const [source_name, n] of m) if (n !== 0) rows.push({ release_id: release, name, source_name, targets: n, learned_at: now });
  // Sorted, so concurrent writers on PostgreSQL lock the rows in one order (no deadlock).
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  rows.sort((a, b) => cmp(a.name, b.name) || cmp(a.source_name, b.source_name));
  for (const c of rowChunks(rows))
    await ex
      .insertInto('source_claim_counts')
      .values(c)
      .onConflict((oc) =>
        oc
          .columns(['release_id', 'name', 'source_name'])
          .doUpdateSet((eb) => ({ targets: eb(eb.ref('source_claim_counts.targets'), '+', eb.ref('excluded.targets')) })),
      )
      .execute();
  const fell = rows.filter((r) => r.targets < 0);
  for (const c of chunks(
    fell.map((r) => r.name),
    1,
    5000,
  ))
    await ex.deleteFrom('source_claim_counts').where('release_id', '=', release).where('name', 'in', c).where('targets', '<=', 0).execute();
}

/** Withdraws every claim `targetId` made (before it is removed): the counts go down with it. */
export async function forgetSourceClaims(on: Executor, targetId: string): Promise<void> {
  const ex = kx(on);
  const sets = await ex.selectFrom('source_claim_sets').select(['release_id', 'claims']).where('target_id', '=', targetId).execute();
  for (const s of sets) {
    const delta: ClaimDelta = new Map();
    for (const [name, source] of Object.entries(JSON.parse(s.claims) as Record<string, string>)) bump(delta, name, source, -1);
    // Only decrements: a row they would create is deleted in the same call, so its time is never read.
    await addClaimCounts(ex, s.release_id, delta, new Date(0).toISOString());
  }
  await ex.deleteFrom('source_claim_sets').where('target_id', '=', targetId).execute();
}

/** What the targets of a release claim a binary is built from: each source and how many targets say it. */
export type SourceClaims = ReadonlyMap<string, number>;

/** The learned claims on `names` in `release`. */
export async function learnedSourceNames(on: Executor, release: string, names: readonly string[]): Promise<Map<string, SourceClaims>> {
  const ex = kx(on);
  const out = new Map<string, Map<string, number>>();
  for (const c of chunks([...new Set(names)], 1, 5000)) {
    const rows = await ex
      .selectFrom('source_claim_counts')
      .select(['name', 'source_name', 'targets'])
      .where('release_id', '=', release)
      .where('name', 'in', c)
      .where('targets', '>', 0)
      .execute();
    for (const r of rows) {
      const claims = out.get(r.name) ?? new Map<string, number>();
      claims.set(r.source_name, r.targets);
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
