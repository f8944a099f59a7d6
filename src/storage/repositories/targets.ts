import { randomUUID } from 'node:crypto';
import { BulwarkError } from '../../core/errors.js';
import type { InstalledPackage, InventorySnapshot, LivePatch, Target, TargetKind, TargetStreams } from '../../core/target.js';
import { chunks, rowChunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import type { Selectable } from 'kysely';
import type { TargetsTable } from '../schema.js';
import { jsonList, livePatchList, toInstalled } from './builds.js';
import { forgetSourceClaims } from './source-names.js';
import { BUCKETS, bucketOfName, digestOf, heldDigestText, validHeldDigest } from './held-digest.js';

export interface TargetInput {
  name: string;
  kind: TargetKind;
  platform?: string | null;
  release?: string | null;
  arch?: string | null;
  address?: string | null;
  tags?: string[];
}

export interface StoredTarget extends Target {
  inventoryAt: string | null;
  runningKernel: string | null;
  rebootRequired: boolean | null;
  /** The image build (`<image>@<build>`) the host was made from, as it says. */
  image: string | null;
  /** Its enabled module streams and subscription channels, as its last inventory said (null: not collected). */
  streams: TargetStreams;
  /** Its running kernel's live patches, as its last inventory said (null: not collected). */
  livePatches: LivePatch[] | null;
}

function toTarget(r: Selectable<TargetsTable>): StoredTarget {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind as TargetKind,
    platform: r.platform,
    release: r.release_id,
    arch: r.arch,
    address: r.address,
    tags: JSON.parse(r.tags) as string[],
    createdAt: r.created_at,
    inventoryAt: r.inventory_at,
    runningKernel: r.running_kernel,
    rebootRequired: r.reboot_required === null ? null : r.reboot_required === 1,
    image: r.image ?? null,
    streams: { modules: jsonList(r.module_streams), channels: jsonList(r.channels) },
    livePatches: livePatchList(r.live_patches),
  };
}

/** Records which image build a target says it was made from (null: none). */
export async function setTargetImage(on: Executor, targetId: string, image: string | null): Promise<void> {
  const ex = kx(on);
  await ex.updateTable('targets').set({ image }).where('id', '=', targetId).execute();
}

/** What an agent's report says of its host beyond its inventory: one write (the inventory is saveInventory's). */
export async function setReportedHost(on: Executor, targetId: string, r: { arch: string | null; address: string; image: string | null }): Promise<void> {
  await kx(on).updateTable('targets').set({ kind: 'host', arch: r.arch, address: r.address, image: r.image }).where('id', '=', targetId).execute();
}

/** Sets a target's tags (by id or name); null when there is no such target. */
export async function setTargetTags(on: Executor, idOrName: string, tags: readonly string[]): Promise<StoredTarget | null> {
  const ex = kx(on);
  await ex
    .updateTable('targets')
    .set({ tags: JSON.stringify(tags) })
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .execute();
  return getTarget(on, idOrName);
}

/**
 * Creates the target named `input.name`, or updates the fields given. Names are unique.
 * @example await upsertTarget(tx, { name: 'web-01', kind: 'host', release: 'azurelinux:3.0' }, now)
 */
export async function upsertTarget(on: Executor, input: TargetInput, now: string): Promise<StoredTarget> {
  const ex = kx(on);
  const old = await ex.selectFrom('targets').selectAll().where('name', '=', input.name).executeTakeFirst();
  const set = {
    kind: input.kind,
    ...(input.platform !== undefined ? { platform: input.platform } : {}),
    ...(input.release !== undefined ? { release_id: input.release } : {}),
    ...(input.arch !== undefined ? { arch: input.arch } : {}),
    ...(input.address !== undefined ? { address: input.address } : {}),
    ...(input.tags !== undefined ? { tags: JSON.stringify(input.tags) } : {}),
  };
  if (old) {
    await ex.updateTable('targets').set(set).where('id', '=', old.id).execute();
  } else {
    await ex
      .insertInto('targets')
      .values({
        id: randomUUID(),
        name: input.name,
        kind: input.kind,
        platform: input.platform ?? null,
        release_id: input.release ?? null,
        arch: input.arch ?? null,
        address: input.address ?? null,
        tags: JSON.stringify(input.tags ?? []),
        created_at: now,
        inventory_at: null,
        running_kernel: null,
        reboot_required: null,
      })
      .execute();
  }
  const row = await ex.selectFrom('targets').selectAll().where('name', '=', input.name).executeTakeFirstOrThrow();
  return toTarget(row);
}

