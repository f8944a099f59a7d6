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
// were).

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

const inserts = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();

/**
 * Inserts new findings (none of them stored yet), in the order given. Call inside a transaction.
 * @example await insertFindingRows(tx, rows)
 */
export async function insertFindingRows(on: Executor, rows: readonly Insertable<FindingsTable>[]): Promise<void> {
  if (rows.length === 0) return;
  const sqlite = (on as { inTransaction?: boolean }).inTransaction === true ? sqliteOf(on) : undefined;
  if (sqlite === undefined) {
    const ex = kx(on);
    for (const c of rowChunks(rows)) await ex.insertInto('findings').values(c).execute();
    return;
  }
  let stmt = inserts.get(sqlite);
  if (stmt === undefined) {
    stmt = sqlite.prepare(`insert into findings (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`);
    inserts.set(sqlite, stmt);
  }
  const values: unknown[] = new Array<unknown>(COLUMNS.length);
  for (const r of rows) {
    for (let i = 0; i < COLUMNS.length; i++) values[i] = (r as Record<string, unknown>)[COLUMNS[i] as string] ?? null;
    stmt.run(values);
  }
  return Promise.resolve();
}

/** Secondary indexes of `findings` dropped for a bulk write, to be created again by restoreFindingIndexes. */
export interface SuspendedIndexes {
  statements: string[];
}

/**
 * On SQLite inside a transaction, when `freshTargets` (targets about to get their first findings)
 * are at least as many as the targets that have findings already, drops the findings table's
 * secondary indexes (not the unique key the writes look rows up by) and returns how to create
 * them again; otherwise null. Call restoreFindingIndexes before the transaction commits.
 * @example const s = await suspendFindingIndexes(tx, ids); … await restoreFindingIndexes(tx, s)
 */
export async function suspendFindingIndexes(on: Executor, targetIds: readonly string[]): Promise<SuspendedIndexes | null> {
  if ((on as { inTransaction?: boolean }).inTransaction !== true || sqliteOf(on) === undefined) return null;
  const ex = kx(on);
  const withFindings = new Set((await sql<{ target_id: string }>`select distinct target_id from findings`.execute(ex)).rows.map((r) => r.target_id));
  const fresh = new Set(targetIds.filter((id) => !withFindings.has(id))).size;
  if (fresh === 0 || fresh < withFindings.size) return null;
  const rows = (
    await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and tbl_name = 'findings' and sql is not null and upper(sql) not like 'CREATE UNIQUE%' order by name`.execute(
      ex,
    )
  ).rows;
  for (const r of rows) await sql`drop index ${sql.id(r.name)}`.execute(ex);
  return { statements: rows.map((r) => r.sql) };
}

/** Creates the indexes suspendFindingIndexes dropped, inside the same transaction. */
export async function restoreFindingIndexes(on: Executor, s: SuspendedIndexes | null): Promise<void> {
  if (s === null) return;
  const ex = kx(on);
  // The statements are SQLite's own text of indexes it held (sqlite_master), not input.
  for (const text of s.statements) await sql.raw(text).execute(ex);
}
