import { BulwarkError } from '../../core/errors.js';
import type { InstalledPackage, InventorySnapshot } from '../../core/target.js';
import { chunks, rowChunks } from '../chunk.js';
import { PostgresAdapter, sql } from 'kysely';
import { kx, type Executor } from '../database.js';
import { packageKey, packageRow } from './targets.js';

// Many inventories at once (issue #14 bulk import): the builds of a whole batch of targets are
// looked up and inserted together, and their links written in multi-row statements, instead of
// a handful of statements per target.

/**
 * Keys of frozen packages (the rpm -qa parser shares one per distinct line across hosts), made
 * once: a bulk import keys 6 M packages of 7,300 distinct builds.
 */
const KEYS = new WeakMap<InstalledPackage, string>();

function keyOf(p: InstalledPackage): string {
  let k = KEYS.get(p);
  if (k === undefined) {
    k = packageKey(p);
    if (Object.isFrozen(p)) KEYS.set(p, k);
  }
  return k;
}

/**
 * Links held back by an initial load (services/bulk-import.ts): target id → the build pks to
 * link it to, written at the end of the load by writePendingLinks, all targets in key order.
 */
export type PendingLinks = Map<string, number[]>;

/**
 * Replaces the inventories of many targets, as saveInventory does for one. Call inside a
 * transaction; returns, per target id, how many packages it has and how many builds were new.
 * With `pending`, each target's links are set there instead of written (and any it had in the
 * store are deleted), to be written by writePendingLinks.
 * @example await saveInventories(tx, snapshots)
 */
export async function saveInventories(
  on: Executor,
  snapshots: readonly InventorySnapshot[],
  pending?: PendingLinks,
): Promise<Map<string, { packages: number; newPackages: number }>> {
  const ex = kx(on);
  const out = new Map<string, { packages: number; newPackages: number }>();
  const ids = [...new Set(snapshots.map((s) => s.targetId))];
  const found = new Set<string>();
  for (const c of chunks(ids, 1, 5000)) for (const r of await ex.selectFrom('targets').select('id').where('id', 'in', c).execute()) found.add(r.id);
  const absent = ids.find((id) => !found.has(id));
  if (absent !== undefined) throw new BulwarkError('storage.not-found', `no target with id ${absent}`, { targetId: absent });
  const byKey = new Map<string, InstalledPackage>();
  const keysOf = new Map<string, string[]>();
  for (const s of snapshots) {
    const keys = new Set<string>();
    for (const p of s.packages) {
      const k = keyOf(p);
      keys.add(k);
      byKey.set(k, p);
    }
    keysOf.set(s.targetId, [...keys]);
  }
  const all = [...byKey.keys()];
  const pks = new Map<string, number>();
  for (const c of chunks(all, 1, 5000))
    for (const r of await ex.selectFrom('packages').select(['pk', 'key']).where('key', 'in', c).execute()) pks.set(r.key, r.pk);
  const missing = new Set(all.filter((k) => !pks.has(k)));
  const fresh = [...missing].map((k) => packageRow(k, byKey.get(k) as InstalledPackage));
  for (const c of rowChunks(fresh))
    for (const r of await ex
      .insertInto('packages')
      .values(c)
      .onConflict((oc) => oc.column('key').doNothing())
      .returning(['pk', 'key'])
      .execute())
      pks.set(r.key, r.pk);
  const late = all.filter((k) => !pks.has(k));
  for (const c of chunks(late, 1, 5000))
    for (const r of await ex.selectFrom('packages').select(['pk', 'key']).where('key', 'in', c).execute()) pks.set(r.key, r.pk);
  const held = new Map<string, Set<number>>();
  for (const c of chunks(ids, 1, 5000))
    for (const r of await ex.selectFrom('target_packages').select(['target_id', 'package_pk']).where('target_id', 'in', c).execute()) {
      let s = held.get(r.target_id);
      if (s === undefined) held.set(r.target_id, (s = new Set()));
      s.add(r.package_pk);
    }
  const links = new Map<string, number[]>();
  for (const s of snapshots) {
    const keys = keysOf.get(s.targetId) ?? [];
    const now = new Set(keys.map((k) => pks.get(k) as number));
    out.set(s.targetId, { packages: keys.length, newPackages: missing.size === 0 ? 0 : keys.filter((k) => missing.has(k)).length });
    if (pending !== undefined) {
      // Held back whole (the list is then all the target holds): links stored before go.
      if ((held.get(s.targetId)?.size ?? 0) > 0) await ex.deleteFrom('target_packages').where('target_id', '=', s.targetId).execute();
      held.set(s.targetId, new Set());
      pending.set(s.targetId, [...now]);
      continue;
    }
    const before = held.get(s.targetId) ?? new Set<number>();
    // A target met again later in the batch: the links not yet written for it count as held,
    // and the ones its new inventory drops are dropped from that list.
    const waiting = links.get(s.targetId);
    if (waiting !== undefined) {
      for (const pk of waiting) before.add(pk);
      links.set(
        s.targetId,
        waiting.filter((pk) => now.has(pk)),
      );
    }
    const gone = [...before].filter((pk) => !now.has(pk) && waiting?.includes(pk) !== true);
    for (const c of chunks(gone, 1, 5000)) await ex.deleteFrom('target_packages').where('target_id', '=', s.targetId).where('package_pk', 'in', c).execute();
    const fresh = [...now].filter((pk) => !before.has(pk));
    if (fresh.length > 0) links.set(s.targetId, [...(links.get(s.targetId) ?? []), ...fresh]);
    // A target listed twice in one batch: its last inventory stands.
    held.set(s.targetId, now);
  }
  await insertLinks(ex, links);
  for (const s of snapshots)
    await ex
      .updateTable('targets')
      .set({
        inventory_at: s.collectedAt,
        inventory_sha256: null,
        running_kernel: s.runningKernel,
        reboot_required: s.rebootRequired === null ? null : s.rebootRequired ? 1 : 0,
        ...(s.release !== null ? { release_id: s.release } : {}),
        ...(s.arch !== null ? { arch: s.arch } : {}),
      })
      .where('id', '=', s.targetId)
      .execute();
  return out;
}

