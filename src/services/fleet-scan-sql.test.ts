import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { realFleet, type FleetHost } from '../../test/real-fleet.js';
import { need, requires } from '../../test/needs.js';
import { shared } from '../../test/shared-data.js';
import { advisoriesChangedAt, rawKysely, transaction, upsertTarget } from '../storage/index.js';
import { addSource } from './feed-sources.js';
import { syncSource } from './feeds.js';
import { rescan } from './fleet-scan.js';
import { saveInventoryWithSources } from './source-names.js';
import type { Db } from './store.js';

/**
 * Issue #14: a feed sync's re-scan on PostgreSQL written as set operations in SQL
 * (fleet-scan-sql.ts) gives exactly the findings of the per-target path (rescan with
 * `inSql: false`), every column: two stores of the same real fleet (Azure Linux 3.0 manifests),
 * the real 3.0 OVAL of 2025-01-31 then its next copy of 2025-02-24, with live patches on some
 * hosts (findings `mitigated`), acceptances (one expired), several kernels installed, and an
 * inventory changed between syncs (findings closed `fixed` and `withdrawn`). PostgreSQL only:
 * SQLite always takes the per-target path.
 */
const data = shared();
const OLD = shared('azurelinux', 'oval', 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz');
const NEXT = shared('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const R = 'azurelinux:3.0';
const SOURCE = 'azurelinux-3.0-oval';
const HOSTS = 150;
const T1 = new Date('2026-11-01T00:00:00Z');
const T2 = new Date('2026-11-02T00:00:00Z');
const T3 = new Date('2026-11-03T00:00:00Z');
const T4 = new Date('2026-11-04T00:00:00Z');
const pg = testDatabases().find((d) => d.name === 'postgres');

/** Every finding, every column, by target name; then the identities in row-id order (the insertion order). */
async function dump(db: Db): Promise<{ rows: string[]; order: string[] }> {
  const r = await sql<{ line: string; ident: string }>`
    select concat_ws('|', t.name, a.source, a.advisory_id, f.package, f.arch, f.installed, coalesce(f.fixed, '-'), f.severity, f.severity_rank,
      f.status, coalesce(f.reason, '-'), f.first_seen_at, f.last_seen_at, coalesce(f.closed_at::text, '-'), coalesce(f.closed_from, '-'),
      coalesce(f.accepted_until::text, '-'), coalesce(f.source_package, '-')) as line,
      concat_ws('|', t.name, a.advisory_id, f.package, f.arch) as ident
    from findings f join targets t on t.id = f.target_id join advisories a on a.pk = f.advisory_pk order by f.pk`.execute(rawKysely(db));
  return { rows: r.rows.map((x) => x.line).sort(), order: r.rows.map((x) => x.ident) };
}

async function store(db: Db, h: FleetHost, at: Date): Promise<void> {
  const now = at.toISOString();
  await transaction(db, async (tx) => {
    const t = await upsertTarget(tx, { name: h.name, kind: 'host', release: R }, now);
    await saveInventoryWithSources(
      tx,
      { targetId: t.id, collectedAt: now, release: R, arch: null, runningKernel: h.runningKernel, rebootRequired: null, packages: h.packages },
      now,
    );
  });
}

/** A feed sync at `at` without its re-scan, then the re-scan of what it changed through one path. */
async function sync(db: Db, file: string, at: Date, inSql: boolean): Promise<number> {
  await syncSource(db, SOURCE, { clock: () => at, file, rescan: false });
  const changed = await advisoriesChangedAt(db, SOURCE, at.toISOString());
  const r = await rescan(db, { advisoryPks: changed.map((c) => c.pk) }, { clock: () => at, inSql, batch: 40 });
  return r.looked;
}

requires(data, OLD, NEXT, need('PostgreSQL', pg === undefined ? 'not reachable' : null)).describe('a sync re-scan in SQL on PostgreSQL', () => {
  let a: Db;
  let b: Db;
  const fleet = realFleet(data.path, HOSTS, { prefix: 'sqlpath' });
  beforeAll(async () => {
    if (pg === undefined) return;
    a = await pg.open();
    b = await pg.open();
    for (const db of [a, b]) {
      for (const h of fleet) await store(db, h, T1);
      await addSource(db, { id: SOURCE, location: OLD.path });
    }
  }, 600_000);
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('writes the findings the per-target path writes, every column, through two syncs', async () => {
    // The first sync: every advisory is new.
    const looked = [await sync(a, OLD.path, T1, true), await sync(b, OLD.path, T1, false)];
    expect(looked[0]).toBe(HOSTS);
    expect(looked[1]).toBe(HOSTS);
    expect(await dump(a)).toEqual(await dump(b));

    // Between syncs, in both stores alike: live patches covering the kernel findings' CVEs on a
    // few hosts, acceptances (one expired before T2), and one host's packages updated.
    const kernelRows = await sql<{ name: string; cve: string }>`
      select distinct t.name, c.cve from findings f join targets t on t.id = f.target_id join advisory_cves c on c.advisory_pk = f.advisory_pk
      where f.package like 'kernel%' order by 1, 2`.execute(rawKysely(a));
    const lpHosts = [...new Set(kernelRows.rows.map((r) => r.name))].slice(0, 8);
    expect(lpHosts.length).toBeGreaterThan(2);
    const accepted = await sql<{ name: string; pk: string }>`
      select t.name, min(f.advisory_pk)::text as pk from findings f join targets t on t.id = f.target_id where f.status = 'open' group by t.name order by t.name limit 6`.execute(
      rawKysely(a),
    );
    const changedHost = fleet.find((h) => !lpHosts.includes(h.name)) as FleetHost;
    const withFindings = await sql<{ package: string }>`
      select distinct f.package from findings f join targets t on t.id = f.target_id where t.name = ${changedHost.name} order by 1`.execute(rawKysely(a));
    const bump = new Set(withFindings.rows.map((r) => r.package).filter((_, i) => i % 2 === 0));
    expect(bump.size).toBeGreaterThan(0);
    for (const db of [a, b]) {
      const k = rawKysely(db);
      for (const h of lpHosts) {
        const cves = kernelRows.rows.filter((r) => r.name === h).map((r) => r.cve);
        const patches = JSON.stringify([{ tool: 'kpatch', name: 'kpatch-test', state: 'loaded', active: true, package: null, cves }]);
        await sql`update targets set live_patches = ${patches} where name = ${h}`.execute(k);
      }
      for (const [i, r] of accepted.rows.entries())
        await sql`update findings set status = 'accepted', reason = 'risk taken', accepted_until = ${i === 0 ? '2026-11-01T12:00:00Z' : null}
          where advisory_pk = ${Number(r.pk)} and target_id = (select id from targets where name = ${r.name})`.execute(k);
      const updated = changedHost.packages.map((p) => (bump.has(p.name) ? { ...p, version: '999.0', release: '1.azl3' } : p));
      await store(db, { ...changedHost, packages: updated }, T1);
    }

    // The next real copy of the feed: only what it changed, through each path.
    const next = [await sync(a, NEXT.path, T2, true), await sync(b, NEXT.path, T2, false)];
    expect(next[0]).toBe(next[1]);
    expect(next[0]).toBeGreaterThan(0);
    expect(await dump(a)).toEqual(await dump(b));

    // Every advisory of the feed as one scope (what a sync changing all of it re-scans).
    const all = await sql<{ pk: string }>`select pk::text as pk from advisories where source = ${SOURCE}`.execute(rawKysely(a));
    const pks = all.rows.map((r) => Number(r.pk));
    const rA = await rescan(a, { advisoryPks: pks }, { clock: () => T3, batch: 40 });
    const rB = await rescan(b, { advisoryPks: pks }, { clock: () => T3, inSql: false, batch: 40 });
    expect(rA.looked).toBe(rB.looked);
    const final = await dump(a);
    expect(final).toEqual(await dump(b));
    const statuses = new Set(final.rows.map((l) => l.split('|')[9]));
    expect([...statuses].sort()).toEqual(['accepted', 'fixed', 'mitigated', 'open', 'withdrawn']);
    expect(final.rows.some((l) => l.split('|')[16] !== l.split('|')[3])).toBe(true);
  }, 600_000);

  it('refreshes a finding another scan stored while the sync was writing, as the per-target path does', async () => {
    // Some open findings are gone from store a when the sync reads the stored findings, and are
    // written back, as another scan of the same hosts would commit them, at the sync's first
    // update of a finding: its insert meets them. Store b has them all along.
    const k = rawKysely(a);
    await sql`create table held as select * from findings where status = 'open' order by pk limit 20`.execute(k);
    await sql`delete from findings where pk in (select pk from held)`.execute(k);
    await sql`create function put_held() returns trigger language plpgsql as $$
      begin insert into findings select * from held on conflict do nothing; return null; end $$`.execute(k);
    await sql`create trigger put_held after update on findings for each row execute function put_held()`.execute(k);
    const all = await sql<{ pk: string }>`select pk::text as pk from advisories where source = ${SOURCE}`.execute(k);
    const pks = all.rows.map((r) => Number(r.pk));
    await rescan(a, { advisoryPks: pks }, { clock: () => T4, batch: 40 });
    await rescan(b, { advisoryPks: pks }, { clock: () => T4, inSql: false, batch: 40 });
    const held = await sql<{
      n: string;
    }>`select count(*) as n from findings f join held h on h.pk = f.pk where f.last_seen_at = ${T4.toISOString()}::timestamptz`.execute(k);
    expect(Number(held.rows[0]?.n)).toBe(20);
    expect(await dump(a)).toEqual(await dump(b));
  }, 600_000);
});
