import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { MIGRATION_LOCK_ID, rawKysely, type Db } from '../database.js';
import { acceptedUntilPartial } from './0078-accepted-until-partial.js';

describe.each(testDatabases())('migration 0078 (partial accepted_until index) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('indexes only findings with an expiry, and goes down and up again', async () => {
    const k = rawKysely(db);
    // Inside the migration's connection, read through it (SQLite has one connection).
    const definition = async (on: typeof k = k): Promise<string> => {
      const r =
        db.dialect === 'postgres'
          ? await sql<{
              d: string;
            }>`select indexdef as d from pg_indexes where indexname = 'findings_accepted_until' and schemaname = current_schema()`.execute(on)
          : await sql<{ d: string }>`select sql as d from sqlite_master where type = 'index' and name = 'findings_accepted_until'`.execute(on);
      return (r.rows[0]?.d ?? '').toLowerCase();
    };
    expect(await definition()).toMatch(/\(accepted_until\) where \(?accepted_until is not null\)?$/);
    const m = acceptedUntilPartial();
    await k.connection().execute(async (conn) => {
      if (db.dialect === 'postgres') await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        await m.down?.(conn as never);
        expect(await definition(conn)).toMatch(/\(accepted_until\)$/);
        await m.up(conn as never);
      } finally {
        if (db.dialect === 'postgres') await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
    expect(await definition()).toMatch(/where \(?accepted_until is not null\)?$/);
  });
});
