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
