import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
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
    expect(extended.active.map((x) => [x.advisorySource, x.advisoryId, x.severity, x.status])).toEqual([[LIFECYCLE_SOURCE, 'EOL-mariner:2.0', 'medium', 'no-fix']]);
    const after = await scanTarget(db, 'old-01', () => new Date('2026-01-01T00:00:00Z'));
    expect(after.active).toHaveLength(1);
    expect(after.active[0]).toMatchObject({ severity: 'high', reason: 'no vendor security updates any more' });
  });
});
