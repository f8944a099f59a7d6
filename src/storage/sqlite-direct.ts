import type BetterSqlite3 from 'better-sqlite3';
import { sqliteOf, type Executor } from './database.js';

/**
 * The statements every agent report runs (issue #14), on SQLite inside a transaction, as
 * better-sqlite3 statements kept by their text: not built and compiled by Kysely each time, which
 * cost more than running most of them. Null on PostgreSQL, or outside a transaction (a statement
 * run beside Kysely there could land inside another caller's transaction): the caller builds the
 * query with Kysely then, as every other statement is.
 * @example const st = directStatement(tx, 'select count(*) as n from findings where target_id = ?'); if (st !== null) st.get(id)
 */
export function directStatement(on: Executor, text: string): BetterSqlite3.Statement | null {
  if ((on as { inTransaction?: boolean }).inTransaction !== true) return null;
  const sqlite = sqliteOf(on);
  if (sqlite === undefined) return null;
  let m = kept.get(sqlite);
  if (m === undefined) kept.set(sqlite, (m = new Map<string, BetterSqlite3.Statement>()));
  let st = m.get(text);
  if (st === undefined) {
    // The texts differ only by how many values a list binds: a few hundred at most.
    if (m.size >= 500) m.clear();
    m.set(text, (st = sqlite.prepare(text)));
  }
  return st;
}

const kept = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

/** `?, ?, ?` for a list of n values. */
export const marks = (n: number): string => (n === 1 ? '?' : `?${', ?'.repeat(n - 1)}`);
