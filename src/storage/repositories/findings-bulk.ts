import type BetterSqlite3 from 'better-sqlite3';
import type { Insertable } from 'kysely';
import { sql } from 'kysely';
import { rowChunks } from '../chunk.js';
import { kx, sqliteOf, type Executor } from '../database.js';
import type { FindingsTable } from '../schema.js';

// Writing many new findings at once (issue #14 bulk import: 1.29 M findings for 10,000 hosts).
// On SQLite inside a transaction, new rows go through one prepared single-row INSERT run per
// row (better-sqlite3 binds in C: a third of a multi-row VALUES statement's cost, which Kysely
// builds and SQLite parses anew for every batch). And when a scan is about to at least double
// the findings table, its secondary indexes are dropped and created again at the end of the
// same transaction: one sorted build instead of a random insert per row and index, and still
// crash-safe (SQLite's DDL is transactional; a rollback or a crash leaves the indexes as they
// were). An initial load does the same for the host → build links (services/bulk-import.ts).

const COLUMNS = [
  'target_id',
  'advisory_pk',
  'package',
  'arch',
  'installed',
  'fixed',
  'severity',
  'severity_rank',
  'status',
  'reason',
  'first_seen_at',
  'last_seen_at',
  'closed_at',
  'closed_from',
  'source_package',
] as const;

/** Rows per execution of the multi-row statement: one statement (and one autoincrement update) per 50 rows, not per row. */
const ROWS = 50;

const inserts = new WeakMap<BetterSqlite3.Database, { one: BetterSqlite3.Statement; many: BetterSqlite3.Statement }>();

/** The SQLite database when `on` is a transaction on one (its statements then run as kept prepared statements), else undefined. */
const sqliteInTransaction = (on: Executor): BetterSqlite3.Database | undefined =>
  (on as { inTransaction?: boolean }).inTransaction === true ? sqliteOf(on) : undefined;

/** Puts a row's values, in COLUMNS order, into `to` from index `at`. */
function bindRow(to: unknown[], at: number, r: Insertable<FindingsTable>): void {
  to[at] = r.target_id;
  to[at + 1] = r.advisory_pk;
  to[at + 2] = r.package;
  to[at + 3] = r.arch;
  to[at + 4] = r.installed;
  to[at + 5] = r.fixed ?? null;
  to[at + 6] = r.severity;
  to[at + 7] = r.severity_rank ?? null;
  to[at + 8] = r.status;
  to[at + 9] = r.reason ?? null;
  to[at + 10] = r.first_seen_at;
  to[at + 11] = r.last_seen_at;
  to[at + 12] = r.closed_at ?? null;
  to[at + 13] = r.closed_from ?? null;
  to[at + 14] = r.source_package ?? null;
}

/**
 * Inserts new findings (none of them stored yet), in the order given. Call inside a transaction.
 * @example await insertFindingRows(tx, rows)
 */
export async function insertFindingRows(on: Executor, rows: readonly Insertable<FindingsTable>[]): Promise<void> {
  if (rows.length === 0) return;
  const sqlite = sqliteInTransaction(on);
  if (sqlite === undefined) {
    const ex = kx(on);
    for (const c of rowChunks(rows)) await ex.insertInto('findings').values(c).execute();
    return;
  }
  let stmts = inserts.get(sqlite);
  if (stmts === undefined) {
    const row = `(${COLUMNS.map(() => '?').join(', ')})`;
    const into = `insert into findings (${COLUMNS.join(', ')}) values `;
    stmts = { one: sqlite.prepare(into + row), many: sqlite.prepare(into + new Array<string>(ROWS).fill(row).join(', ')) };
    inserts.set(sqlite, stmts);
  }
  // The rows in order, ROWS at a time, the rest one at a time: the same rows and row ids.
  const n = COLUMNS.length;
  const many: unknown[] = new Array<unknown>(n * ROWS);
  let i = 0;
  for (; i + ROWS <= rows.length; i += ROWS) {
    for (let j = 0; j < ROWS; j++) bindRow(many, j * n, rows[i + j] as Insertable<FindingsTable>);
    stmts.many.run(many);
  }
  const one: unknown[] = new Array<unknown>(n);
  for (; i < rows.length; i++) {
    bindRow(one, 0, rows[i] as Insertable<FindingsTable>);
    stmts.one.run(one);
  }
  return Promise.resolve();
}

/** What an upsert of a finding present again rewrites (writeFindingSets): its sighting, not when it was first seen. */
const REWRITTEN = ['installed', 'fixed', 'severity', 'severity_rank', 'status', 'reason', 'last_seen_at', 'source_package'] as const;

const upserts = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

/**
 * Inserts findings, or rewrites those of the same identity (target, advisory, package, arch)
 * with these values, open again (closed_at and closed_from cleared), first_seen_at kept. On
 * SQLite in a transaction one prepared single-row statement run per row (an agent report's few:
 * Kysely building and compiling the multi-row upsert cost more than running it, issue #14);
 * elsewhere Kysely's multi-row statement, the same SQL for many rows.
 */
