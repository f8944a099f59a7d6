import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { MIGRATION_LOCK_ID, rawKysely, type Db } from '../database.js';
import { linksWithoutRowid } from './0081-links-without-rowid.js';

describe.each(testDatabases())('migration 0081 (links WITHOUT ROWID on SQLite) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('keeps every link, its index and its cascade, going down and up again', async () => {
    const k = rawKysely(db) as Kysely<unknown>;
    const now = '2026-01-01T00:00:00.000Z';
    for (const id of ['t-b', 't-a']) await sql`insert into targets (id, name, kind, created_at) values (${id}, ${`host-${id}`}, 'host', ${now})`.execute(k);
    const pks: number[] = [];
    for (const name of ['zlib', 'curl', 'bash']) {
      await sql`insert into packages (key, family, name, version, arch) values (${`rpm:${name}`}, 'rpm', ${name}, '1', 'x86_64')`.execute(k);
      pks.push((await sql<{ pk: number }>`select pk from packages where name = ${name}`.execute(k)).rows[0]?.pk as number);
    }
    const links = [
      ['t-b', pks[0]],
      ['t-a', pks[2]],
      ['t-b', pks[1]],
      ['t-a', pks[0]],
    ] as const;
    for (const [t, pk] of links) await sql`insert into target_packages (target_id, package_pk) values (${t}, ${pk})`.execute(k);
    const expected = [...links].map(([t, pk]) => `${t}:${String(pk)}`).sort();
    const read = async (on: Kysely<unknown> = k): Promise<string[]> =>
      (await sql<{ t: string; pk: number }>`select target_id as t, package_pk as pk from target_packages`.execute(on)).rows
        .map((r) => `${r.t}:${String(r.pk)}`)
        .sort();
    // SQLite: 1 for a WITHOUT ROWID table; PostgreSQL has no such table kind (null).
    const withoutRowid = async (on: Kysely<unknown> = k): Promise<number | null> =>
      db.dialect === 'sqlite' ? ((await sql<{ wr: number }>`select wr from pragma_table_list('target_packages')`.execute(on)).rows[0]?.wr ?? null) : null;
    const indexed = async (on: Kysely<unknown> = k): Promise<boolean> =>
      (db.dialect === 'sqlite'
        ? await sql`select 1 from sqlite_master where type = 'index' and name = 'target_packages_package_target'`.execute(on)
        : await sql`select 1 from pg_indexes where indexname = 'target_packages_package_target' and schemaname = current_schema()`.execute(on)
      ).rows.length === 1;
    expect(await withoutRowid()).toBe(db.dialect === 'sqlite' ? 1 : null);
    const m = linksWithoutRowid(db.dialect);
    await k.connection().execute(async (conn) => {
      if (db.dialect === 'postgres') await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        await m.down?.(conn);
        expect(await withoutRowid(conn)).toBe(db.dialect === 'sqlite' ? 0 : null);
        expect(await read(conn)).toEqual(expected);
        expect(await indexed(conn)).toBe(true);
        await m.up(conn);
      } finally {
        if (db.dialect === 'postgres') await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
    expect(await withoutRowid()).toBe(db.dialect === 'sqlite' ? 1 : null);
    expect(await read()).toEqual(expected);
    expect(await indexed()).toBe(true);
    // The primary key still refuses a duplicate, and a target's links go with it.
    await expect(sql`insert into target_packages (target_id, package_pk) values ('t-a', ${pks[0]})`.execute(k)).rejects.toThrow();
    await sql`delete from targets where id = 't-b'`.execute(k);
    expect(await read()).toEqual(expected.filter((l) => l.startsWith('t-a:')));
  });
});