/** A target by id or by name. */
export async function getTarget(on: Executor, idOrName: string): Promise<StoredTarget | null> {
  const ex = kx(on);
  const row = await ex
    .selectFrom('targets')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
    .executeTakeFirst();
  return row ? toTarget(row) : null;
}

export async function listTargets(on: Executor): Promise<StoredTarget[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('targets').selectAll().orderBy('name').execute();
  return rows.map(toTarget);
}

/** The dedup key of an installed package: equal keys are the same package build. */
export function packageKey(p: InstalledPackage): string {
  // The same text as [family, name, epoch, …].join('\u001f') (null as ''), without the array: a
  // key is made for every package of every report.
  const e = String(p.epoch ?? '');
  const key = `${p.family}\u001f${p.name}\u001f${e}\u001f${p.version}\u001f${p.release ?? ''}\u001f${p.arch}\u001f${p.sourceName ?? ''}\u001f${p.sourceVersion ?? ''}`;
  // A source name Bulwark resolved or assumed is another row than the same name given, so a
  // finding can say which; given names keep the key they always had.
  return p.sourceOrigin === undefined || p.sourceOrigin === 'given' ? key : `${key}\u001f${p.sourceOrigin}`;
}

/** A `packages` row of a build, under its packageKey. */
export function packageRow(key: string, p: InstalledPackage) {
  return {
    key,
    family: p.family,
    name: p.name,
    epoch: p.epoch,
    version: p.version,
    release: p.release,
    arch: p.arch,
    source_name: p.sourceName,
    source_version: p.sourceVersion,
    source_origin: p.sourceOrigin === undefined || p.sourceOrigin === 'given' ? null : p.sourceOrigin,
  };
}

/** What saveInventory stored. */
export interface SavedInventory {
  packages: number;
  /** Builds no target had before. */
  newPackages: number;
  /** Binary names whose builds the target gained or lost: what must be matched again. */
  changedNames: string[];
  /** The target's release and running kernel before the save. */
  before: { release: string | null; runningKernel: string | null };
  /** Its live patches changed (any of its kernel findings may be mitigated, or no longer): match it whole. */
  livePatchesChanged?: boolean;
  /** The digest of what it holds now (held-digest.ts), when asked for or used and the names have buckets. */
  digest?: string[];
}

/**
 * Replaces a target's inventory with `snapshot`. Package rows are shared between targets
 * (one row per distinct package build), so a fleet of identical hosts stores each package once;
 * the target's links change only where its builds did (a report that changed three packages
 * writes six links, not six hundred). Call inside a transaction.
 */