/**
 * Writes the links saveInventories held back, every target's in key order (target, then
 * build): the link table and its primary key grow at their ends instead of taking each batch's
 * random target ids (UUIDs) all over a B-tree much larger than the page cache. Each list is
 * left sorted, as the store returns a target's links, for a scan that reads them from memory.
 * @example await writePendingLinks(tx, pending)
 */
export async function writePendingLinks(on: Executor, pending: PendingLinks): Promise<void> {
  for (const pks of pending.values()) pks.sort((a, b) => a - b);
  await insertLinks(on, pending);
}

/**
 * Inserts target → package links, many targets' at once, each statement binding ONE JSON
 * parameter `{"<target id>": [pk, …], …}` read in SQL (json_each on SQLite, json_each_text on
 * PostgreSQL): 300,000 links as multi-row VALUES spent most of a bulk import building the query.
 */
async function insertLinks(on: Executor, links: ReadonlyMap<string, readonly number[]>): Promise<void> {
  const ex = kx(on);
  const pg = ex.getExecutor().adapter instanceof PostgresAdapter;
  const BATCH = 200_000;
  let part: Record<string, readonly number[]> = {};
  let size = 0;
  const flush = async (): Promise<void> => {
    if (size === 0) return;
    const json = JSON.stringify(part);
    part = {};
    size = 0;
    await (
      pg
        ? sql`insert into target_packages (target_id, package_pk) select t.key, p.value::bigint from json_each(${json}::json) t, json_array_elements_text(t.value) p on conflict do nothing`
        : sql`insert into target_packages (target_id, package_pk) select t.key, p.value from json_each(${json}) t, json_each(t.value) p where true on conflict do nothing`
    ).execute(ex);
  };
  // In key order (target, then build): SQLite's B-trees take sorted inserts at a quarter less
  // cost than the order inventories list their packages in.
  for (const targetId of [...links.keys()].sort()) {
    const pks = [...(links.get(targetId) ?? [])].sort((a, b) => a - b);
    for (let i = 0; i < pks.length; i += BATCH) {
      const slice = pks.slice(i, i + BATCH);
      part[targetId] = slice;
      size += slice.length;
      if (size >= BATCH) await flush();
    }
  }
  await flush();
}
