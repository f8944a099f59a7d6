import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Advisory } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { testDatabases } from '../../test/databases.js';
import { migrateToLatest, rawKysely, transaction, type Db } from './database.js';
import {
  countPackages,
  getAdvisory,
  getRelease,
  getTarget,
  listAdvisoryEvents,
  listFindings,
  listReleases,
  loadAdvisories,
  loadInventory,
  markWithdrawn,
  recordFindings,
  saveInventory,
  upsertAdvisories,
  upsertRelease,
  upsertTarget,
  insertImageBuild,
  insertViewVersion,
  listEnvironments,
  listImageBuilds,
  nextImageBuild,
  promotedTo,
  setEnvironment,
  setTargetImage,
  type FindingInput,
  type InstalledBuild,
} from './index.js';

const T0 = '2026-11-01T00:00:00.000Z';
const T1 = '2026-11-02T00:00:00.000Z';
const T2 = '2026-11-03T00:00:00.000Z';

function advisory(id: string, over: Partial<Advisory> = {}): Advisory {
  return {
    source: 'azurelinux-3.0-oval',
    id,
    title: `Fix for ${id}`,
    description: 'A test advisory with "quotes", \'apostrophes\' and ünïcode.',
    severity: 'high',
    cvssScore: 7.5,
    cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
    cves: ['CVE-2026-0001', 'CVE-2026-0002'],
    references: [{ type: 'cve', id: 'CVE-2026-0001', url: 'https://nvd.nist.gov/vuln/detail/CVE-2026-0001' }],
    publishedAt: '2026-10-01T00:00:00Z',
    updatedAt: null,
    parser: 'test@1',
    fixes: [
      {
        release: 'azurelinux:3.0',
        package: 'openssl',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '0:3.3.5-5.azl3',
        lastAffected: null,
        introduced: null,
      },
      {
        release: 'azurelinux:2.0',
        package: 'openssl',
        packageKind: 'source',
        arch: 'x86_64',
        status: 'no-fix-yet',
        fixed: null,
        lastAffected: null,
        introduced: { version: '1.1.1k-1.cm2', inclusive: false },
      },
    ],
    ...over,
  };
}

function pkg(name: string, version: string, release: string, over: Partial<InstalledPackage> = {}): InstalledPackage {
  return { family: 'rpm', name, epoch: null, version, release, arch: 'x86_64', sourceName: name, sourceVersion: null, ...over };
}

