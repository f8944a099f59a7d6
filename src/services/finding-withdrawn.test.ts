import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { rawKysely } from '../storage/index.js';
import { addSource, syncSource } from './feeds.js';
import { hostDetail } from './host-detail.js';
import { importRpmQaFile } from './inventory.js';
import { fleetOverview } from './overview.js';
import { scanTarget } from './scan.js';
import { findFindings, renderReport } from './report.js';
import type { Db } from './store.js';

// Issue #13: a finding closed because its advisory was withdrawn is `withdrawn`, not `fixed` (a
// wrong feed once closed 174 real findings as "fixed"); the advisory coming back reopens it.
// Every reader of finding statuses tells the two apart.

const at = (iso: string) => () => new Date(iso);

function advisory(id: string, pkg: string, fixed: string): Record<string, unknown> {
  return {
    id,
    title: `${id} in ${pkg}`,
    description: '',
    severity: 'high',
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: '2026-01-01T00:00:00Z',
    updatedAt: null,
    parser: 'test@1',
    fixes: [{ release: 'azurelinux:3.0', package: pkg, packageKind: 'source', arch: null, status: 'fixed', fixed, lastAffected: null, introduced: null }],
  };
}

const ALL = [
  advisory('WD-1', 'openssl', '0:3.3.2-1.azl3'),
  advisory('WD-2', 'curl', '0:8.11.0-1.azl3'),
  advisory('WD-3', 'vim', '0:9.1.0-1.azl3'),
  advisory('WD-4', 'bash', '0:5.2.40-1.azl3'),
  advisory('WD-5', 'expat', '0:2.6.4-1.azl3'),
];

