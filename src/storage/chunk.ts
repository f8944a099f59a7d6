import { PostgresAdapter, sql, type RawBuilder, type SqlBool } from 'kysely';
import { kx, type Executor } from './database.js';

/**
 * Splits rows into batches for multi-row statements. SQLite allows 32766 bound parameters per
 * statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32) and PostgreSQL 65535; `columns` is the
 * number of parameters per row.
 */
export function chunks<T>(rows: readonly T[], columns: number, maxParams = 30_000): T[][] {
  const size = Math.max(1, Math.floor(maxParams / Math.max(1, columns)));
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * Batches of rows for a multi-row insert, as many as the parameter limit allows for the columns
 * the rows actually have (counted from the first row plus `extra` set beside them), so a column
 * added later can never push a batch over the limit.
 */
export function rowChunks<T extends object>(rows: readonly T[], extra = 0): T[][] {
  return chunks(rows, (rows[0] === undefined ? 0 : Object.keys(rows[0]).length) + extra);
}

/**
 * `column IN (values)` with the whole list bound as ONE parameter, for a filter that cannot be
 * asked for in batches (a sorted, paged query): a JSON array read by json_each on SQLite, a text
 * array compared with `= any` on PostgreSQL. A list of any length then binds one parameter.
 */
export function inTextList(on: Executor, column: string, values: readonly string[]): RawBuilder<SqlBool> {
  const ex = kx(on);
  if (ex.getExecutor().adapter instanceof PostgresAdapter) return sql<SqlBool>`${sql.ref(column)} = any(${[...values]}::text[])`;
  return sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`;
}