export async function upsertFindingRows(on: Executor, rows: readonly Insertable<FindingsTable>[]): Promise<void> {
  if (rows.length === 0) return;
  const sqlite = sqliteInTransaction(on);
  if (sqlite === undefined) {
    const ex = kx(on);
    for (const c of rowChunks(rows))
      await ex
        .insertInto('findings')
        .values(c)
        .onConflict((oc) =>
          oc.columns(['target_id', 'advisory_pk', 'package', 'arch']).doUpdateSet((eb) => ({
            installed: eb.ref('excluded.installed'),
            fixed: eb.ref('excluded.fixed'),
            severity: eb.ref('excluded.severity'),
            severity_rank: eb.ref('excluded.severity_rank'),
            status: eb.ref('excluded.status'),
            reason: eb.ref('excluded.reason'),
            last_seen_at: eb.ref('excluded.last_seen_at'),
            source_package: eb.ref('excluded.source_package'),
            closed_at: null,
            closed_from: null,
          })),
        )
        .execute();
    return;
  }
  let st = upserts.get(sqlite);
  if (st === undefined) {
    const set = [...REWRITTEN.map((c) => `"${c}" = "excluded"."${c}"`), '"closed_at" = null', '"closed_from" = null'].join(', ');
    st = sqlite.prepare(
      `insert into "findings" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) values (${COLUMNS.map(() => '?').join(', ')}) ` +
        `on conflict ("target_id", "advisory_pk", "package", "arch") do update set ${set}`,
    );
    upserts.set(sqlite, st);
  }
  const one: unknown[] = new Array<unknown>(COLUMNS.length);
  for (const r of rows) {
    bindRow(one, 0, r);
    st.run(one);
  }
}

/** Secondary indexes dropped for a bulk write, to be created again by restoreIndexes. */
export interface SuspendedIndexes {
  statements: string[];
}

/** The tables whose secondary indexes a bulk write may drop and build again. */
type BulkTable = 'findings' | 'target_packages';

const inSqliteTx = (on: Executor): boolean => sqliteInTransaction(on) !== undefined;

/**
 * On SQLite inside a transaction, drops a table's secondary indexes (not its unique keys, which
 * the writes look rows up by) and returns how to create them again; otherwise null. Call
 * restoreIndexes before the transaction commits.
 * @example const s = await suspendIndexes(tx, 'target_packages'); … await restoreIndexes(tx, s)
 */
export async function suspendIndexes(on: Executor, table: BulkTable): Promise<SuspendedIndexes | null> {
  if (!inSqliteTx(on)) return null;
  const ex = kx(on);
  const rows = (
    await sql<{
      name: string;
      sql: string;
    }>`select name, sql from sqlite_master where type = 'index' and tbl_name = ${table} and sql is not null and upper(sql) not like 'CREATE UNIQUE%' order by name`.execute(
      ex,
    )
  ).rows;
  for (const r of rows) await sql`drop index ${sql.id(r.name)}`.execute(ex);
  return { statements: rows.map((r) => r.sql) };
}

/**
 * suspendIndexes for `findings`, when `targetIds` getting their first findings are at least as
 * many as the targets that have findings already (the scan at least doubles the table).
 * @example const s = await suspendFindingIndexes(tx, ids); … await restoreIndexes(tx, s)
 */
export async function suspendFindingIndexes(on: Executor, targetIds: readonly string[]): Promise<SuspendedIndexes | null> {
  if (!inSqliteTx(on)) return null;
  const withFindings = new Set((await sql<{ target_id: string }>`select distinct target_id from findings`.execute(kx(on))).rows.map((r) => r.target_id));
  const fresh = new Set(targetIds.filter((id) => !withFindings.has(id))).size;
  if (fresh === 0 || fresh < withFindings.size) return null;
  return suspendIndexes(on, 'findings');
}

/** Creates the indexes suspendIndexes dropped, inside the same transaction. */
export async function restoreIndexes(on: Executor, s: SuspendedIndexes | null): Promise<void> {
  if (s === null) return;
  const ex = kx(on);
  // The statements are SQLite's own text of indexes it held (sqlite_master), not input.
  for (const text of s.statements) await sql.raw(text).execute(ex);
}

/** How many targets have an inventory: a bulk import into a store with few is an initial load. */
export async function countInventoried(on: Executor): Promise<number> {
  const r = await kx(on)
    .selectFrom('targets')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('inventory_at', 'is not', null)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * On SQLite, a page cache of `mib` MiB for this connection until the returned function puts the
 * old size back (a no-op elsewhere). An initial load writes hundreds of MB of links and their
 * indexes in one transaction: with the default 2 MB cache, the pages it spills are read back
 * from the WAL again and again, and the index builds sort in small runs on disk.
 * @example const restore = widenPageCache(tx, 256); try { … } finally { restore(); }
 */
export function widenPageCache(on: Executor, mib: number): () => void {
  const sqlite = sqliteOf(on);
  if (sqlite === undefined) return () => undefined;
  const before = sqlite.pragma('cache_size', { simple: true }) as number;
  sqlite.pragma(`cache_size = ${String(-Math.round(mib * 1024))}`);
  return () => {
    sqlite.pragma(`cache_size = ${String(before)}`);
  };
}
