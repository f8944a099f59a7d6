import { PostgresAdapter } from 'kysely';
import { BulwarkError } from '../../core/errors.js';
import type { InstalledPackage, TargetStreams } from '../../core/target.js';
import { chunks, rowChunks } from '../chunk.js';
import type { Statement } from 'better-sqlite3';
import type { Selectable } from 'kysely';
import { kx, sqliteOf, type Executor } from '../database.js';
import { directStatement, marks } from '../sqlite-direct.js';
import { jsonList, toInstalled, toScanTarget, type ScanTargetRow, type StoredBuild } from './builds.js';
import type { PackageRow, TargetsTable } from '../schema.js';
import { bucketOfName, SQLITE_BUCKET_OF_NAME } from './held-digest.js';
import { packageKey, packageRow } from './targets.js';

const PACKAGE_COLUMNS = ['key', 'family', 'name', 'epoch', 'version', 'release', 'arch', 'source_name', 'source_version', 'source_origin'] as const;
/** The most links one statement inserts on SQLite. */
const LINKS_AT_ONCE = 16;
const quoted = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/**
 * packages rows committed before the transaction that reads them, per SQLite database, by pk and
 * by key (issue #14): nothing updates or deletes a packages row, so once committed its pk and its
 * key name the same build for as long as the database lives. A row this transaction inserted is
 * never kept: were the transaction rolled back, SQLite would hand its pk out again. A fleet's
 * reports name the same few thousand builds: a forgotten host's links resolve to rows here
 * (heldNamed), and a report's difference finds its dozen keys here (~80 µs of SQLite a report
 * before). Bounded (~8 MB); forgotten wholesale when full.
 */
interface KeptRows {
  byPk: Map<number, PackageRow>;
  byKey: Map<string, PackageRow>;
}
const keptRowsOf = new WeakMap<object, KeptRows>();
const MAX_KEPT_ROWS = 20_000;

function keptRows(on: Executor): KeptRows | undefined {
  const sqlite = sqliteOf(on);
  if (sqlite === undefined) return undefined;
  let m = keptRowsOf.get(sqlite);
  if (m === undefined) keptRowsOf.set(sqlite, (m = { byPk: new Map(), byKey: new Map() }));
  return m;
}

/** Keeps committed rows (see keptRows); frozen, as they are shared. More than the bound at once (a host of 100,000 packages) are not kept. */
function keep(kept: KeptRows, rows: readonly PackageRow[]): void {
  if (rows.length > MAX_KEPT_ROWS) return;
  if (kept.byPk.size + rows.length > MAX_KEPT_ROWS) {
    kept.byPk.clear();
    kept.byKey.clear();
  }
  for (const r of rows) {
    const frozen = Object.freeze(r);
    kept.byPk.set(r.pk, frozen);
    kept.byKey.set(r.key, frozen);
  }
}

/** An agent report stored as the difference from the report before it (issue #14). */
export interface InventoryDelta {
  targetId: string;
  /** The report the difference was taken from: its fingerprint and held digest, as stored. */
  base: { sha256: string; heldDigest: string };
  /** The builds the target no longer holds, and those it now holds that it did not (keys as packageKey makes them). */
  goneKeys: readonly string[];
  added: readonly InstalledPackage[];
  /** The keys of every build of the changed names the report holds (added or not): their stored rows come back as `held`. */
  heldKeys: readonly string[];
  /** The new report's fingerprint and held digest (heldDigestText). */
  sha256: string;
  heldDigest: string;
  collectedAt: string;
  release: string;
  arch: string | null;
  address: string;
  image: string | null;
  runningKernel: string | null;
  rebootRequired: boolean | null;
  streams: TargetStreams;
  /** JSON of the live patches, as saveInventory stores them (null: not collected). */
  livePatches: string | null;
}

/** What the target was before the delta, as saveInventory and getTarget would have said. */
export interface AppliedDelta {
  before: { release: string | null; runningKernel: string | null };
  streams: TargetStreams;
  livePatchesChanged: boolean;
  /** The target as scanTargets reads it after the delta, and its builds of `heldKeys` (what heldBuildsNamed reads for the changed names). */
  target: ScanTargetRow;
  held: StoredBuild[];
}

