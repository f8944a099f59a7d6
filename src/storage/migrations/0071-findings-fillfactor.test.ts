import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { need, requires } from '../../../test/needs.js';
import { MIGRATION_LOCK_ID, rawKysely, type Db } from '../database.js';
import { findingsFillfactor } from './0071-findings-fillfactor.js';

// PostgreSQL only: on SQLite the migration does nothing (no fillfactor there).
const pg = testDatabases().find((d) => d.name === 'postgres');

requires(need('PostgreSQL', pg === undefined ? 'not reachable' : null)).describe('migration 0071 (findings fillfactor) on PostgreSQL', () => {
  let db: Db;
  beforeAll(async () => {
    if (pg !== undefined) db = await pg.open();
  });
  afterAll(async () => {
    await db.close();
  });

  it('leaves a fifth of each findings page free, and goes down and up again', async () => {
    const k = rawKysely(db);
    const options = async (): Promise<string[]> =>
      (await sql<{ o: string[] | null }>`select reloptions as o from pg_class where oid = 'findings'::regclass`.execute(k)).rows[0]?.o ?? [];
    expect(await options()).toEqual(['fillfactor=80']);
    const m = findingsFillfactor('postgres');
    await k.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        await m.down?.(conn as never);
        expect(await options()).toEqual([]);
        await m.up(conn as never);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
    expect(await options()).toEqual(['fillfactor=80']);
  });
});
