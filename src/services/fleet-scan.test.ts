import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { realFleet, type FleetHost } from '../../test/real-fleet.js';
import { requires } from '../../test/needs.js';
import { shared } from '../../test/shared-data.js';
import { packagesToJudge } from '../matching/kernels.js';
import { matchPackages } from '../matching/match.js';
import { loadAdvisories, loadInventory, queryFindings, transaction, upsertTarget, type StoredTarget } from '../storage/index.js';
import { addSource } from './feed-sources.js';
import { syncSource } from './feeds.js';
import { LIFECYCLE_SOURCE, scanAll, scanChanged } from './scan.js';
import { saveInventoryWithSources } from './source-names.js';
import type { Db } from './store.js';

/**
 * Issue #14, "Done when": the findings of the one matching path (services/fleet-scan.ts) equal
 * the old path's on a real fleet. The old path is kept here, as it was in services/scan.ts: per
 * host, its stored inventory and the advisories naming its packages, the running-kernel rule,
 * then matchPackages. The fleet is drawn from the real Azure Linux 3.0 manifests; the feeds are
 * the real 3.0 OVAL of 2025-01-31 and its next copy, 2025-02-24.
 */
const data = shared();
const OLD = shared('azurelinux', 'oval', 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz');
const NEXT = shared('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const R = 'azurelinux:3.0';
const HOSTS = 120;
const clock = (): Date => new Date('2026-11-01T00:00:00Z');

async function oldPath(db: Db, targets: readonly StoredTarget[]): Promise<string[]> {
  const out: string[] = [];
  for (const t of targets) {
    const packages = await loadInventory(db, t.id);
    const names = new Set<string>();
    for (const p of packages) {
      names.add(p.name);
      if (p.sourceName !== null) names.add(p.sourceName);
    }
    const advisories = await loadAdvisories(db, { release: R, packages: [...names] });
    const seen = new Set<string>();
    for (const m of matchPackages({ family: 'rpm', release: R, packages: packagesToJudge(packages, t.runningKernel), advisories })) {
      const id = `${m.advisorySource}|${m.advisoryId}|${m.package}|${m.arch}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(`${t.name}|${id}|${m.installed}|${m.fixed ?? '-'}|${m.severity}|${m.status}|${m.reason ?? ''}`);
    }
  }
  return out.sort();
}

async function newPath(db: Db, names?: readonly string[]): Promise<string[]> {
  const rows = await queryFindings(db, { status: ['open', 'no-fix', 'accepted'], ...(names === undefined ? {} : { targets: names }) });
  return rows
    .filter((r) => r.advisorySource !== LIFECYCLE_SOURCE)
    .map(
      (r) =>
        `${r.targetName}|${r.advisorySource}|${r.advisoryId}|${r.package}|${r.arch}|${r.installed}|${r.fixed ?? '-'}|${r.severity}|${r.status}|${r.reason ?? ''}`,
    )
    .sort();
}

async function store(db: Db, h: FleetHost): Promise<StoredTarget> {
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const t = await upsertTarget(tx, { name: h.name, kind: 'host', release: R }, now);
    await saveInventoryWithSources(
      tx,
      { targetId: t.id, collectedAt: now, release: R, arch: null, runningKernel: h.runningKernel, rebootRequired: null, packages: h.packages },
      now,
    );
    return { ...t, runningKernel: h.runningKernel };
  });
}

requires(data, OLD, NEXT).describe('the one matching path on a real fleet', () => {
  describe.each(testDatabases())('on $name', ({ open }) => {
    let db: Db;
    let targets: StoredTarget[] = [];
    const fleet = realFleet(data.path, HOSTS, { prefix: 'real' });
    beforeAll(async () => {
      db = await open();
      for (const h of fleet) targets.push(await store(db, h));
      targets = targets.sort((a, b) => a.name.localeCompare(b.name));
      await addSource(db, { id: 'azurelinux-3.0-oval', location: OLD.path });
    }, 600_000);
    afterAll(async () => {
      await db.close();
    });

    it('gives the findings the old path gives after a first sync, a next real sync, and an agent-like change of three packages', async () => {
      const first = await syncSource(db, 'azurelinux-3.0-oval', { clock });
      expect(first.rescanned).toBe(HOSTS);
      const expected = await oldPath(db, targets);
      expect(expected.length).toBeGreaterThan(HOSTS * 20);
      expect(await newPath(db)).toEqual(expected);

      // The next real copy of the feed: only what changed is matched again, and the result is
      // what matching everything again gives.
      const next = await syncSource(db, 'azurelinux-3.0-oval', { clock, file: NEXT.path });
      expect(next.added + next.changed + next.withdrawn).toBeGreaterThan(0);
      expect(await newPath(db)).toEqual(await oldPath(db, targets));
      const all = await scanAll(db, clock);
      expect(all.failures).toEqual([]);
      expect(all.scanned.filter((s) => s.counts.opened + s.counts.closed + s.counts.reopened > 0)).toEqual([]);

      // One host changes three packages that have findings: only their builds are matched again.
      const byHost = new Map<string, Set<string>>();
      for (const k of await newPath(db)) {
        const [h, , , pkg] = k.split('|');
        byHost.set(h as string, (byHost.get(h as string) ?? new Set()).add(pkg as string));
      }
      const [name, pkgs] = [...byHost].sort((x, y) => y[1].size - x[1].size)[0] ?? ['', new Set<string>()];
      const host = fleet.find((h) => h.name === name) as FleetHost;
      const t = targets.find((x) => x.name === host.name) as StoredTarget;
      const withFindings = [...pkgs].sort().slice(0, 3);
      expect(withFindings).toHaveLength(3);
      const changed = host.packages.map((p) => (withFindings.includes(p.name) ? { ...p, version: '999.0', release: '1.azl3' } : p));
      const saved = await transaction(db, (tx) =>
        saveInventoryWithSources(
          tx,
          {
            targetId: t.id,
            collectedAt: clock().toISOString(),
            release: R,
            arch: null,
            runningKernel: host.runningKernel,
            rebootRequired: null,
            packages: changed,
          },
          clock().toISOString(),
        ),
      );
      expect(saved.changedNames.sort()).toEqual([...withFindings].sort());
      const r = await scanChanged(db, t.id, saved, { release: R, runningKernel: host.runningKernel }, clock);
      expect(r.counts.closed).toBeGreaterThan(0);
      expect(r.matched).toBeLessThanOrEqual(withFindings.length * 2);
      expect(await newPath(db, [host.name])).toEqual(await oldPath(db, [t]));
    }, 600_000);
  });
});