/**
 * Stores a report as its difference from the one before: the target's row and the links of the
 * builds that changed, nothing else. Only when the target still holds exactly the base report
 * (its stored fingerprint and held digest are the base's; any other write of the inventory
 * clears them): otherwise null, having written nothing, and the caller stores the report whole.
 * On PostgreSQL the target's row is locked first, so two reports of one host take turns. Call
 * inside a transaction.
 */
export async function applyInventoryDelta(on: Executor, d: InventoryDelta): Promise<AppliedDelta | null> {
  const ex = kx(on);
  const pg = ex.getExecutor().adapter instanceof PostgresAdapter;
  // On SQLite each statement runs as a kept prepared statement (sqlite-direct.ts), the same SQL as the query built beside it.
  const direct = (text: string): Statement | null => directStatement(on, text);
  const columns = ['name', 'release_id', 'running_kernel', 'live_patches', 'held_digest', 'inventory_sha256', 'module_streams', 'channels'] as const;
  const read = direct(`select ${quoted(columns)} from targets where id = ?`);
  const t =
    read !== null
      ? (read.get(d.targetId) as Pick<Selectable<TargetsTable>, (typeof columns)[number]> | undefined)
      : await ex
          .selectFrom('targets')
          .select(columns)
          .where('id', '=', d.targetId)
          .$if(pg, (q) => q.forUpdate())
          .executeTakeFirst();
  if (t?.inventory_sha256 !== d.base.sha256 || t.held_digest !== d.base.heldDigest) return null;
  const addedByKey = new Map(d.added.map((p) => [packageKey(p), p]));
  const pks = new Map<string, number>();
  const rows = new Map<string, PackageRow>();
  const find = async (keys: readonly string[], kept?: KeptRows): Promise<void> => {
    const unknown: string[] = [];
    for (const k of keys) {
      const r = kept?.byKey.get(k);
      if (r === undefined) unknown.push(k);
      else {
        pks.set(k, r.pk);
        rows.set(k, r);
      }
    }
    for (const c of chunks(unknown, 1, 5000)) {
      const st = direct(`select * from packages where "key" in (${marks(c.length)})`);
      const found = st !== null ? (st.all(c) as PackageRow[]) : await ex.selectFrom('packages').selectAll().where('key', 'in', c).execute();
      for (const r of found) {
        pks.set(r.key, r.pk);
        rows.set(r.key, r);
      }
      if (kept !== undefined) keep(kept, found);
    }
  };
  // Before this transaction writes any packages row: what is found was committed before it.
  await find([...new Set([...d.goneKeys, ...addedByKey.keys(), ...d.heldKeys])], keptRows(on));
  const fresh = [...addedByKey].filter(([k]) => !pks.has(k)).map(([k, p]) => packageRow(k, p));
  const insert = direct(
    `insert into packages (${quoted(PACKAGE_COLUMNS)}) values (${marks(PACKAGE_COLUMNS.length)}) on conflict ("key") do nothing returning pk`,
  );
  for (const c of rowChunks(fresh)) {
    const byKey = new Map(c.map((row) => [row.key, row]));
    const inserted =
      insert !== null
        ? c.flatMap((row) => {
            const r = insert.get(PACKAGE_COLUMNS.map((k) => row[k] ?? null)) as { pk: number } | undefined;
            return r === undefined ? [] : [{ pk: r.pk, key: row.key }];
          })
        : await ex
            .insertInto('packages')
            .values(c)
            // Another writer may have added the same package meanwhile; its row is as good as ours.
            .onConflict((oc) => oc.column('key').doNothing())
            .returning(['pk', 'key'])
            .execute();
    for (const r of inserted) {
      pks.set(r.key, r.pk);
      rows.set(r.key, { ...(byKey.get(r.key) as ReturnType<typeof packageRow>), pk: r.pk });
    }
  }
  await find([...addedByKey.keys()].filter((k) => !pks.has(k)));
  const held: StoredBuild[] = [];
  for (const k of new Set(d.heldKeys)) {
    const r = rows.get(k);
    // A build of a changed name the target holds has a row (it held it, or it was just added).
    if (r === undefined) throw new BulwarkError('internal', 'applyInventoryDelta: a held build has no packages row');
    held.push({ pk: r.pk, pkg: toInstalled(r) });
  }
  const gone = d.goneKeys.flatMap((k) => (pks.has(k) ? [pks.get(k) as number] : []));
  for (const c of chunks(gone, 1, 5000)) {
    const st = direct(`delete from target_packages where target_id = ? and package_pk in (${marks(c.length)})`);
    if (st !== null) st.run(d.targetId, ...c);
    else await ex.deleteFrom('target_packages').where('target_id', '=', d.targetId).where('package_pk', 'in', c).execute();
  }
  const links = [...addedByKey.keys()].map((k) => ({ target_id: d.targetId, package_pk: pks.get(k) as number }));
  // On SQLite in statements of up to LINKS_AT_ONCE rows (a few texts kept, not one per count).
  for (const c of chunks(links, 2, pg ? 30_000 : 2 * LINKS_AT_ONCE)) {
    const link = direct(`insert into target_packages (target_id, package_pk) values ${Array.from(c, () => '(?, ?)').join(', ')}`);
    if (link !== null) link.run(c.flatMap((l) => [l.target_id, l.package_pk]));
    else await ex.insertInto('target_packages').values(c).execute();
  }
  // What setReportedHost, saveInventory and setInventoryFingerprint write for a whole report, in one statement.
  const set = {
    kind: 'host' as const,
    address: d.address,
    image: d.image,
    inventory_at: d.collectedAt,
    inventory_sha256: d.sha256,
    held_digest: d.heldDigest,
    running_kernel: d.runningKernel,
    reboot_required: d.rebootRequired === null ? null : d.rebootRequired ? 1 : 0,
    module_streams: d.streams.modules === null ? null : JSON.stringify(d.streams.modules),
    channels: d.streams.channels === null ? null : JSON.stringify(d.streams.channels),
    live_patches: d.livePatches,
    release_id: d.release,
    arch: d.arch,
  };
  const names = Object.keys(set) as (keyof typeof set)[];
  const update = direct(`update targets set ${names.map((k) => `"${k}" = ?`).join(', ')} where id = ?`);
  if (update !== null) update.run(...names.map((k) => set[k] ?? null), d.targetId);
  else await ex.updateTable('targets').set(set).where('id', '=', d.targetId).execute();
  return {
    before: { release: t.release_id, runningKernel: t.running_kernel },
    streams: { modules: jsonList(t.module_streams), channels: jsonList(t.channels) },
    livePatchesChanged: (t.live_patches ?? null) !== d.livePatches,
    // The row as just written.
    target: toScanTarget({
      id: d.targetId,
      name: t.name,
      release_id: set.release_id,
      running_kernel: set.running_kernel,
      inventory_at: set.inventory_at,
      module_streams: set.module_streams,
      channels: set.channels,
      live_patches: set.live_patches,
    }),
    held,
  };
}

