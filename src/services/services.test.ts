import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { DEMO_DIR, runDemo } from './demo.js';
import { ingestFeedFile } from './ingest.js';
import { importRpmQaFile } from './inventory.js';
import { scanAll, scanTarget } from './scan.js';
import type { Db } from './store.js';
import { listFindings } from '../storage/index.js';

const clockAt = (iso: string) => () => new Date(iso);

describe.each(testDatabases())('services on $name', ({ open }) => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-svc-'));
    cpSync(DEMO_DIR, dir, { recursive: true });
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the demo: the same findings on either database', async () => {
    const r = await runDemo(db, { dir, clock: clockAt('2026-11-01T00:00:00Z') });
    expect(r.ingest).toMatchObject({ added: 6, changed: 0, withdrawn: 0 });
    expect(r.scan.active.map((f) => `${f.advisoryId} ${f.package} ${f.status}`).sort()).toEqual([
      'DEMO-2024-0001 openssl open',
      'DEMO-2024-0001 openssl-libs open',
      'DEMO-2024-0002 golang open',
      'DEMO-2024-0005 kernel open',
      'DEMO-2024-0005 kernel-tools open',
      'DEMO-2024-0007 vim no-fix',
    ]);
  });

  it('closes findings when the host is patched and when an advisory is withdrawn', async () => {
    await runDemo(db, { dir, clock: clockAt('2026-11-01T00:00:00Z') });
    // Patch openssl on the host.
    const inv = join(dir, 'inventory.tsv');
    writeFileSync(inv, readFileSync(inv, 'utf8').replaceAll('3.3.0\t2.azl3', '3.3.0\t3.azl3').replaceAll('openssl-3.3.0-2', 'openssl-3.3.0-3'));
    await importRpmQaFile(db, { name: 'demo-azl3-vm', release: 'azurelinux:3.0', file: inv }, clockAt('2026-11-02T00:00:00Z'));
    const s = await scanTarget(db, 'demo-azl3-vm', clockAt('2026-11-02T00:00:00Z'));
    expect(s.counts).toEqual({ opened: 0, kept: 4, reopened: 0, closed: 2 });
    // The vendor withdraws the golang advisory.
    const feed = join(dir, 'advisories.json');
    const doc = JSON.parse(readFileSync(feed, 'utf8')) as { advisories: { id: string }[] };
    doc.advisories = doc.advisories.filter((a) => a.id !== 'DEMO-2024-0002');
    writeFileSync(feed, JSON.stringify(doc));
    expect(await ingestFeedFile(db, feed, clockAt('2026-11-03T00:00:00Z'))).toMatchObject({ withdrawn: 1, unchanged: 5 });
    const all = await scanAll(db, clockAt('2026-11-03T00:00:00Z'));
    expect(all.failures).toEqual([]);
    expect(all.scanned.map((x) => [x.target, x.counts.closed])).toEqual([['demo-azl3-vm', 1]]);
    const active = await listFindings(db, { targetId: all.scanned[0]!.targetId, status: ['open', 'no-fix', 'accepted'] });
    expect(active.map((f) => f.package).sort()).toEqual(['kernel', 'kernel-tools', 'vim']);
  });

  it('stores nothing from a bad inventory file and names the line', async () => {
    const bad = join(dir, 'bad.tsv');
    writeFileSync(bad, 'bash\t0\t5.2\t1\tx86_64\tbash-5.2-1.src.rpm\nbroken line\n');
    await expect(importRpmQaFile(db, { name: 'h', release: 'azurelinux:3.0', file: bad })).rejects.toThrow(`${bad}:2: expected 6 tab-separated fields`);
    await expect(scanTarget(db, 'h')).rejects.toThrow('no target named "h"');
    await expect(importRpmQaFile(db, { name: 'h', release: 'debian:12', file: bad })).rejects.toThrow(/not an rpm-based release/);
  });

  it('refuses a missing or oversized feed with the file named', async () => {
    await expect(ingestFeedFile(db, join(dir, 'nope.json'))).rejects.toThrow(`cannot read ${join(dir, 'nope.json')}: ENOENT`);
    const notUtf8 = join(dir, 'latin1.json');
    writeFileSync(notUtf8, Buffer.from([0x7b, 0xe9, 0x7d]));
    await expect(ingestFeedFile(db, notUtf8)).rejects.toThrow(`${notUtf8}: not valid UTF-8`);
  });
});
