/**
 * A stored fleet for the findings benches (bench/findings-stream.bench.ts): the real Azure Linux
 * 3.0 OVAL synced, one host of the real 3.0 manifests (~600 packages) scanned by the product,
 * and its findings copied to `hosts` more in SQL (one INSERT … SELECT per cohort of 1,000 hosts,
 * each cohort first seen on a day of its own, as hosts scanned in batches are). The copies have
 * no inventory of their own: the VEX's vendor statements are read for the template host only.
 */
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { join } from 'node:path';
import type { InstalledPackage } from '../src/core/target.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { scanTarget } from '../src/services/scan.js';
import type { Db } from '../src/services/store.js';
import { rawKysely, saveInventory, transaction, upsertTarget } from '../src/storage/index.js';

function manifest(dir: string): InstalledPackage[] {
  const out = new Map<string, InstalledPackage>();
  for (const kind of ['toolchain', 'pkggen_core'])
    for (const raw of readFileSync(join(dir, `${kind}_x86_64.txt`), 'utf8').split('\n')) {
      const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(raw.trim());
      if (!m?.[1] || m[2] === undefined || m[3] === undefined || m[4] === undefined) continue;
      out.set(`${m[1]}.${m[4]}`, { family: 'rpm', name: m[1], epoch: null, version: m[2], release: m[3], arch: m[4], sourceName: m[1], sourceVersion: null });
    }
  return [...out.values()];
}

export async function buildFleet(db: Db, data: string, hosts: number): Promise<{ findings: number; seconds: number }> {
  const t0 = performance.now();
  const oval = join(data, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
  await addSource(db, { id: 'azurelinux-3.0-oval', format: 'oval', location: oval, release: 'azurelinux:3.0' });
  await syncSource(db, 'azurelinux-3.0-oval');
  const now = '2026-10-01T00:00:00.000Z';
  const template = await upsertTarget(db, { name: 'template', kind: 'host', release: 'azurelinux:3.0' }, now);
  await saveInventory(db, {
    targetId: template.id,
    collectedAt: now,
    release: 'azurelinux:3.0',
    arch: 'x86_64',
    runningKernel: null,
    rebootRequired: null,
    packages: manifest(join(data, 'azurelinux', 'manifests', '3.0-2024-07-27')),
  });
  await scanTarget(db, template.id);
  const k = rawKysely(db);
  for (let c = 0; c * 1000 < hosts; c++) {
    const names: string[] = [];
    await transaction(db, async (tx) => {
      for (let i = c * 1000; i < Math.min(hosts, (c + 1) * 1000); i++) {
        const name = `fleet-${String(i).padStart(6, '0')}`;
        names.push(name);
        await upsertTarget(tx, { name, kind: 'host', release: 'azurelinux:3.0' }, now);
      }
    });
    const seen = new Date(Date.UTC(2026, 9, 2 + c)).toISOString();
    const stamp = db.dialect === 'postgres' ? sql<string>`cast(${seen} as timestamptz)` : sql<string>`${seen}`;
    const [lo, hi] = [names[0] as string, names[names.length - 1] as string];
    await sql`insert into findings (target_id, advisory_pk, package, arch, installed, fixed, severity, severity_rank, status, reason, first_seen_at, last_seen_at, closed_at, accepted_by, accepted_at, accepted_until)
      select t.id, f.advisory_pk, f.package, f.arch, f.installed, f.fixed, f.severity, f.severity_rank, f.status, f.reason, ${stamp}, ${stamp}, f.closed_at, f.accepted_by, f.accepted_at, f.accepted_until
      from findings f, targets t where f.target_id = ${template.id} and t.name >= ${lo} and t.name <= ${hi} and t.name like 'fleet-%'`.execute(k);
  }
  const n = await k
    .selectFrom('findings')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return { findings: Number(n.n), seconds: (performance.now() - t0) / 1000 };
}