describe.each(testDatabases())('findings of a withdrawn advisory on $name', (tdb) => {
  let db: Db;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-withdrawn-'));
  const feed = (name: string, list: Record<string, unknown>[]): string => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify({ source: 'wd', advisories: list }));
    return p;
  };
  beforeAll(async () => {
    db = await tdb.open();
    await addSource(db, { id: 'wd', format: 'native', location: feed('all.json', ALL) });
    await syncSource(db, 'wd', { actor: { kind: 'cli', name: 'test' }, clock: at('2026-02-01T00:00:00Z') });
    const inv = join(dir, 'inventory.tsv');
    writeFileSync(
      inv,
      ['openssl\t0\t3.3.0\t1.azl3\tx86_64\topenssl-3.3.0-1.azl3.src.rpm', 'curl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm', ''].join('\n'),
    );
    await importRpmQaFile(db, { name: 'web-01', release: 'azurelinux:3.0', file: inv }, at('2026-02-02T00:00:00Z'));
    await scanTarget(db, 'web-01', at('2026-02-02T00:00:00Z'));
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes them as withdrawn, lists them apart from fixed ones, and reopens them when the advisory returns', async () => {
    const status = async (): Promise<Record<string, string>> =>
      Object.fromEntries((await findFindings(db, { status: ['open', 'no-fix', 'fixed', 'accepted', 'withdrawn'] })).map((f) => [f.advisoryId, f.status]));
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });

    // The feed withdraws WD-1 (one of five: within the default share); the sync re-scans web-01.
    const r = await syncSource(db, 'wd', { file: feed('four.json', ALL.slice(1)), actor: { kind: 'cli', name: 'test' }, clock: at('2026-02-03T00:00:00Z') });
    expect(r).toMatchObject({ withdrawn: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'withdrawn', 'WD-2': 'open' });
    const [w] = await findFindings(db, { status: ['withdrawn'] });
    expect(w?.closedAt).toBe('2026-02-03T00:00:00.000Z');
    expect(await findFindings(db, { status: ['fixed'] })).toEqual([]);

    // Readers: the overview counts it apart, the host's history says how it closed, the VEX does
    // not call it resolved, and it is no longer open (plans and --fail-on read open findings).
    const o = await fleetOverview(db, {}, at('2026-02-04T00:00:00Z'));
    expect({ fixed: o.fixed, withdrawn: o.withdrawn, open: o.open.total }).toEqual({ fixed: 0, withdrawn: 1, open: 1 });
    expect((await hostDetail(db, 'web-01')).history.closed.map((f) => [f.advisoryId, f.status])).toEqual([['WD-1', 'withdrawn']]);
    const vex = JSON.parse(await renderReport(db, await findFindings(db, { status: ['withdrawn'] }), 'cyclonedx-vex', at('2026-02-04T00:00:00Z'))) as {
      vulnerabilities: { analysis: { state: string } }[];
    };
    expect(vex.vulnerabilities.map((v) => v.analysis.state)).toEqual(['false_positive']);
    expect((await findFindings(db)).map((f) => f.advisoryId)).toEqual(['WD-2']);

    // The advisory is restored: the finding opens again (the same finding, first seen kept).
    const back = await syncSource(db, 'wd', { file: feed('all-again.json', ALL), actor: { kind: 'cli', name: 'test' }, clock: at('2026-02-05T00:00:00Z') });
    expect(back).toMatchObject({ restored: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });
    const reopened = (await findFindings(db)).find((f) => f.advisoryId === 'WD-1');
    expect(reopened).toMatchObject({ closedAt: null, firstSeen: '2026-02-02T00:00:00.000Z' });
  });

  // An advisory kept by the feed but left without any fix (allowed by the operator) matches
  // nothing: its findings were closed as "fixed" although no host was updated.
  it('closes as withdrawn the findings of an advisory left without any fix, and reopens them when the fix is back', async () => {
    const status = async (): Promise<Record<string, string>> =>
      Object.fromEntries((await findFindings(db, { status: ['open', 'no-fix', 'fixed', 'accepted', 'withdrawn'] })).map((f) => [f.advisoryId, f.status]));
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });
    const hollow = ALL.map((a) => (a['id'] === 'WD-2' ? { ...a, fixes: [] } : a));
    expect(
      await syncSource(db, 'wd', { file: feed('hollow.json', hollow), actor: { kind: 'cli', name: 'test' }, clock: at('2026-02-06T00:00:00Z') }),
    ).toMatchObject({ changed: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'withdrawn' });
    expect(
      await syncSource(db, 'wd', { file: feed('all-third.json', ALL), actor: { kind: 'cli', name: 'test' }, clock: at('2026-02-07T00:00:00Z') }),
    ).toMatchObject({ changed: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });
  });

  it('keeps the status check: withdrawn is admitted, anything else still refused', async () => {
    const row = await rawKysely(db).selectFrom('findings').select('pk').executeTakeFirstOrThrow();
    await expect(sql`update findings set status = 'gone' where pk = ${row.pk}`.execute(rawKysely(db))).rejects.toThrow(/check/i);
    await sql`update findings set status = 'withdrawn' where pk = ${row.pk}`.execute(rawKysely(db));
    await sql`update findings set status = 'open' where pk = ${row.pk}`.execute(rawKysely(db));
  });
});

