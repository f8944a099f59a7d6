import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../test/databases.js';
import { rawKysely, underMigrationLock, type Db } from '../database.js';
import { getTarget, saveInventory, setInventoryFingerprint, upsertTarget } from '../index.js';
import { introspectSchema } from '../introspect.js';
import { heldDigest } from './0067-held-digest.js';

const T0 = '2026-12-01T00:00:00.000Z';

describe.each(testDatabases())('migration 0067 (targets.held_digest) on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('goes down and up again with the targets kept; the digest comes back empty (read whole once)', async () => {
    const k = rawKysely(db);
    const t = await upsertTarget(db, { name: 'azl-1', kind: 'host', release: 'azurelinux:3.0' }, T0);
    const bash = {
      family: 'rpm' as const,
      name: 'bash',
      epoch: null,
      version: '5.2.15',
      release: '3.azl3',
      arch: 'x86_64',
      sourceName: 'bash',
      sourceVersion: null,
    };
    const saved = await saveInventory(
      db,
      { targetId: t.id, collectedAt: T0, release: 'azurelinux:3.0', arch: 'x86_64', runningKernel: null, rebootRequired: null, packages: [bash] },
      { digest: true },
    );
    await setInventoryFingerprint(db, t.id, 'f'.repeat(64), T0, saved.digest ?? null);
    const digestOf = async (): Promise<string | null> =>
      (await k.selectFrom('targets').select('held_digest').where('id', '=', t.id).executeTakeFirstOrThrow()).held_digest;
    expect(await digestOf()).toMatch(/^f{64}:/);

    await underMigrationLock(db, (conn) => heldDigest().down?.(conn) ?? Promise.resolve());
    expect(Object.keys((await introspectSchema(db))['targets']?.columns ?? {})).not.toContain('held_digest');
    expect((await getTarget(db, t.id))?.name).toBe('azl-1');

    await underMigrationLock(db, (conn) => heldDigest().up(conn));
    expect(Object.keys((await introspectSchema(db))['targets']?.columns ?? {})).toContain('held_digest');
    expect(await digestOf()).toBeNull();
  });
});