export async function saveInventory(on: Executor, snapshot: InventorySnapshot, o: { digest?: boolean } = {}): Promise<SavedInventory> {
  const ex = kx(on);
  const target = await ex
    .selectFrom('targets')
    .select(['id', 'release_id', 'running_kernel', 'live_patches', 'held_digest', 'inventory_sha256'])
    .where('id', '=', snapshot.targetId)
    .executeTakeFirst();
  const livePatches = snapshot.livePatches === null || snapshot.livePatches === undefined ? null : JSON.stringify(snapshot.livePatches);
  if (!target) throw new BulwarkError('storage.not-found', `no target with id ${snapshot.targetId}`, { targetId: snapshot.targetId });
  const byKey = new Map<string, InstalledPackage>();
  for (const p of snapshot.packages) byKey.set(packageKey(p), p);
  const all = [...byKey.keys()];
  const names = [...byKey.values()].map((p) => p.name);
  // What the target holds, in digest (held-digest.ts): the buckets of names whose builds are as
  // held are left out; only the held builds of the other buckets are read and compared.
  const known = validHeldDigest(target.held_digest, target.inventory_sha256);
  const digested = known !== null || o.digest === true ? digestOf(all, names) : null;
  const digest = digested?.digest ?? null;
  const changedBuckets = known !== null && digested !== null ? digested.digest.flatMap((d, i) => (d === known[i] ? [] : [i])) : null;
  const changed = new Uint8Array(BUCKETS);
  for (const i of changedBuckets ?? []) changed[i] = 1;
  const keys = changedBuckets === null || digested === null ? all : all.filter((_, j) => changed[digested.buckets[j] as number] === 1);
  // The builds the target holds now, with their keys: most of a new inventory is among them.
  const held =
    changedBuckets?.length === 0
      ? []
      : await ex
          .selectFrom('target_packages')
          .innerJoin('packages', 'packages.pk', 'target_packages.package_pk')
          .select(['packages.pk', 'packages.key', 'packages.name'])
          .where('target_packages.target_id', '=', snapshot.targetId)
          .$if(changedBuckets !== null, (q) => q.where(bucketOfName(on), 'in', changedBuckets ?? []))
          .execute();
  const pks = new Map<string, number>();
  for (const r of held) if (byKey.has(r.key)) pks.set(r.key, r.pk);
  const lookup = keys.filter((k) => !pks.has(k));
  for (const c of chunks(lookup, 1, 5000)) {
    const rows = await ex.selectFrom('packages').select(['pk', 'key']).where('key', 'in', c).execute();
    for (const r of rows) pks.set(r.key, r.pk);
  }
  const missing = keys.filter((k) => !pks.has(k));
  // The rows first, then batches by the columns they have, not by a hand-kept count (one such
  // count went stale in advisory-rows.ts when a column was added).
  const fresh = missing.map((k) => packageRow(k, byKey.get(k) as InstalledPackage));
  for (const c of rowChunks(fresh)) {
    const rows = await ex
      .insertInto('packages')
      .values(c)
      // Another writer may have added the same package meanwhile; its row is as good as ours.
      .onConflict((oc) => oc.column('key').doNothing())
      .returning(['pk', 'key'])
      .execute();
    for (const r of rows) pks.set(r.key, r.pk);
  }
  const stillMissing = keys.filter((k) => !pks.has(k));
  for (const c of chunks(stillMissing, 1, 5000)) {
    const rows = await ex.selectFrom('packages').select(['pk', 'key']).where('key', 'in', c).execute();
    for (const r of rows) pks.set(r.key, r.pk);
  }
  const now = new Set(keys.map((k) => pks.get(k) as number));
  const before = new Set(held.map((r) => r.pk));
  const gone = held.filter((r) => !now.has(r.pk));
  const added = keys.filter((k) => !before.has(pks.get(k) as number));
  for (const c of chunks(
    gone.map((r) => r.pk),
    1,
    5000,
  ))
    await ex.deleteFrom('target_packages').where('target_id', '=', snapshot.targetId).where('package_pk', 'in', c).execute();
  const links = added.map((k) => ({ target_id: snapshot.targetId, package_pk: pks.get(k) as number }));
  for (const c of chunks(links, 2)) await ex.insertInto('target_packages').values(c).execute();
  await ex
    .updateTable('targets')
    .set({
      inventory_at: snapshot.collectedAt,
      // Whoever stored this inventory did not fingerprint it (agents set theirs afterwards).
      inventory_sha256: null,
      held_digest: null,
      running_kernel: snapshot.runningKernel,
      reboot_required: snapshot.rebootRequired === null ? null : snapshot.rebootRequired ? 1 : 0,
      module_streams: snapshot.streams?.modules === null || snapshot.streams === undefined ? null : JSON.stringify(snapshot.streams.modules),
      channels: snapshot.streams?.channels === null || snapshot.streams === undefined ? null : JSON.stringify(snapshot.streams.channels),
      live_patches: livePatches,
      ...(snapshot.release !== null ? { release_id: snapshot.release } : {}),
      ...(snapshot.arch !== null ? { arch: snapshot.arch } : {}),
    })
    .where('id', '=', snapshot.targetId)
    .execute();
  const changedNames = new Set<string>([...gone.map((r) => r.name), ...added.map((k) => (byKey.get(k) as InstalledPackage).name)]);
  return {
    packages: all.length,
    ...(digest !== null ? { digest } : {}),
    newPackages: missing.length,
    changedNames: [...changedNames],
    before: { release: target.release_id, runningKernel: target.running_kernel },
    ...((target.live_patches ?? null) !== livePatches ? { livePatchesChanged: true } : {}),
  };
}

