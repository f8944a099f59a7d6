import { sql } from 'kysely';
import { rawKysely, type Db } from '../src/storage/database.js';

/**
 * Every row of every table of the store, sorted, as text: two dumps are equal when nothing
 * stored changed. The audit log is left out (`except`, by default): a refused change is
 * supposed to add to it and nothing else.
 */
export async function dumpStore(db: Db, except: readonly string[] = ['audit']): Promise<Record<string, string[]>> {
  const names =
    db.dialect === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(rawKysely(db))).rows.map(
          (r) => r.name,
        )
      : (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
            rawKysely(db),
          )
        ).rows.map((r) => r.name);
  const out: Record<string, string[]> = {};
  for (const name of names.sort()) {
    if (except.includes(name) || name.startsWith('kysely_')) continue;
    // Table names come from the database's own catalog, not from input.
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(rawKysely(db))).rows;
    out[name] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}