/**
 * What a target holds as an agent report stored it (issue #14): its stored fingerprint and held
 * digest, and the builds it holds whose names fall in `buckets` (held-digest.ts), or only those
 * `named` (found by name: a few rows, not every link of the target); null when there is no such target. On PostgreSQL the target's row is locked first, as applyInventoryDelta locks
 * it, so what is read stays what the target holds until the transaction ends. Call inside a
 * transaction, before it writes any packages row (a report's plan comes first): the rows read
 * are kept (keptRows), and a row inserted by a transaction that is then rolled back leaves its
 * pk free for SQLite to hand out again.
 */
export async function heldInBuckets(
  on: Executor,
  targetId: string,
  buckets: readonly number[],
  named?: readonly string[],
): Promise<{ sha256: string | null; heldDigest: string | null; rows: PackageRow[] } | null> {
  const ex = kx(on);
  const pg = ex.getExecutor().adapter instanceof PostgresAdapter;
  const read = directStatement(on, 'select "inventory_sha256", "held_digest" from targets where id = ?');
  const t =
    read !== null
      ? (read.get(targetId) as Pick<Selectable<TargetsTable>, 'inventory_sha256' | 'held_digest'> | undefined)
      : await ex
          .selectFrom('targets')
          .select(['inventory_sha256', 'held_digest'])
          .where('id', '=', targetId)
          .$if(pg, (q) => q.forUpdate())
          .executeTakeFirst();
  if (t === undefined) return null;
  if (named !== undefined) return { sha256: t.inventory_sha256, heldDigest: t.held_digest, rows: await heldNamed(on, targetId, named) };
  const held = directStatement(
    on,
    `select packages.* from target_packages inner join packages on packages.pk = target_packages.package_pk where target_packages.target_id = ? and ${SQLITE_BUCKET_OF_NAME} in (${marks(buckets.length)})`,
  );
  const rows =
    buckets.length === 0
      ? []
      : held !== null
        ? (held.all(targetId, ...buckets) as PackageRow[])
        : await ex
            .selectFrom('target_packages')
            .innerJoin('packages', 'packages.pk', 'target_packages.package_pk')
            .selectAll('packages')
            .where('target_packages.target_id', '=', targetId)
            .where(bucketOfName(on), 'in', buckets)
            .execute();
  return { sha256: t.inventory_sha256, heldDigest: t.held_digest, rows };
}