/** The packages of a target's latest inventory, sorted by name and arch. */
export async function loadInventory(on: Executor, targetId: string): Promise<InstalledPackage[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('packages')
    .innerJoin('target_packages', 'target_packages.package_pk', 'packages.pk')
    .selectAll('packages')
    .where('target_packages.target_id', '=', targetId)
    .orderBy('packages.name')
    .orderBy('packages.arch')
    .orderBy('packages.pk')
    .execute();
  return rows.map(toInstalled);
}

/** Which of `ids` have a stored inventory (a package or more). */
export async function targetsWithInventory(on: Executor, ids: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const c of chunks([...new Set(ids)], 1, 5000))
    for (const r of await kx(on).selectFrom('target_packages').select('target_id').distinct().where('target_id', 'in', c).execute()) out.add(r.target_id);
  return out;
}

/** How many distinct package builds are stored (for dedup checks and reports). */
export async function countPackages(on: Executor): Promise<number> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('packages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return r.n;
}

/**
 * Deletes a target with its inventory links and findings (the package rows stay: other targets
 * share them). Returns whether it existed.
 */
export async function removeTarget(on: Executor, idOrName: string): Promise<boolean> {
  const ex = kx(on);
  const t = await getTarget(ex, idOrName);
  if (t === null) return false;
  await ex.deleteFrom('findings').where('target_id', '=', t.id).execute();
  await forgetSourceClaims(ex, t.id);
  await ex.deleteFrom('target_packages').where('target_id', '=', t.id).execute();
  await ex.deleteFrom('targets').where('id', '=', t.id).execute();
  return true;
}

/** The fingerprint of a target's last reported inventory, when it was reported, its held digest (held-digest.ts) and release. */
export async function inventoryFingerprint(
  on: Executor,
  targetId: string,
): Promise<{ sha256: string | null; at: string | null; heldDigest: string | null; release: string | null } | null> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('targets')
    .select(['inventory_sha256', 'inventory_at', 'held_digest', 'release_id'])
    .where('id', '=', targetId)
    .executeTakeFirst();
  return r === undefined ? null : { sha256: r.inventory_sha256, at: r.inventory_at, heldDigest: r.held_digest, release: r.release_id };
}

/** Records an inventory report: its fingerprint (null: unknown) and time, and the digest of what the target holds after it (held-digest.ts). */
export async function setInventoryFingerprint(
  on: Executor,
  targetId: string,
  sha256: string | null,
  at: string,
  digest: readonly string[] | null = null,
): Promise<void> {
  const ex = kx(on);
  const held_digest = sha256 === null || digest === null ? null : heldDigestText(sha256, digest);
  await ex.updateTable('targets').set({ inventory_sha256: sha256, inventory_at: at, held_digest }).where('id', '=', targetId).execute();
}
