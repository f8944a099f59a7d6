import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
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
    await syncSource(db, 'wd', { actor: 'test', clock: at('2026-02-01T00:00:00Z') });
    const inv = join(dir, 'inventory.tsv');
    writeFileSync(inv, ['openssl\t0\t3.3.0\t1.azl3\tx86_64\topenssl-3.3.0-1.azl3.src.rpm', 'curl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm', ''].join('\n'));
    await importRpmQaFile(db, { name: 'web-01', release: 'azurelinux:3.0', file: inv }, at('2026-02-02T00:00:00Z'));
    await scanTarget(db, 'web-01', at('2026-02-02T00:00:00Z'));
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes them as withdrawn, lists them apart from fixed ones, and reopens them when the advisory returns', async () => {
    const status = async (): Promise<Record<string, string>> => Object.fromEntries((await findFindings(db, { status: ['open', 'no-fix', 'fixed', 'accepted', 'withdrawn'] })).map((f) => [f.advisoryId, f.status]));
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });

    // The feed withdraws WD-1 (one of five: within the default share); the sync re-scans web-01.
    const r = await syncSource(db, 'wd', { file: feed('four.json', ALL.slice(1)), actor: 'test', clock: at('2026-02-03T00:00:00Z') });
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
    const vex = JSON.parse(await renderReport(db, await findFindings(db, { status: ['withdrawn'] }), 'cyclonedx-vex', at('2026-02-04T00:00:00Z'))) as { vulnerabilities: { analysis: { state: string } }[] };
    expect(vex.vulnerabilities.map((v) => v.analysis.state)).toEqual(['false_positive']);
    expect((await findFindings(db)).map((f) => f.advisoryId)).toEqual(['WD-2']);

    // The advisory is restored: the finding opens again (the same finding, first seen kept).
    const back = await syncSource(db, 'wd', { file: feed('all-again.json', ALL), actor: 'test', clock: at('2026-02-05T00:00:00Z') });
    expect(back).toMatchObject({ restored: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });
    const reopened = (await findFindings(db)).find((f) => f.advisoryId === 'WD-1');
    expect(reopened).toMatchObject({ closedAt: null, firstSeen: '2026-02-02T00:00:00.000Z' });
  });

  // An advisory kept by the feed but left without any fix (allowed by the operator) matches
  // nothing: its findings were closed as "fixed" although no host was updated.
  it('closes as withdrawn the findings of an advisory left without any fix, and reopens them when the fix is back', async () => {
    const status = async (): Promise<Record<string, string>> => Object.fromEntries((await findFindings(db, { status: ['open', 'no-fix', 'fixed', 'accepted', 'withdrawn'] })).map((f) => [f.advisoryId, f.status]));
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });
    const hollow = ALL.map((a) => (a['id'] === 'WD-2' ? { ...a, fixes: [] } : a));
    expect(await syncSource(db, 'wd', { file: feed('hollow.json', hollow), actor: 'test', clock: at('2026-02-06T00:00:00Z') })).toMatchObject({ changed: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'withdrawn' });
    expect(await syncSource(db, 'wd', { file: feed('all-third.json', ALL), actor: 'test', clock: at('2026-02-07T00:00:00Z') })).toMatchObject({ changed: 1, rescanned: 1 });
    expect(await status()).toEqual({ 'WD-1': 'open', 'WD-2': 'open' });
  });

  it('keeps the status check: withdrawn is admitted, anything else still refused', async () => {
    const row = await db.kysely.selectFrom('findings').select('pk').executeTakeFirstOrThrow();
    await expect(sql`update findings set status = 'gone' where pk = ${row.pk}`.execute(db.kysely)).rejects.toThrow(/check/i);
    await sql`update findings set status = 'withdrawn' where pk = ${row.pk}`.execute(db.kysely);
    await sql`update findings set status = 'open' where pk = ${row.pk}`.execute(db.kysely);
  });
});
