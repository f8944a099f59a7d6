import { Migrator, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { MIGRATION_LOCK_ID, migrateToLatest, rawKysely, type Db } from '../database.js';
import { listFindings, recordFindings, saveInventory, upsertAdvisories, upsertTarget } from '../index.js';
import { introspectSchema } from '../introspect.js';
import { migrationProvider } from './index.js';

const T0 = '2026-11-01T00:00:00.000Z';

describe.each(testDatabases())('migration 0038 (findings by advisory) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('upgrades a store of the previous schema with its builds, links and findings kept', async () => {
    // Back to the schema before 0038, under the lock every migration takes (another test process
    // dropping its schema meanwhile would break the migrator's introspection).
    const k = rawKysely(db);
    const down = await k.connection().execute(async (conn) => {
      if (db.dialect === 'postgres') await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        const migrator = new Migrator({
          db: conn,
          provider: migrationProvider(db.dialect),
          ...(db.schema !== undefined ? { migrationTableSchema: db.schema } : {}),
        });
        return await migrator.migrateTo('0037-advisory-cvss-v4');
      } finally {
        if (db.dialect === 'postgres') await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
    expect(down.error).toBeUndefined();
    expect((await introspectSchema(db))['findings']?.indexes).not.toContain('index (advisory_pk)');
    // Rows written by the previous schema.
    await upsertAdvisories(
      db,
      [
        {
          source: 's',
          id: 'A-1',
          title: 'A-1',
          description: '',
          severity: 'high',
          cvssScore: null,
          cvssVector: null,
          cves: [],
          references: [],
          publishedAt: null,
          updatedAt: null,
          parser: 't',
          fixes: [
            {
              release: 'azurelinux:3.0',
              package: 'curl',
              packageKind: 'source',
              arch: null,
              status: 'fixed',
              fixed: '8.9.0-1.azl3',
              lastAffected: null,
              introduced: null,
            },
          ],
        },
      ],
      T0,
    );
    const t = await upsertTarget(db, { name: 'web-01', kind: 'host', release: 'azurelinux:3.0' }, T0);
    const curl = {
      family: 'rpm' as const,
      name: 'curl',
      epoch: null,
      version: '8.8.0',
      release: '1.azl3',
      arch: 'x86_64',
      sourceName: 'curl',
      sourceVersion: null,
    };
    await saveInventory(db, {
      targetId: t.id,
      collectedAt: T0,
      release: 'azurelinux:3.0',
      arch: 'x86_64',
      runningKernel: null,
      rebootRequired: null,
      packages: [curl],
    });
    const f = {
      advisorySource: 's',
      advisoryId: 'A-1',
      package: 'curl',
      arch: 'x86_64',
      installed: '8.8.0-1.azl3',
      fixed: '8.9.0-1.azl3',
      severity: 'high' as const,
      status: 'open' as const,
    };
    await recordFindings(db, t.id, [f], [{ package: 'curl', arch: 'x86_64', installed: '8.8.0-1.azl3' }], T0);
    const before = await listFindings(db);
    const count = async (table: 'packages' | 'target_packages' | 'findings'): Promise<number> =>
      Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(rawKysely(db))).rows[0]?.n);
    const counts = [await count('packages'), await count('target_packages'), await count('findings')];
    expect(counts).toEqual([1, 1, 1]);
    expect(await migrateToLatest(db)).toContain('0038-findings-by-advisory');
    expect((await introspectSchema(db))['findings']?.indexes).toContain('index (advisory_pk)');
    expect([await count('packages'), await count('target_packages'), await count('findings')]).toEqual(counts);
    expect(await listFindings(db)).toEqual(before);
  });
});
