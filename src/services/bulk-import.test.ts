import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { requires, tool } from '../../test/needs.js';
import { realFleet, type FleetHost } from '../../test/real-fleet.js';
import { shared } from '../../test/shared-data.js';
import { listTargets, queryFindings } from '../storage/index.js';
import { importInventories } from './bulk-import.js';
import { addSource } from './feed-sources.js';
import { syncSource } from './feeds.js';
import { scanAll } from './scan.js';
import type { Db } from './store.js';

const data = shared();
const FEED = shared('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const dir = mkdtempSync(join(tmpdir(), 'bulwark-bulk-'));
const sqlite = testDatabases().find((d) => d.name === 'sqlite');

const rpmQa = (h: FleetHost): string =>
  h.packages
    .map((p) =>
      [p.name, String(p.epoch ?? 0), p.version, p.release ?? '', p.arch, `${p.sourceName ?? p.name}-${p.version}-${p.release ?? ''}.src.rpm`].join('\t'),
    )
    .join('\n') + '\n';

requires(data, FEED, tool('tar')).describe('bulwark hosts import (issue #14)', () => {
  let db: Db;
  const fleet = realFleet(data.path, 30, { prefix: 'bulk' });
  beforeAll(async () => {
    db = await (sqlite as NonNullable<typeof sqlite>).open();
    await addSource(db, { id: 'azurelinux-3.0-oval', location: FEED.path });
    await syncSource(db, 'azurelinux-3.0-oval');
    mkdirSync(join(dir, 'inv'));
    for (const h of fleet.slice(0, 10)) writeFileSync(join(dir, 'inv', `${h.name}.tsv`), rpmQa(h));
    execFileSync('tar', ['-czf', join(dir, 'fleet.tar.gz'), '-C', join(dir, 'inv'), '.']);
    rmSync(join(dir, 'inv'), { recursive: true });
    mkdirSync(join(dir, 'inv'));
    for (const h of fleet.slice(10, 20)) writeFileSync(join(dir, 'inv', `${h.name}.tsv`), rpmQa(h));
    writeFileSync(join(dir, 'inv', 'broken.tsv'), 'bash\t0\t5.2\n');
    const lines = fleet.slice(20).map((h) => JSON.stringify({ name: h.name, release: 'azurelinux:3.0', inventory: rpmQa(h) }));
    writeFileSync(join(dir, 'fleet.jsonl'), [...lines.slice(0, 5), '{"name": 1}', ...lines.slice(5)].join('\n') + '\n');
  }, 300_000);
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a tar, a directory and JSON lines, names the bad records, and matches once at the end as a full scan would', async () => {
    const tar = await importInventories(db, join(dir, 'fleet.tar.gz'), { batch: 3 });
    expect(tar).toMatchObject({ hosts: 10, failures: [] });
    expect(tar.opened).toBeGreaterThan(10 * 10);
    const d = await importInventories(db, join(dir, 'inv'), { release: 'azurelinux:3.0' });
    expect(d.hosts).toBe(10);
    expect(d.failures).toEqual([
      { record: join(dir, 'inv', 'broken.tsv'), error: expect.stringContaining('broken.tsv: not an inventory Bulwark reads') as unknown },
    ]);
    const j = await importInventories(db, join(dir, 'fleet.jsonl'));
    expect(j.hosts).toBe(10);
    expect(j.failures).toEqual([{ record: `${join(dir, 'fleet.jsonl')}:6`, error: expect.stringContaining('fleet.jsonl:6: a line is') as unknown }]);
    // Distinct builds are matched once: fewer than the packages imported.
    expect(d.matched).toBeLessThan(d.packages / 2);
    const names = (await queryFindings(db, {})).map((f) => f.targetName);
    expect(new Set(names).size).toBe(30);
    // What a full re-match finds is what the import stored.
    const all = await scanAll(db);
    expect(all.scanned).toHaveLength(30);
    expect(all.scanned.filter((s) => s.counts.opened + s.counts.closed + s.counts.reopened > 0)).toEqual([]);
    // Imported again unchanged: every link kept, nothing new.
    expect(await importInventories(db, join(dir, 'fleet.jsonl'))).toMatchObject({ hosts: 10, newPackages: 0, opened: 0 });
    await expect(importInventories(db, join(dir, 'absent'))).rejects.toThrow(`cannot read ${join(dir, 'absent')}`);
  }, 300_000);

  it('leaves out, named, a record whose host name `hosts add` would refuse (a space, a path, a newline)', async () => {
    const inv = 'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n';
    mkdirSync(join(dir, 'names'));
    writeFileSync(join(dir, 'names', 'web 02.tsv'), inv);
    writeFileSync(join(dir, 'names', 'names-ok.tsv'), inv);
    const d = await importInventories(db, join(dir, 'names'));
    expect(d).toMatchObject({
      hosts: 1,
      failures: [{ record: join(dir, 'names', 'web 02.tsv'), error: '"web 02" is not a host name (letters, digits, ".", "_", "-")' }],
    });
    writeFileSync(join(dir, 'names.jsonl'), ['../../x', 'a\nb', '\u001b[2Jc'].map((name) => JSON.stringify({ name, inventory: inv })).join('\n') + '\n');
    const j = await importInventories(db, join(dir, 'names.jsonl'));
    expect(j.hosts).toBe(0);
    expect(j.failures.map((f) => f.error)).toEqual([
      '"../../x" is not a host name (letters, digits, ".", "_", "-")',
      '"a\\nb" is not a host name (letters, digits, ".", "_", "-")',
      '"\\u001b[2Jc" is not a host name (letters, digits, ".", "_", "-")',
    ]);
    const names = new Set((await listTargets(db)).map((t) => t.name));
    expect(names.has('names-ok')).toBe(true);
    for (const bad of ['web 02', '../../x', 'a\nb', '\u001b[2Jc']) expect(names.has(bad)).toBe(false);
  }, 300_000);

  it('imports a directory entry that is a link to an inventory, and names a subdirectory or a dangling link it cannot read', async () => {
    const inv = 'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n';
    const d = join(dir, 'links');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'linked-target.tsv'), inv);
    symlinkSync(join(dir, 'linked-target.tsv'), join(d, 'linked-01.tsv'));
    symlinkSync(join(dir, 'absent.tsv'), join(d, 'dangling.tsv'));
    writeFileSync(join(d, '.swp'), 'not an inventory');
    const r = await importInventories(db, d);
    expect(r.hosts).toBe(1);
    expect(r.failures).toEqual([
      { record: join(d, 'dangling.tsv'), error: `${join(d, 'dangling.tsv')}: not a file (a directory, or a link to none); not imported` },
      { record: join(d, 'sub'), error: `${join(d, 'sub')}: not a file (a directory, or a link to none); not imported` },
    ]);
    expect((await listTargets(db)).map((t) => t.name)).toContain('linked-01');
  }, 300_000);
  it("records a host's one arch (noarch aside), and none for a host of two", async () => {
    const line = (name: string, arches: string[]): string =>
      JSON.stringify({
        name,
        release: 'azurelinux:3.0',
        inventory: arches.map((a, n) => `p${String(n)}\t0\t1.0\t1.azl3\t${a}\tp${String(n)}-1.0-1.azl3.src.rpm`).join('\n') + '\n',
      });
    writeFileSync(
      join(dir, 'arches.jsonl'),
      [
        line('arch-one', ['noarch', 'aarch64', 'noarch', 'aarch64']),
        line('arch-two', ['x86_64', 'noarch', 'x86_64', 'aarch64', 'x86_64']),
        line('arch-none', ['noarch', 'noarch']),
      ].join('\n') + '\n',
    );
    expect((await importInventories(db, join(dir, 'arches.jsonl'))).hosts).toBe(3);
    const arch = new Map((await listTargets(db)).map((t) => [t.name, t.arch]));
    expect([arch.get('arch-one'), arch.get('arch-two'), arch.get('arch-none')]).toEqual(['aarch64', null, null]);
  }, 300_000);
});
