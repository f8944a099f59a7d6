import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { rawKysely, underMigrationLock, type Db } from '../database.js';
import { listFindings, recordFindings, saveInventory, upsertAdvisories, upsertTarget } from '../index.js';
import { introspectSchema } from '../introspect.js';
import { findingsByAdvisory } from './0038-findings-by-advisory.js';
import { fanOutIndexes } from './0057-fanout-indexes.js';
import { findingsAdvisoryCovering } from './0082-findings-advisory-covering.js';

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
    // Back to the schema without 0038's index by that migration's own down (later migrations,
    // merged in any order, stay: the rows below are written by today's code), under the lock
    // every migration takes.
    // 0057 widened 0038's index to (advisory_pk, target_id) and 0082 to a covering one: undone
    // first, redone last.
    await underMigrationLock(db, (conn) => findingsAdvisoryCovering().down?.(conn) ?? Promise.resolve());
    await underMigrationLock(db, (conn) => fanOutIndexes().down?.(conn) ?? Promise.resolve());
    expect((await introspectSchema(db))['findings']?.indexes).toContain('index (advisory_pk)');
    await underMigrationLock(db, (conn) => findingsByAdvisory().down?.(conn) ?? Promise.resolve());
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
    await underMigrationLock(db, (conn) => findingsByAdvisory().up(conn));
    expect((await introspectSchema(db))['findings']?.indexes).toContain('index (advisory_pk)');
    await underMigrationLock(db, (conn) => fanOutIndexes().up(conn));
    expect((await introspectSchema(db))['findings']?.indexes).toContain('index (advisory_pk, target_id)');
    await underMigrationLock(db, (conn) => findingsAdvisoryCovering().up(conn));
    const shape = await introspectSchema(db);
    expect(shape['findings']?.indexes).toContain('index (advisory_pk, target_id, package, arch, installed, pk)');
    expect(shape['findings']?.indexes).not.toContain('index (advisory_pk, target_id)');
    expect(shape['findings']?.indexes).not.toContain('index (advisory_pk)');
    expect(shape['target_packages']?.indexes).toEqual(['index (package_pk, target_id)']);
    expect([await count('packages'), await count('target_packages'), await count('findings')]).toEqual(counts);
    expect(await listFindings(db)).toEqual(before);
  });
});
