import { sql } from 'kysely';
import { kx, type Executor } from '../database.js';

/**
 * SQLite's `PRAGMA data_version` on the connection behind `on`: a number that changes whenever
 * another connection (of this process or any other) has committed to the database since it was
 * last read, and never for this connection's own commits. A connection that never writes (the
 * API's read workers) thus sees it change at every write to the store: what is computed between
 * two equal readings was computed from one state of the store. Null on PostgreSQL.
 * @example const v = await dataVersion(db) // 3
 */
export async function dataVersion(on: Executor): Promise<number | null> {
  if ('dialect' in on && on.dialect !== 'sqlite') return null;
  const r = await sql<{ data_version: number }>`pragma data_version`.execute(kx(on));
  return r.rows[0]?.data_version ?? null;
}

/**
 * A mark that changes whenever the store may have changed, as the connection behind `on` sees
 * it: its data version (others' commits) with the rows its own statements changed (SQLite's
 * `total_changes()`, which counts this connection's writes, committed or not). What is computed
 * on a connection that also writes (the server's own) between two equal marks was computed from
 * one state of the store. Null on PostgreSQL.
 * @example const m = await writeMark(db) // '3:1207'
 */
export async function writeMark(on: Executor): Promise<string | null> {
  if ('dialect' in on && on.dialect !== 'sqlite') return null;
  const r = await sql<{ v: number; c: number }>`select (select data_version from pragma_data_version) as v, total_changes() as c`.execute(kx(on));
  const row = r.rows[0];
  return row === undefined ? null : `${String(row.v)}:${String(row.c)}`;
}
