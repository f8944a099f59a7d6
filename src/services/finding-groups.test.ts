import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import {
  listFindings,
  listTargets,
  loadAdvisories,
  loadInventory,
  recordFindings,
  saveInventory,
  storeEpssScores,
  storeKevCatalog,
  transaction,
  upsertTarget,
  type FindingInput,
} from '../storage/index.js';
import { runDemo } from './demo.js';
import { findingGroupsPage } from './finding-groups.js';
import { rescan } from './fleet-scan.js';
import { findingsPageOf } from './report.js';
import type { Db } from './store.js';

/**
 * Issue #17: the grouped views read the source package stored on each finding by its writer
 * (migration 0060). Their counts must equal the un-summarised answer: each finding's source taken
 * from its host's inventory at read time (the least source name of the host's builds of that
 * binary, else the binary itself), counted here in plain code from the stored rows.
 */
async function expected(db: Db, filter: (t: { name: string; tags: string[] }, f: { severity: string }) => boolean) {
  const targets = new Map((await listTargets(db)).map((t) => [t.id, t]));
  const out = new Map<string, { hosts: Set<string>; findings: number; binaries: Map<string, Set<string>> }>();
  const inventories = new Map<string, Map<string, string>>();
  for (const f of await listFindings(db, { status: ['open', 'no-fix'] })) {
    const t = targets.get(f.targetId);
    if (t === undefined || !filter({ name: t.name, tags: t.tags }, f)) continue;
    let inv = inventories.get(f.targetId);
    if (inv === undefined) {
      inv = new Map<string, string>();
      for (const p of await loadInventory(db, f.targetId)) {
        const was = inv.get(p.name);
        if (p.sourceName !== null && (was === undefined || p.sourceName < was)) inv.set(p.name, p.sourceName);
      }
      inventories.set(f.targetId, inv);
    }
    const key = inv.get(f.package) ?? f.package;
    const g = out.get(key) ?? { hosts: new Set<string>(), findings: 0, binaries: new Map<string, Set<string>>() };
    g.hosts.add(f.targetId);
    g.findings++;
    g.binaries.set(f.package, (g.binaries.get(f.package) ?? new Set<string>()).add(t.name));
    out.set(key, g);
  }
  return [...out]
    .map(([key, g]) => ({
      key,
      hosts: g.hosts.size,
      findings: g.findings,
      binaries: [...g.binaries].map(([n, h]) => ({ name: n, hostCount: h.size })).sort((a, b) => a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

async function grouped(db: Db, q: Parameters<typeof findingGroupsPage>[2]) {
  const r = await findingGroupsPage(db, 'source', { status: ['open', 'no-fix'], ...q }, { limit: 500, offset: 0, sort: 'key' });
  expect(r.total).toBe(r.items.length);
  return r.items.map((g) => ({
    key: g.key,
    hosts: g.hosts,
    findings: g.findings,
    binaries: g.binaries.map((b) => ({ name: b.name, hostCount: b.hostCount })),
  }));
}

describe.each(testDatabases())('findings grouped by source package on $name', ({ open }) => {
  it('stores each finding source on write (scan path and recordFindings), and counts as the inventories say', async () => {
    const db = await open();
    try {
      const demo = await runDemo(db);
      const template = demo.inventory.target;
      const packages = await loadInventory(db, template.id);
      // A binary that names its own source differently on some hosts (a rebuild), to tell the paths apart.
      const renamed = packages.find((p) => p.sourceName !== null && p.sourceName !== p.name);
      expect(renamed).toBeDefined();
      const found: FindingInput[] = (await listFindings(db, { targetId: template.id })).map((f) => ({
        advisorySource: f.advisorySource,
        advisoryId: f.advisoryId,
        package: f.package,
        arch: 'x86_64',
        installed: f.installed,
        fixed: f.fixed,
        severity: f.severity,
        status: f.status === 'no-fix' ? 'no-fix' : 'open',
      }));
      const scanned: string[] = [];
      const now = new Date().toISOString();
      await transaction(db, async (tx) => {
        for (let i = 0; i < 8; i++) {
          const t = await upsertTarget(tx, { name: `h-${String(i)}`, kind: 'host', release: template.release, tags: [`rack-${String(i % 2)}`] }, now);
          const own = i % 3 === 0 ? packages.map((p) => (p.name === renamed?.name ? { ...p, sourceName: 'rebuilt-src' } : p)) : packages;
          await saveInventory(tx, {
            targetId: t.id,
            collectedAt: now,
            release: template.release ?? '',
            arch: 'x86_64',
            runningKernel: null,
            rebootRequired: null,
            packages: own,
          });
          // Half through the fleet scan, half through recordFindings (which looks the source up).
          if (i < 4) scanned.push(t.id);
          else await recordFindings(tx, t.id, found, found, now);
        }
      });
      await rescan(db, { targets: scanned });
      const all = await expected(db, () => true);
      expect(all.some((g) => g.key === 'rebuilt-src')).toBe(true);
      expect(await grouped(db, {})).toEqual(all);
      expect(await grouped(db, { tag: 'rack-1' })).toEqual(await expected(db, (t) => t.tags.includes('rack-1')));
      expect(await grouped(db, { minSeverity: 'high' })).toEqual(await expected(db, (_t, f) => f.severity === 'high' || f.severity === 'critical'));
      expect(await grouped(db, { host: 'h-3' })).toEqual(await expected(db, (t) => t.name === 'h-3'));

      // An inventory that now names another source: the next write stores it (not only last_seen).
      // (Through recordFindings: the fleet scan matches by source name, so a renamed source drops the match.)
      const h1 = (await listTargets(db)).find((t) => t.name === 'h-4');
      if (h1 === undefined || renamed === undefined) throw new Error('no h-1');
      await transaction(db, (tx) =>
        saveInventory(tx, {
          targetId: h1.id,
          collectedAt: now,
          release: template.release ?? '',
          arch: 'x86_64',
          runningKernel: null,
          rebootRequired: null,
          packages: packages.map((p) => (p.name === renamed.name ? { ...p, sourceName: 'moved-src' } : p)),
        }),
      );
      await transaction(db, (tx) => recordFindings(tx, h1.id, found, found, now));
      const after = await expected(db, () => true);
      expect(after.find((g) => g.key === 'moved-src')?.hosts).toBe(1);
      expect(await grouped(db, {})).toEqual(after);
    } finally {
      await db.close();
    }
  });

  it('filters by risk as the flat list does: advisories with a CVE known exploited, or scored by EPSS above a bound', async () => {
    const db = await open();
    try {
      await runDemo(db);
      const now = new Date().toISOString();
      const cves = [...new Set((await loadAdvisories(db, {})).flatMap((a) => a.cves))].sort();
      expect(cves.length).toBeGreaterThan(2);
      const kevCve = cves[1] ?? '';
      await storeKevCatalog(
        db,
        { title: 't', catalogVersion: '1', dateReleased: now, count: 1 },
        [
          {
            cve: kevCve,
            vendorProject: 'v',
            product: 'p',
            vulnerabilityName: 'n',
            dateAdded: '2026-11-01',
            shortDescription: '',
            requiredAction: '',
            dueDate: '2026-11-22',
            ransomware: false,
            notes: '',
            cwes: [],
          },
        ],
        now,
      );
      await storeEpssScores(
        db,
        { modelVersion: 'v1', scoreDate: now.slice(0, 10) },
        cves.map((cve, i) => ({ cve, epss: (i + 1) / (cves.length + 1), percentile: 0.5 })),
      );
      const flat = async (q: { kev?: boolean; epssAbove?: number }) =>
        [...new Set((await findingsPageOf(db, q, { limit: 1000, offset: 0 })).items.map((f) => `${f.advisorySource}:${f.advisoryId}`))].sort();
      const groups = async (q: { kev?: boolean; epssAbove?: number }) =>
        (await findingGroupsPage(db, 'advisory', { status: ['open', 'no-fix'], ...q }, { limit: 500, offset: 0, sort: 'key' })).items.map((g) => g.key).sort();
      const kev = await flat({ kev: true });
      expect(kev.length).toBeGreaterThan(0);
      expect(await groups({ kev: true })).toEqual(kev);
      const epss = await flat({ epssAbove: 0.5 });
      expect(epss.length).toBeGreaterThan(0);
      expect(epss.length).toBeLessThan((await flat({})).length);
      expect(await groups({ epssAbove: 0.5 })).toEqual(epss);
      // By source package too: the same findings, folded the other way.
      const bySource = await findingGroupsPage(db, 'source', { status: ['open', 'no-fix'], kev: true }, { limit: 500, offset: 0, sort: 'key' });
      expect(bySource.items.reduce((n, g) => n + g.findings, 0)).toBe((await findingsPageOf(db, { kev: true }, { limit: 1000, offset: 0 })).total);
    } finally {
      await db.close();
    }
  });
});
