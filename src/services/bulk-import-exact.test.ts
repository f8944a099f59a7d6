import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { requires } from '../../test/needs.js';
import { realFleet, type FleetHost } from '../../test/real-fleet.js';
import { shared } from '../../test/shared-data.js';
import { learnedSourceNames, queryFindings, rawKysely } from '../storage/index.js';
import { importInventories } from './bulk-import.js';
import { addSource } from './feed-sources.js';
import { syncSource } from './feeds.js';
import { importInventoryFile } from './inventory.js';
import { scanTarget } from './scan.js';
import type { Db } from './store.js';

const data = shared();
const FEED = shared('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const R = 'azurelinux:3.0';

const rpmQa = (h: FleetHost): string =>
  h.packages
    .map((p) =>
      [p.name, String(p.epoch ?? 0), p.version, p.release ?? '', p.arch, `${p.sourceName ?? p.name}-${p.version}-${p.release ?? ''}.src.rpm`].join('\t'),
    )
    .join('\n') + '\n';

/** Everything an import stores, by names (ids differ between stores): links, learned names, findings. */
async function stored(db: Db, names: readonly string[]): Promise<unknown> {
  const links = await rawKysely(db)
    .selectFrom('target_packages')
    .innerJoin('targets', 'targets.id', 'target_packages.target_id')
    .innerJoin('packages', 'packages.pk', 'target_packages.package_pk')
    .select(['targets.name as target', 'packages.key', 'packages.source_name', 'packages.source_origin'])
    .execute();
  const findings = (await queryFindings(db, {})).map((f) => [f.targetName, f.advisoryId, f.package, f.arch, f.installed, f.fixed, f.status].join(' '));
  return {
    links: links.map((l) => [l.target, l.key, l.source_name, l.source_origin].join(' ')).sort(),
    learned: [...(await learnedSourceNames(db, R, names))].map(([n, c]) => [n, [...c].sort()]).sort(),
    findings: findings.sort(),
  };
}

/**
 * Issue #14: a bulk import (claims per fact, links in JSON batches) stores exactly what importing
 * the same hosts one by one (`scan --inventory F --name H`, each host matched on its own) stores.
 */
requires(data, FEED).describe('bulk import stores what one-by-one imports store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bulk-exact-'));
  const fleet = realFleet(data.path, 12, { prefix: 'exact' });
  beforeAll(() => {
    const jsonl = (hs: FleetHost[]): string => hs.map((h) => JSON.stringify({ name: h.name, release: R, inventory: rpmQa(h) })).join('\n') + '\n';
    writeFileSync(join(dir, 'fleet.jsonl'), jsonl(fleet));
    writeFileSync(join(dir, 'first.jsonl'), jsonl(fleet.slice(0, 6)));
    writeFileSync(join(dir, 'rest.jsonl'), jsonl(fleet.slice(6)));
    // Hosts listed twice, the last inventory standing: one in the same batch of 5 (exact-1), one
    // two batches later (exact-9), after another host's inventory under their name.
    const [f1, f4, f7, f9] = [fleet[1], fleet[4], fleet[7], fleet[9]] as [FleetHost, FleetHost, FleetHost, FleetHost];
    writeFileSync(join(dir, 'again.jsonl'), jsonl([{ ...f9, packages: f4.packages }, { ...f1, packages: f7.packages }, ...fleet]));
    writeFileSync(join(dir, 'head.jsonl'), jsonl([{ ...f1, packages: f7.packages }]));
    writeFileSync(join(dir, 'rest-again.jsonl'), jsonl([{ ...(fleet[7] as FleetHost), packages: f4.packages }, ...fleet.slice(6)]));
    writeFileSync(join(dir, 'before-7.tsv'), rpmQa(f4));
    writeFileSync(join(dir, 'before-9.tsv'), rpmQa(f4));
    writeFileSync(join(dir, 'before-1.tsv'), rpmQa(f7));
    for (const h of fleet) writeFileSync(join(dir, `${h.name}.tsv`), rpmQa(h));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(testDatabases())('on $name', ({ open }) => {
    // An initial load (one transaction, indexes built at the end), and an import into a store
    // holding more hosts than a batch (a transaction per batch) after one of 6 hosts.
    it.each([
      ['an initial load', ['fleet.jsonl'], [], false],
      ['an import into a populated store', ['first.jsonl', 'rest.jsonl'], [], false],
      // One by one, the same hosts' first inventories are imported first (their learned names
      // stay), matched when the bulk side matched them (a host stored before an initial load).
      ['an initial load that lists hosts twice', ['again.jsonl'], [9, 1], false],
      ['an initial load over a host stored before', ['head.jsonl', 'fleet.jsonl'], [1], true],
      ['a populated store and a batch that lists a host twice', ['first.jsonl', 'rest-again.jsonl'], [7], false],
    ])(
      'stores the same links, learned source names and findings in %s',
      async (_, files, before: number[], matchedBefore: boolean) => {
        const [bulk, one] = [await open(), await open()];
        try {
          for (const db of [bulk, one]) {
            await addSource(db, { id: 'azurelinux-3.0-oval', location: FEED.path });
            await syncSource(db, 'azurelinux-3.0-oval');
          }
          let hosts = 0;
          for (const f of files) {
            const r = await importInventories(bulk, join(dir, f), { batch: 5 });
            expect(r.failures).toEqual([]);
            hosts += r.hosts;
          }
          expect(hosts).toBe(12 + (files.includes('head.jsonl') ? 1 : 0));
          for (const i of before) {
            const s = await importInventoryFile(one, { file: join(dir, `before-${String(i)}.tsv`), name: (fleet[i] as FleetHost).name, release: R });
            // Within one bulk import a host is matched once, after its last inventory.
            if (matchedBefore) await scanTarget(one, s.target.id);
          }
          for (const h of fleet) {
            const s = await importInventoryFile(one, { file: join(dir, `${h.name}.tsv`), name: h.name, release: R });
            await scanTarget(one, s.target.id);
          }
          const names = [...new Set(fleet.flatMap((h) => h.packages.map((p) => p.name)))];
          const want = await stored(one, names);
          expect((want as { findings: unknown[] }).findings.length).toBeGreaterThan(100);
          expect(await stored(bulk, names)).toEqual(want);
        } finally {
          await bulk.close();
          await one.close();
        }
      },
      300_000,
    );
  });
});
