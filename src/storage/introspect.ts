import { sql } from 'kysely';
import { kx, underMigrationLock, type Db } from './database.js';

/** One column as the database reports it (Kysely's introspection, the dialect's own type name). */
export interface ColumnShape {
  /** The type name the database reports, lower case: `text`, `integer`, `timestamptz`, `int8`… */
  dataType: string;
  nullable: boolean;
  /** Has a default, or is filled by the database (autoincrement / bigserial). */
  defaulted: boolean;
  autoIncrement: boolean;
}

/** One table as the database reports it. */
export interface TableShape {
  columns: Record<string, ColumnShape>;
  /** The primary key's columns, in key order. */
  primaryKey: string[];
  /**
   * The other indexes, each as `unique (a, b)` or `index (a, b desc)`, with ` partial` when it
   * has a WHERE clause; sorted. Names are left out: SQLite names a unique constraint's index
   * itself (sqlite_autoindex_…), PostgreSQL after the constraint.
   */
  indexes: string[];
  /** SQLite only, and only when true: the table is WITHOUT ROWID. */
  withoutRowid?: true;
}

/**
 * The schema of an open database, read back from the database itself: what the migrations
 * really made, for comparison with src/storage/schema.ts (schema.test.ts). Kysely's own
 * tables (kysely_migration…) are left out.
 *
 * @example const shape = await introspectSchema(db); shape['advisories']?.primaryKey // ['pk']
 */
export async function introspectSchema(db: Db): Promise<Record<string, TableShape>> {
  const k = kx(db);
  const schema = db.dialect === 'postgres' ? (db.schema ?? 'public') : null;
  const all = schema === null ? await k.introspection.getTables() : await underMigrationLock(db, (conn) => conn.introspection.getTables());
  const tables = all.filter((t) => !t.isView && !t.name.startsWith('kysely_') && (schema === null || t.schema === schema));
  const out: Record<string, TableShape> = {};
  for (const t of tables.sort((a, b) => a.name.localeCompare(b.name))) {
    const columns: Record<string, ColumnShape> = {};
    for (const c of t.columns)
      columns[c.name] = {
        dataType: c.dataType.toLowerCase(),
        nullable: c.isNullable,
        defaulted: c.hasDefaultValue || c.isAutoIncrementing,
        autoIncrement: c.isAutoIncrementing,
      };
    out[t.name] = { columns, ...(schema === null ? await sqliteKeys(db, t.name) : await pgKeys(db, schema, t.name)) };
  }
  return out;
}

async function sqliteKeys(db: Db, table: string): Promise<Pick<TableShape, 'primaryKey' | 'indexes' | 'withoutRowid'>> {
  const k = kx(db);
  const kind = await sql<{ wr: number }>`select wr from pragma_table_list(${table})`.execute(k);
  const withoutRowid = kind.rows.some((r) => r.wr === 1);
  const info = await sql<{ name: string; pk: number }>`select name, pk from pragma_table_info(${table})`.execute(k);
  const primaryKey = info.rows
    .filter((r) => r.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((r) => r.name);
  const list = await sql<{
    name: string;
    unique: number;
    origin: string;
    partial: number;
  }>`select name, "unique", origin, partial from pragma_index_list(${table})`.execute(k);
  const indexes: string[] = [];
  for (const ix of list.rows) {
    if (ix.origin === 'pk') continue;
    // pragma_index_xinfo says the direction; key = 1 marks the indexed columns (the rest is the rowid).
    const cols = await sql<{
      name: string | null;
      desc: number;
      key: number;
      seqno: number;
    }>`select name, "desc", key, seqno from pragma_index_xinfo(${ix.name})`.execute(k);
    const words = cols.rows
      .filter((c) => c.key === 1)
      .sort((a, b) => a.seqno - b.seqno)
      .map((c) => `${c.name ?? '<expression>'}${c.desc === 1 ? ' desc' : ''}`);
    indexes.push(`${ix.unique === 1 ? 'unique' : 'index'} (${words.join(', ')})${ix.partial === 1 ? ' partial' : ''}`);
  }
  return { primaryKey, indexes: indexes.sort(), ...(withoutRowid ? { withoutRowid: true as const } : {}) };
}

async function pgKeys(db: Db, schema: string, table: string): Promise<Pick<TableShape, 'primaryKey' | 'indexes'>> {
  const k = kx(db);
  // One row per index column: pg_index.indkey lists the column numbers, indoption bit 0 is DESC.
  const rows = await sql<{ index: string; primary: boolean; unique: boolean; partial: boolean; position: number; column: string | null; desc: boolean }>`
    select i.relname as index, x.indisprimary as primary, x.indisunique as unique, x.indpred is not null as partial,
           k.n as position, a.attname as column, (x.indoption[k.n - 1] & 1) = 1 as desc
      from pg_index x
      join pg_class c on c.oid = x.indrelid
      join pg_namespace s on s.oid = c.relnamespace
      join pg_class i on i.oid = x.indexrelid
      cross join lateral unnest(x.indkey) with ordinality as k(attnum, n)
      left join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
     where s.nspname = ${schema} and c.relname = ${table} and k.n <= x.indnkeyatts
     order by i.relname, k.n`.execute(k);
  const byIndex = new Map<string, typeof rows.rows>();
  for (const r of rows.rows) byIndex.set(r.index, [...(byIndex.get(r.index) ?? []), r]);
  let primaryKey: string[] = [];
  const indexes: string[] = [];
  for (const cols of byIndex.values()) {
    const first = cols[0];
    if (first === undefined) continue;
    const names = cols.map((c) => c.column ?? '<expression>');
    if (first.primary) primaryKey = names;
    else
      indexes.push(
        `${first.unique ? 'unique' : 'index'} (${cols.map((c) => `${c.column ?? '<expression>'}${c.desc ? ' desc' : ''}`).join(', ')})${first.partial ? ' partial' : ''}`,
      );
  }
  return { primaryKey, indexes: indexes.sort() };
}