describe.each(testDatabases())('storage on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('migrates once: a second run applies nothing', async () => {
    expect(await migrateToLatest(db)).toEqual([]);
  });

  it('stores and replaces releases', async () => {
    const r = {
      id: 'azurelinux:3.0',
      distro: 'azurelinux',
      version: '3.0',
      family: 'rpm' as const,
      name: 'Azure Linux 3.0',
      ga: '2024-08-29',
      endOfStandardSupport: null,
      endOfSecuritySupport: null,
    };
    await upsertRelease(db, r);
    await upsertRelease(db, { ...r, endOfSecuritySupport: '2027-07-31' });
    expect(await getRelease(db, 'azurelinux:3.0')).toEqual({ ...r, endOfSecuritySupport: '2027-07-31' });
    expect(await listReleases(db)).toHaveLength(1);
    expect(await getRelease(db, 'nope:1')).toBeNull();
  });

  it('round-trips an advisory exactly', async () => {
    const a = advisory('oval:1');
    expect(await upsertAdvisories(db, [a], T0)).toEqual({ added: 1, changed: 0, unchanged: 0, restored: 0 });
    const got = await getAdvisory(db, a.source, a.id);
    expect(got).toEqual({ ...a, withdrawnAt: null });
  });

  it('round-trips CVSS v4.0 beside v3 and names its change', async () => {
    const v4 = { vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', score: 9.3 };
    const a = advisory('osv:1', { cvssV4: v4 });
    await upsertAdvisories(db, [a], T0);
    expect(await getAdvisory(db, a.source, a.id)).toEqual({ ...a, withdrawnAt: null });
    const lower = { vector: `${v4.vector}/E:U`, score: 8.1 };
    expect(await upsertAdvisories(db, [advisory('osv:1', { cvssV4: lower })], T1)).toMatchObject({ changed: 1 });
    expect((await listAdvisoryEvents(db, a.source, 'osv:1')).at(-1)?.detail).toEqual({ cvss_v4_score: [9.3, 8.1], cvss_v4_vector: [v4.vector, lower.vector] });
    expect((await getAdvisory(db, a.source, 'osv:1'))?.cvssScore).toBe(7.5);
  });

  it('skips unchanged advisories, records changes with what changed', async () => {
    await upsertAdvisories(db, [advisory('oval:1'), advisory('oval:2')], T0);
    const counts = await upsertAdvisories(db, [advisory('oval:1'), advisory('oval:2', { severity: 'critical' }), advisory('oval:3')], T1);
    expect(counts).toEqual({ added: 1, changed: 1, unchanged: 1, restored: 0 });
    const events = await listAdvisoryEvents(db, 'azurelinux-3.0-oval', 'oval:2');
    expect(events.map((e) => [e.kind, e.at, e.detail])).toEqual([
      ['added', T0, { severity: 'high' }],
      ['changed', T1, { severity: ['high', 'critical'] }],
    ]);
    // A change in fixes only is a change too.
    const fixes = advisory('oval:1').fixes.map((f) => ({ ...f, fixed: f.fixed === null ? null : '0:3.3.5-6.azl3' }));
    expect(await upsertAdvisories(db, [advisory('oval:1', { fixes })], T2)).toMatchObject({ changed: 1 });
    expect((await getAdvisory(db, 'azurelinux-3.0-oval', 'oval:1'))?.fixes[0]?.fixed).toBe('0:3.3.5-6.azl3');
    const last = (await listAdvisoryEvents(db, 'azurelinux-3.0-oval', 'oval:1')).at(-1);
    expect(last?.kind).toBe('changed');
  });

  it('withdraws advisories that left the feed and restores them when they return', async () => {
    await upsertAdvisories(db, [advisory('oval:1'), advisory('oval:2'), advisory('other', { source: 'osv' })], T0);
    expect(await markWithdrawn(db, 'azurelinux-3.0-oval', new Set(['oval:1']), T1)).toBe(1);
    expect(await markWithdrawn(db, 'azurelinux-3.0-oval', new Set(['oval:1']), T1)).toBe(0);
    expect((await loadAdvisories(db)).map((a) => a.id)).toEqual(['oval:1', 'other']);
    expect((await getAdvisory(db, 'azurelinux-3.0-oval', 'oval:2'))?.withdrawnAt).toBe(T1);
    expect(await upsertAdvisories(db, [advisory('oval:2')], T2)).toMatchObject({ restored: 1, unchanged: 0 });
    expect((await listAdvisoryEvents(db, 'azurelinux-3.0-oval', 'oval:2')).map((e) => e.kind)).toEqual(['added', 'withdrawn', 'restored']);
  });

  it('loads advisories by release and package, with only that release’s fixes', async () => {
    await upsertAdvisories(db, [advisory('oval:1'), advisory('oval:2', { fixes: [{ ...advisory('x').fixes[0]!, package: 'curl' }] })], T0);
    const az3 = await loadAdvisories(db, { release: 'azurelinux:3.0', packages: ['openssl'] });
    expect(az3.map((a) => a.id)).toEqual(['oval:1']);
    expect(az3[0]?.fixes).toHaveLength(1);
    expect(await loadAdvisories(db, { release: 'azurelinux:3.0', packages: [] })).toEqual([]);
    expect((await loadAdvisories(db, { release: 'azurelinux:2.0' })).map((a) => a.id)).toEqual(['oval:1']);
  });

  it('rolls a failed transaction back completely', async () => {
    await upsertAdvisories(db, [advisory('oval:1')], T0);
    await expect(
      transaction(db, async (tx) => {
        await upsertAdvisories(tx, [advisory('oval:1', { severity: 'low' }), advisory('oval:9')], T1);
        throw new Error('feed broke half-way');
      }),
    ).rejects.toThrow('feed broke half-way');
    expect((await loadAdvisories(db)).map((a) => [a.id, a.severity])).toEqual([['oval:1', 'high']]);
    expect(await listAdvisoryEvents(db, 'azurelinux-3.0-oval')).toHaveLength(1);
  });

  it('stores an inventory of 5,000 builds it has never seen in one save (batches stay under the parameter limit)', async () => {
    const t = await upsertTarget(db, { name: 'big-01', kind: 'host', release: 'azurelinux:3.0' }, T0);
    const many = Array.from({ length: 5000 }, (_, i) => pkg(`bw-pkg-${String(i)}`, '1.0', '1.azl3'));
    const r = await saveInventory(db, {
      targetId: t.id,
      collectedAt: T0,
      release: null,
      arch: 'x86_64',
      runningKernel: null,
      rebootRequired: false,
      packages: many,
    });
    expect(r).toMatchObject({ packages: 5000, newPackages: 5000 });
    expect(await loadInventory(db, t.id)).toHaveLength(5000);
  });

  it('stores inventories with one row per distinct package build', async () => {
    const a = await upsertTarget(db, { name: 'web-01', kind: 'host', release: 'azurelinux:3.0', tags: ['prod'] }, T0);
    const b = await upsertTarget(db, { name: 'web-02', kind: 'host', release: 'azurelinux:3.0' }, T0);
    expect(a.id).not.toBe(b.id);
    const common = [pkg('openssl', '3.3.0', '2.azl3', { epoch: 1 }), pkg('bash', '5.2.15', '3.azl3')];
    await saveInventory(db, {
      targetId: a.id,
      collectedAt: T0,
      release: null,
      arch: 'x86_64',
      runningKernel: '6.6.57.1-2.azl3',
      rebootRequired: false,
      packages: common,
    });
    const r = await saveInventory(db, {
      targetId: b.id,
      collectedAt: T0,
      release: null,
      arch: 'x86_64',
      runningKernel: null,
      rebootRequired: true,
      packages: [...common, pkg('curl', '8.8.0', '1.azl3'), pkg('curl', '8.8.0', '1.azl3')],
    });
    expect(r).toEqual({ packages: 3, newPackages: 1, changedNames: ['openssl', 'bash', 'curl'], before: { release: 'azurelinux:3.0', runningKernel: null } });
    expect(await countPackages(db)).toBe(3);
    expect((await loadInventory(db, a.id)).map((p) => p.name)).toEqual(['bash', 'openssl']);
    expect((await loadInventory(db, a.id))[1]).toEqual(common[0]);
    const stored = await getTarget(db, 'web-01');
    expect(stored).toMatchObject({
      id: a.id,
      tags: ['prod'],
      arch: 'x86_64',
      runningKernel: '6.6.57.1-2.azl3',
      rebootRequired: false,
      inventoryAt: T0,
      release: 'azurelinux:3.0',
    });
    // A new snapshot replaces the old one.
    await saveInventory(db, {
      targetId: a.id,
      collectedAt: T1,
      release: null,
      arch: null,
      runningKernel: null,
      rebootRequired: null,
      packages: [pkg('openssl', '3.3.5', '5.azl3', { epoch: 1 })],
    });
    expect((await loadInventory(db, a.id)).map((p) => p.version)).toEqual(['3.3.5']);
    // Only the links that changed are written; the names gained or lost are what to match again.
    const again = await saveInventory(db, {
      targetId: a.id,
      collectedAt: T1,
      release: null,
      arch: null,
      runningKernel: null,
      rebootRequired: null,
      packages: [pkg('openssl', '3.3.5', '5.azl3', { epoch: 1 }), pkg('curl', '8.8.0', '1.azl3')],
    });
    expect(again).toMatchObject({ packages: 2, newPackages: 0, changedNames: ['curl'] });
    expect((await loadInventory(db, a.id)).map((p) => p.name)).toEqual(['curl', 'openssl']);
    await expect(
      saveInventory(db, { targetId: 'missing', collectedAt: T0, release: null, arch: null, runningKernel: null, rebootRequired: null, packages: [] }),
    ).rejects.toThrow(/no target/);
  });

  it('keeps a finding’s history: open, kept, closed, reopened; accepted stays accepted', async () => {
    await upsertAdvisories(db, [advisory('oval:1'), advisory('oval:2')], T0);
    const t = await upsertTarget(db, { name: 'h', kind: 'host' }, T0);
    const f1: FindingInput = {
      advisorySource: 'azurelinux-3.0-oval',
      advisoryId: 'oval:1',
      package: 'openssl',
      arch: 'x86_64',
      installed: '1:3.3.0-2.azl3',
      fixed: '0:3.3.5-5.azl3',
      severity: 'high',
      status: 'open',
    };
    const f2: FindingInput = { ...f1, advisoryId: 'oval:2', status: 'no-fix', fixed: null };
    // The host's builds: before and after openssl's update (a finding closes as fixed only when its build is gone).
    const builds: InstalledBuild[] = [{ package: 'openssl', arch: 'x86_64', installed: f1.installed }];
    const updated: InstalledBuild[] = [{ package: 'openssl', arch: 'x86_64', installed: '1:3.3.5-5.azl3' }];
    expect(await recordFindings(db, t.id, [f1, f2, { ...f1 }], builds, T0)).toEqual({ opened: 2, kept: 0, reopened: 0, closed: 0 });
    expect(await recordFindings(db, t.id, [f1, f2], builds, T1)).toEqual({ opened: 0, kept: 2, reopened: 0, closed: 0 });
    expect(await recordFindings(db, t.id, [f2], updated, T1)).toEqual({ opened: 0, kept: 1, reopened: 0, closed: 1 });
    let all = await listFindings(db, { targetId: t.id });
    expect(all.map((f) => [f.advisoryId, f.status, f.firstSeen, f.lastSeen, f.closedAt])).toEqual([
      ['oval:1', 'fixed', T0, T1, T1],
      ['oval:2', 'no-fix', T0, T1, null],
    ]);
    expect(await recordFindings(db, t.id, [f1, f2], builds, T2)).toEqual({ opened: 0, kept: 1, reopened: 1, closed: 0 });
    expect((await listFindings(db, { status: ['open'] })).map((f) => f.advisoryId)).toEqual(['oval:1']);
    await expect(recordFindings(db, t.id, [{ ...f1, advisoryId: 'nope' }], builds, T2)).rejects.toThrow(/not stored/);
    all = await listFindings(db, { targetId: t.id, status: [] });
    expect(all).toEqual([]);
    // An acceptance holds until it expires: then the next scan opens the finding again.
    await rawKysely(db)
      .updateTable('findings')
      .set({ status: 'accepted', reason: 'risk accepted', accepted_until: '2026-11-03T12:00:00.000Z' })
      .where('target_id', '=', t.id)
      .where('package', '=', 'openssl')
      .execute();
    await recordFindings(db, t.id, [f1, f2], builds, T2);
    expect((await listFindings(db, { targetId: t.id })).map((f) => [f.advisoryId, f.status, f.reason])).toEqual([
      ['oval:1', 'accepted', 'risk accepted'],
      ['oval:2', 'accepted', 'risk accepted'],
    ]);
    await recordFindings(db, t.id, [f1, f2], builds, '2026-11-04T00:00:00.000Z');
    expect((await listFindings(db, { targetId: t.id })).map((f) => [f.advisoryId, f.status, f.reason])).toEqual([
      ['oval:1', 'open', null],
      ['oval:2', 'no-fix', null],
    ]);
  });
  it("keeps content view versions, every promotion, image builds and targets' image stamps", async () => {
    expect(
      await insertViewVersion(db, { view: 'lab', createdAt: T0, createdBy: 'a', spec: 'x', packages: 3, deviations: [{ kind: 'excluded' }], dir: '/p/1' }),
    ).toBe(1);
    expect(await insertViewVersion(db, { view: 'lab', createdAt: T1, createdBy: 'a', spec: 'y', packages: 4, deviations: [], dir: '/p/2' })).toBe(2);
    await setEnvironment(db, { view: 'lab', environment: 'canary', version: 1, at: T1, by: 'a' });
    await setEnvironment(db, { view: 'lab', environment: 'canary', version: 2, at: T2, by: 'b' });
    await setEnvironment(db, { view: 'lab', environment: 'prod', version: 1, at: T2, by: 'b' });
    // The environment holds the latest; the promotions of each version are all kept.
    expect((await listEnvironments(db, 'lab')).map((e) => [e.environment, e.version, e.promotedAt])).toEqual([
      ['canary', 2, T2],
      ['prod', 1, T2],
    ]);
    expect(await promotedTo(db, 'lab', 1)).toEqual(['canary', 'prod']);
    expect(await promotedTo(db, 'lab', 2)).toEqual(['canary']);

    expect(await nextImageBuild(db, 'base')).toBe(1);
    const b = {
      image: 'base',
      build: 1,
      type: 'container',
      release: 'azurelinux:3.0',
      view: 'lab',
      viewVersion: 1,
      createdAt: T1,
      createdBy: 'a',
      spec: 'z',
      dir: '/i/1',
      artifact: 'oci',
      digest: `sha256:${'a'.repeat(64)}`,
      packages: 2,
      target: 'base@1',
    };
    await insertImageBuild(db, b);
    await insertImageBuild(db, { ...b, build: 2, createdAt: T2, target: 'base@2' });
    expect(await nextImageBuild(db, 'base')).toBe(3);
    expect((await listImageBuilds(db, 'base')).map((x) => [x.build, x.createdAt, x.viewVersion])).toEqual([
      [2, T2, 1],
      [1, T1, 1],
    ]);
    await expect(insertImageBuild(db, b)).rejects.toThrow();

    const t = await upsertTarget(db, { name: 'web-1', kind: 'host', release: 'azurelinux:3.0' }, T0);
    expect(t.image).toBeNull();
    await setTargetImage(db, t.id, 'base@2');
    expect((await getTarget(db, 'web-1'))?.image).toBe('base@2');
  });
});
