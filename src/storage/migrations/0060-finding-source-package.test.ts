import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { runDemo } from '../../services/demo.js';
import { rawKysely, underMigrationLock, type Db } from '../database.js';
import { introspectSchema } from '../introspect.js';
import { findingSourcePackage } from './0060-finding-source-package.js';

describe.each(testDatabases())('migration 0060 (finding source package) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('fills the source package of stored findings from their hosts inventories, as the writer does', async () => {
    await runDemo(db);
    const k = rawKysely(db);
    const rows = async (): Promise<{ package: string; source_package: string | null }[]> =>
      (await sql<{ package: string; source_package: string | null }>`select package, source_package from findings order by pk`.execute(k)).rows;
    const written = await rows();
    // The demo host has binaries built from another source (kernel-tools from kernel), and the writer stored them.
    expect(written.some((r) => r.source_package !== null && r.source_package !== r.package)).toBe(true);
    expect(written.every((r) => r.source_package !== null)).toBe(true);
    // Back to the schema before 0060 (rows kept), then up again: the backfill gives what the writer wrote.
    const m = findingSourcePackage(db.dialect);
    await underMigrationLock(db, (conn) => m.down?.(conn) ?? Promise.resolve());
    expect(Object.keys((await introspectSchema(db))['findings']?.columns ?? {})).not.toContain('source_package');
    await underMigrationLock(db, (conn) => m.up(conn));
    expect((await introspectSchema(db))['findings']?.indexes).toContain(
      'index (source_package, package, installed, fixed, advisory_pk, target_id, status, severity_rank, first_seen_at)',
    );
    expect(await rows()).toEqual(written);
  });
});
