import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { MIGRATION_LOCK_ID, rawKysely, type Db } from '../database.js';
import { dropFindingsAdvisoryTarget } from './0083-drop-findings-advisory-target.js';

describe.each(testDatabases())('migration 0083 (no findings (advisory_pk, target_id) index) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('drops the index, and goes down and up again', async () => {
    const k = rawKysely(db);
    // Inside the migration's connection, read through it (SQLite has one connection).
    const names = async (on: typeof k = k): Promise<string[]> => {
      const r =
        db.dialect === 'postgres'
          ? await sql<{ n: string }>`select indexname as n from pg_indexes where tablename = 'findings' and schemaname = current_schema() order by 1`.execute(
              on,
            )
          : await sql<{ n: string }>`select name as n from sqlite_master where type = 'index' and tbl_name = 'findings' order by 1`.execute(on);
      return r.rows.map((x) => x.n);
    };
    const before = await names();
    expect(before).not.toContain('findings_advisory_target');
    // The advisory-led indexes that answer its reads are still there.
    expect(before).toEqual(expect.arrayContaining(['findings_advisory_severity', 'findings_group_advisory']));
    const m = dropFindingsAdvisoryTarget();
    await k.connection().execute(async (conn) => {
      if (db.dialect === 'postgres') await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        await m.down?.(conn as never);
        expect(await names(conn)).toContain('findings_advisory_target');
        await m.up(conn as never);
      } finally {
        if (db.dialect === 'postgres') await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
    expect(await names()).toEqual(before);
  });
});
