import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import type { Db, Dialect } from './database.js';
import { introspectSchema, type TableShape } from './introspect.js';
import { DATA_TYPES, TABLES, type TableDef } from './schema.js';

/**
 * What a freshly migrated database should hold, by TABLES (schema.ts), in the shape
 * introspectSchema reads back.
 *
 * One normalisation, SQLite's own: a column of a single-column PRIMARY KEY is reported nullable
 * unless declared NOT NULL ("due to a bug in some early versions, this is not the case in
 * SQLite", https://www.sqlite.org/lang_createtable.html#the_primary_key). The migrations do not
 * declare it, so SQLite would store a NULL id there; the repositories never write one. An
 * INTEGER PRIMARY KEY (serial) is the rowid and cannot hold NULL, but is reported the same way.
 */
function expectedShape(dialect: Dialect, tables: Record<string, TableDef>): Record<string, TableShape> {
  const out: Record<string, TableShape> = {};
  for (const [name, def] of Object.entries(tables).sort(([a], [b]) => a.localeCompare(b))) {
    const soleKey = def.primaryKey.length === 1 ? def.primaryKey[0] : undefined;
    const columns: TableShape['columns'] = {};
    for (const [col, c] of Object.entries(def.columns)) {
      columns[col] = {
        dataType: DATA_TYPES[c.kind][dialect],
        nullable: c.isNullable || (dialect === 'sqlite' && col === soleKey),
        defaulted: c.hasDefault,
        autoIncrement: c.kind === 'serial',
      };
    }
    out[name] = {
      columns,
      primaryKey: [...def.primaryKey],
      indexes: [...def.indexes].sort(),
      ...(dialect === 'sqlite' && def.sqliteWithoutRowid === true ? { withoutRowid: true as const } : {}),
    };
  }
  return out;
}

describe.each(testDatabases())('schema.ts against the migrated database on $name', ({ name, open }) => {
  let db: Db;
  let actual: Record<string, TableShape>;
  beforeAll(async () => {
    db = await open();
    actual = await introspectSchema(db);
  });
  afterAll(async () => {
    await db.close();
  });

  it('has the tables, columns, types, nullability, defaults, primary keys and indexes schema.ts describes', () => {
    expect(actual).toEqual(expectedShape(name, TABLES));
  });

  it('reads back enough to see a difference: a column made nullable, a table, an index', () => {
    const { advisories, findings, ...rest } = TABLES;
    const nullableTitle = { ...advisories, columns: { ...advisories.columns, title: advisories.columns.title.orNull() } };
    expect(actual).not.toEqual(expectedShape(name, { ...rest, findings, advisories: nullableTitle }));
    expect(actual).not.toEqual(expectedShape(name, { ...rest, findings }));
    expect(actual).not.toEqual(expectedShape(name, { ...rest, advisories, findings: { ...findings, indexes: findings.indexes.slice(1) } }));
    expect(actual['findings']?.indexes).toContain('index (severity_rank desc, first_seen_at, pk)');
    // The links' WITHOUT ROWID (SQLite) is read back, not assumed.
    const { target_packages: links, ...others } = TABLES;
    const rowidLinks = { columns: links.columns, primaryKey: links.primaryKey, indexes: links.indexes };
    if (name === 'sqlite') expect(actual).not.toEqual(expectedShape(name, { ...others, target_packages: rowidLinks }));
    expect(actual['target_packages']?.withoutRowid).toBe(name === 'sqlite' ? true : undefined);
    expect(actual['advisories']?.columns['pk']).toEqual({
      dataType: DATA_TYPES.serial[name],
      nullable: name === 'sqlite',
      defaulted: true,
      autoIncrement: true,
    });
  });
});