// A report's "fixed" claims the host was updated: a finding closes as `fixed` only when the build
// it was found on changed (updated, removed, a kernel no longer running), otherwise as
// `withdrawn` — a feed that drops one package from an advisory, or moves its fix below the
// installed build, updated no host. (Both closed as `fixed` before.)
describe.each(testDatabases())('closing a finding as fixed only when its host changed, on $name', (tdb) => {
  let db: Db;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-hostchanged-'));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const feed = (name: string, list: Record<string, unknown>[]): string => file(name, JSON.stringify({ source: 'hc', advisories: list }));
  const fix = (pkg: string, fixed: string): Record<string, unknown> => ({
    release: 'azurelinux:3.0',
    package: pkg,
    packageKind: 'source',
    arch: null,
    status: 'fixed',
    fixed,
    lastAffected: null,
    introduced: null,
  });
  const two = { ...advisory('HC-1', 'openssl', '0:3.3.2-1.azl3'), fixes: [fix('openssl', '0:3.3.2-1.azl3'), fix('curl', '0:8.11.0-1.azl3')] };
  const base = [
    two,
    advisory('HC-2', 'vim', '0:9.1.0-1.azl3'),
    advisory('HC-3', 'kernel', '0:6.6.5-1.azl3'),
    advisory('HC-4', 'bash', '0:5.2.40-1.azl3'),
    advisory('HC-5', 'expat', '0:2.6.4-1.azl3'),
  ];
  const rpm = (name: string, version: string): string => `${name}\t0\t${version}\t1.azl3\tx86_64\t${name}-${version}-1.azl3.src.rpm`;
  const inventory = (host: string, lines: string[], day: string): Promise<unknown> =>
    importRpmQaFile(db, { name: host, release: 'azurelinux:3.0', file: file(`${host}-${day}.tsv`, [...lines, ''].join('\n')) }, at(`2026-03-${day}T00:00:00Z`));
  const status = async (host: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await findFindings(db, { hosts: [host], status: ['open', 'no-fix', 'fixed', 'accepted', 'withdrawn'] })).map((f) => [
        `${f.advisoryId} ${f.package}`,
        f.status,
      ]),
    );
  let sync = 0;
  const syncWith = (list: Record<string, unknown>[]): Promise<unknown> => {
    sync++;
    return syncSource(db, 'hc', {
      file: feed(`feed-${String(sync)}.json`, list),
      actor: { kind: 'cli', name: 'test' },
      allowWithdraw: true,
      clock: at(`2026-03-${String(10 + sync)}T00:00:00Z`),
    });
  };
  beforeAll(async () => {
    db = await tdb.open();
    await addSource(db, { id: 'hc', format: 'native', location: feed('base.json', base) });
    await syncSource(db, 'hc', { actor: { kind: 'cli', name: 'test' }, clock: at('2026-03-01T00:00:00Z') });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes as withdrawn a finding whose advisory drops just its package, and reopens it when the fix comes back', async () => {
    await inventory('drop-01', [rpm('openssl', '3.3.0'), rpm('curl', '8.8.0')], '02');
    await scanTarget(db, 'drop-01', at('2026-03-02T00:00:00Z'));
    expect(await status('drop-01')).toEqual({ 'HC-1 openssl': 'open', 'HC-1 curl': 'open' });
    // HC-1 keeps its curl fix and drops openssl's: openssl on drop-01 did not change.
    await syncWith([{ ...two, fixes: [fix('curl', '0:8.11.0-1.azl3')] }, ...base.slice(1)]);
    expect(await status('drop-01')).toEqual({ 'HC-1 openssl': 'withdrawn', 'HC-1 curl': 'open' });
    expect(await findFindings(db, { hosts: ['drop-01'], status: ['fixed'] })).toEqual([]);
    const o = await fleetOverview(db, {}, at('2026-03-20T00:00:00Z'));
    expect(o.fixed).toBe(0);
    await syncWith(base);
    expect(await status('drop-01')).toEqual({ 'HC-1 openssl': 'open', 'HC-1 curl': 'open' });
  });

  it('closes as withdrawn a finding whose fix moved below the installed build (the feed changed, not the host)', async () => {
    await inventory('lower-01', [rpm('vim', '9.0.5')], '03');
    await scanTarget(db, 'lower-01', at('2026-03-03T00:00:00Z'));
    expect(await status('lower-01')).toEqual({ 'HC-2 vim': 'open' });
    await syncWith([base[0] as Record<string, unknown>, advisory('HC-2', 'vim', '0:9.0.1-1.azl3'), ...base.slice(2)]);
    expect(await status('lower-01')).toEqual({ 'HC-2 vim': 'withdrawn' });
    const vex = JSON.parse(
      await renderReport(db, await findFindings(db, { hosts: ['lower-01'], status: ['withdrawn'] }), 'cyclonedx-vex', at('2026-03-20T00:00:00Z')),
    ) as { vulnerabilities: { analysis: { state: string } }[] };
    expect(vex.vulnerabilities.map((v) => v.analysis.state)).toEqual(['false_positive']);
    await syncWith(base);
    expect(await status('lower-01')).toEqual({ 'HC-2 vim': 'open' });
  });

  it('closes as fixed a finding whose build was updated or removed, or whose kernel no longer runs', async () => {
    await inventory('upd-01', [rpm('openssl', '3.3.0'), rpm('curl', '8.8.0'), rpm('kernel', '6.6.1'), rpm('kernel', '6.6.9')], '04');
    await rawKysely(db).updateTable('targets').set({ running_kernel: '6.6.1-1.azl3' }).where('name', '=', 'upd-01').execute();
    await scanTarget(db, 'upd-01', at('2026-03-04T00:00:00Z'));
    expect(await status('upd-01')).toEqual({ 'HC-1 openssl': 'open', 'HC-1 curl': 'open', 'HC-3 kernel': 'open' });
    // openssl updated, curl removed, the host rebooted into the fixed kernel (the old one stays installed).
    await inventory('upd-01', [rpm('openssl', '3.3.2'), rpm('kernel', '6.6.1'), rpm('kernel', '6.6.9')], '05');
    await rawKysely(db).updateTable('targets').set({ running_kernel: '6.6.9-1.azl3' }).where('name', '=', 'upd-01').execute();
    await scanTarget(db, 'upd-01', at('2026-03-05T00:00:00Z'));
    expect(await status('upd-01')).toEqual({ 'HC-1 openssl': 'fixed', 'HC-1 curl': 'fixed', 'HC-3 kernel': 'fixed' });
  });

  it('closes as fixed a withdrawn finding whose advisory is back only if its build changed meanwhile', async () => {
    await inventory('back-01', [rpm('bash', '5.2.30'), rpm('expat', '2.6.2')], '06');
    await scanTarget(db, 'back-01', at('2026-03-06T00:00:00Z'));
    expect(await status('back-01')).toEqual({ 'HC-4 bash': 'open', 'HC-5 expat': 'open' });
    // Both advisories lose their fix; bash is updated past it meanwhile, expat is not; expat's fix
    // comes back below its build (2.6.1 < 2.6.2): the feed changed, the host did not.
    await syncWith([...base.slice(0, 3), { ...base[3], fixes: [] }, { ...base[4], fixes: [] }]);
    expect(await status('back-01')).toEqual({ 'HC-4 bash': 'withdrawn', 'HC-5 expat': 'withdrawn' });
    await inventory('back-01', [rpm('bash', '5.2.40'), rpm('expat', '2.6.2')], '07');
    await syncWith([...base.slice(0, 4), advisory('HC-5', 'expat', '0:2.6.1-1.azl3')]);
    expect(await status('back-01')).toEqual({ 'HC-4 bash': 'fixed', 'HC-5 expat': 'withdrawn' });
  });

  // An operator's acceptance outlives the advisory's withdrawal: it came back `open`.
  it('reopens an accepted finding accepted, with its reason, when its withdrawn advisory returns, unless the acceptance expired', async () => {
    for (const host of ['acc-01', 'acc-02']) {
      await inventory(host, [rpm('vim', '9.0.5')], '08');
      await scanTarget(db, host, at('2026-03-08T00:00:00Z'));
    }
    const accept = (host: string, until: string | null) =>
      rawKysely(db)
        .updateTable('findings')
        .set({ status: 'accepted', reason: `accepted for ${host}: vim is not run there`, accepted_until: until })
        .where('target_id', 'in', (q) => q.selectFrom('targets').select('id').where('name', '=', host))
        .execute();
    await accept('acc-01', null);
    // acc-02's acceptance expires between the withdrawal (the next sync) and the return (the one after).
    await accept('acc-02', `2026-03-${String(10 + sync + 1)}T12:00:00.000Z`);
    await syncWith([...base.slice(0, 1), ...base.slice(2)]);
    expect({ ...(await status('acc-01')), ...(await status('acc-02')) }).toEqual({ 'HC-2 vim': 'withdrawn' });
    expect((await findFindings(db, { hosts: ['acc-01', 'acc-02'], status: ['withdrawn'] })).length).toBe(2);
    // Restored after acc-02's acceptance expired: acc-01 is accepted again, acc-02 open.
    await syncWith(base);
    const back = await findFindings(db, { hosts: ['acc-01', 'acc-02'], status: ['open', 'accepted', 'withdrawn', 'fixed'] });
    expect(back.map((f) => [f.targetName, f.status, f.reason, f.closedAt]).sort()).toEqual([
      ['acc-01', 'accepted', 'accepted for acc-01: vim is not run there', null],
      ['acc-02', 'open', null, null],
    ]);
    const vex = JSON.parse(
      await renderReport(db, await findFindings(db, { hosts: ['acc-01'], status: ['accepted'] }), 'cyclonedx-vex', at('2026-03-30T00:00:00Z')),
    ) as { vulnerabilities: { analysis: { state: string; response?: string[] } }[] };
    expect(vex.vulnerabilities.map((v) => [v.analysis.state, v.analysis.response])).toEqual([['in_triage', ['will_not_fix']]]);
  });
});