/**
 * The builds a target holds of `names`. On SQLite in a transaction (an agent report's), the
 * target's links alone (an index range of its key) and the rows from keptRows: joining its
 * ~600 links to packages to keep the few of `names` was a fifth of the report of a host the
 * server did not remember, and walking packages by name visits every host's builds of it.
 */
async function heldNamed(on: Executor, targetId: string, names: readonly string[]): Promise<PackageRow[]> {
  const links = directStatement(on, 'select package_pk from target_packages where target_id = ?');
  const kept = keptRows(on);
  if (links !== null && kept !== undefined) {
    const known = kept.byPk;
    const pks = links.pluck(true).all(targetId) as number[];
    const wanted = new Set(names);
    const out: PackageRow[] = [];
    // One pass over the links, the rows not yet kept read after it (most are kept).
    const missing: number[] = [];
    for (const pk of pks) {
      const r = known.get(pk);
      if (r === undefined) missing.push(pk);
      else if (wanted.has(r.name)) out.push(r);
    }
    if (missing.length === 0) return out;
    const read = new Map<number, PackageRow>();
    for (const c of chunks(missing, 1, 5000)) {
      const found = directStatement(on, `select * from packages where pk in (${marks(c.length)})`)?.all(...c) as PackageRow[];
      keep(kept, found);
      for (const r of found) read.set(r.pk, r);
    }
    for (const pk of missing) {
      const r = read.get(pk);
      if (r === undefined) throw new BulwarkError('internal', `heldNamed: link to package ${String(pk)} without its row`);
      if (wanted.has(r.name)) out.push(r);
    }
    return out;
  }
  const rows: PackageRow[] = [];
  for (const c of chunks(names, 1, 5000)) {
    const st = directStatement(
      on,
      `select packages.* from packages inner join target_packages on target_packages.package_pk = packages.pk and target_packages.target_id = ? where packages.name in (${marks(c.length)})`,
    );
    rows.push(
      ...(st !== null
        ? (st.all(targetId, ...c) as PackageRow[])
        : await kx(on)
            .selectFrom('packages')
            .innerJoin('target_packages', (j) => j.onRef('target_packages.package_pk', '=', 'packages.pk').on('target_packages.target_id', '=', targetId))
            .selectAll('packages')
            .where('packages.name', 'in', c)
            .execute()),
    );
  }
  return rows;
}
