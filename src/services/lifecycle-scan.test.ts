import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { rawKysely } from '../storage/index.js';
import { importInventoryFile } from './inventory.js';
import { LIFECYCLE_SOURCE, scanTarget } from './scan.js';
import type { Db } from './store.js';

describe.each(testDatabases())('end of support as a finding on $name', ({ open }) => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-eol-'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a CBL-Mariner 2.0 host past its end of support, and keeps one finding across scans', async () => {
    const f = join(dir, 'm2.tsv');
    writeFileSync(f, 'bash\t0\t5.1.8\t4.cm2\tx86_64\tbash-5.1.8-4.cm2.src.rpm\n');
    const t = await importInventoryFile(db, { file: f, name: 'old-01' });
    expect(t.target.release).toBe('mariner:2.0');
    const during = await scanTarget(db, 'old-01', () => new Date('2025-06-01T00:00:00Z'));
    expect(during.active).toEqual([]);
    const extended = await scanTarget(db, 'old-01', () => new Date('2025-09-01T00:00:00Z'));
    expect(extended.active.map((x) => [x.advisorySource, x.advisoryId, x.severity, x.status])).toEqual([
      [LIFECYCLE_SOURCE, 'EOL-mariner:2.0', 'medium', 'no-fix'],
    ]);
    const after = await scanTarget(db, 'old-01', () => new Date('2026-01-01T00:00:00Z'));
    expect(after.active).toHaveLength(1);
    expect(after.active[0]).toMatchObject({ severity: 'high', reason: 'no vendor security updates any more' });
  });

  it('closes the end-of-support finding as fixed when the host moves to a supported release (the host changed)', async () => {
    const f = join(dir, 'm2.tsv');
    writeFileSync(f, 'bash\t0\t5.1.8\t4.cm2\tx86_64\tbash-5.1.8-4.cm2.src.rpm\n');
    await importInventoryFile(db, { file: f, name: 'old-01' });
    const late = (): Date => new Date('2026-01-01T00:00:00Z');
    expect((await scanTarget(db, 'old-01', late)).active.map((x) => x.advisoryId)).toEqual(['EOL-mariner:2.0']);
    // The host is reinstalled with Azure Linux 3.0: its release changed, so the finding is fixed,
    // not withdrawn (the lifecycle advisory never has fixes; that says nothing about the feed).
    writeFileSync(f, 'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n');
    await importInventoryFile(db, { file: f, name: 'old-01' });
    const now = await scanTarget(db, 'old-01', late);
    expect(now.target.release).toBe('azurelinux:3.0');
    expect(now.active).toEqual([]);
    const closed = await rawKysely(db).selectFrom('findings').select(['status']).where('target_id', '=', now.target.id).execute();
    expect(closed.map((r) => r.status)).toEqual(['fixed']);
  });
});
