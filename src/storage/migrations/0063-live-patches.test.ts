import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { rawKysely, underMigrationLock, type Db } from '../database.js';
import { getTarget, listFindings, recordFindings, saveInventory, upsertAdvisories, upsertTarget } from '../index.js';
import { introspectSchema } from '../introspect.js';
import { livePatches } from './0063-live-patches.js';

const T0 = '2026-11-01T00:00:00.000Z';

describe.each(testDatabases())('migration 0063 (live patches, the mitigated status) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('goes down and up again with the findings kept: mitigated ones open on the way down, the status admitted on the way up', async () => {
    const k = rawKysely(db);
    const fix = {
      release: 'azurelinux:3.0',
      package: 'kernel',
      packageKind: 'binary' as const,
      arch: null,
      status: 'fixed' as const,
      lastAffected: null,
      introduced: null,
    };
    const adv = (id: string): Parameters<typeof upsertAdvisories>[1][number] => ({
      source: 's',
      id,
      title: id,
      description: '',
      severity: 'high',
      cvssScore: null,
      cvssVector: null,
      cves: [],
      references: [],
      publishedAt: null,
      updatedAt: null,
      parser: 't',
      fixes: [{ ...fix, fixed: '6.6.60.1-1.azl3' }],
    });
    await upsertAdvisories(db, [adv('K-1'), adv('K-2')], T0);
    const t = await upsertTarget(db, { name: 'azl-1', kind: 'host', release: 'azurelinux:3.0' }, T0);
    const kernel = {
      family: 'rpm' as const,
      name: 'kernel',
      epoch: null,
      version: '6.6.57.1',
      release: '6.azl3',
      arch: 'x86_64',
      sourceName: 'kernel',
      sourceVersion: null,
    };
    const lp = { tool: 'kpatch' as const, name: 'lp_1', state: 'enabled', active: true, package: null, cves: ['CVE-2024-1'] };
    await saveInventory(db, {
      targetId: t.id,
      collectedAt: T0,
      release: 'azurelinux:3.0',
      arch: 'x86_64',
      runningKernel: '6.6.57.1-6.azl3',
      rebootRequired: null,
      packages: [kernel],
      livePatches: [lp],
    });
    expect((await getTarget(db, t.id))?.livePatches).toEqual([lp]);
    const f = (id: string, status: 'open' | 'mitigated') => ({
      advisorySource: 's',
      advisoryId: id,
      package: 'kernel',
      arch: 'x86_64',
      installed: '6.6.57.1-6.azl3',
      fixed: '6.6.60.1-1.azl3',
      severity: 'high' as const,
      status,
      reason: status === 'mitigated' ? 'live-patched' : null,
    });
    const builds = [{ package: 'kernel', arch: 'x86_64', installed: '6.6.57.1-6.azl3' }];
    await recordFindings(db, t.id, [f('K-1', 'mitigated'), f('K-2', 'open')], builds, T0);
    const statuses = async (): Promise<string[]> => (await listFindings(db)).map((x) => `${x.advisoryId} ${x.status}`).sort();
    expect(await statuses()).toEqual(['K-1 mitigated', 'K-2 open']);

    await underMigrationLock(db, (conn) => livePatches(db.dialect).down?.(conn) ?? Promise.resolve());
    expect(Object.keys((await introspectSchema(db))['targets']?.columns ?? {})).not.toContain('live_patches');
    expect(await statuses()).toEqual(['K-1 open', 'K-2 open']);
    // The previous schema refuses the status.
    await expect(sql`update findings set status = 'mitigated'`.execute(k)).rejects.toThrow();

    await underMigrationLock(db, (conn) => livePatches(db.dialect).up(conn));
    expect(Object.keys((await introspectSchema(db))['targets']?.columns ?? {})).toContain('live_patches');
    await recordFindings(db, t.id, [f('K-1', 'mitigated'), f('K-2', 'open')], builds, T0);
    expect(await statuses()).toEqual(['K-1 mitigated', 'K-2 open']);
    // Only the statuses it knows: the check was rewritten, not dropped.
    await expect(sql`update findings set status = 'bogus'`.execute(k)).rejects.toThrow();
  });
});
