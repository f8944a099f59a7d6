import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { epssHistory, epssScores, kevEntries } from '../storage/index.js';
import { addSource, listSources, syncSource, syncSources } from './feeds.js';
import { exploitationOf, signalsSynced } from './signals.js';
import type { Db } from './store.js';

const FEEDS = join(import.meta.dirname, '..', 'feeds');
export const KEV_FIXTURE = join(FEEDS, 'kev', '__fixtures__', 'known_exploited_vulnerabilities.json');
export const EPSS_FIXTURE = join(FEEDS, 'epss', '__fixtures__', 'epss_scores-2026-12-01.csv.gz');
const clockAt = (iso: string) => () => new Date(iso);

describe.each(testDatabases())('exploitation signal feeds on $name', ({ open }) => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-signals-'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are catalog sources, syncable from a file like every feed, and stored with dateAdded, dueDate, ransomware use and EPSS scores', async () => {
    const catalog = (await listSources(db)).filter((s) => s.format === 'kev' || s.format === 'epss');
    expect(catalog.map((s) => [s.id, s.format, s.origin])).toEqual([
      ['cisa-kev', 'kev', 'catalog'],
      ['first-epss', 'epss', 'catalog'],
    ]);
    expect(await signalsSynced(db)).toEqual({ kev: false, epss: false });
    const kev = await syncSource(db, 'cisa-kev', { file: KEV_FIXTURE, clock: clockAt('2026-12-01T15:00:00Z') });
    expect(kev).toMatchObject({
      status: 'synced',
      documents: 1,
      advisories: 3,
      added: 3,
      warnings: 0,
      signal: { kind: 'kev', version: '2026.12.01', newestAt: '2026-12-01T14:02:11.314Z' },
    });
    const epss = await syncSource(db, 'first-epss', { file: EPSS_FIXTURE, clock: clockAt('2026-12-01T15:00:00Z') });
    expect(epss).toMatchObject({
      status: 'synced',
      advisories: 5,
      added: 5,
      signal: { kind: 'epss', version: 'v2025.03.14', newestAt: '2026-12-01T00:00:00.000Z' },
    });
    expect(await signalsSynced(db)).toEqual({ kev: true, epss: true });
    const [e] = await kevEntries(db, ['CVE-2026-1001']);
    expect(e).toMatchObject({
      cve: 'CVE-2026-1001',
      dateAdded: '2026-03-02',
      dueDate: '2026-03-23',
      ransomware: true,
      cwes: ['CWE-362'],
      catalogVersion: '2026.12.01',
      removedAt: null,
    });
    const signals = await exploitationOf(db, ['CVE-2026-1001', 'CVE-2026-2001', 'CVE-2099-0001']);
    expect(signals.get('CVE-2026-1001')).toEqual({
      kev: { dateAdded: '2026-03-02', dueDate: '2026-03-23', ransomware: true },
      epss: { score: 0.94372, percentile: 0.99912, date: '2026-12-01' },
    });
    expect(signals.get('CVE-2026-2001')).toEqual({ kev: null, epss: { score: 0.02011, percentile: 0.45233, date: '2026-12-01' } });
    expect(signals.has('CVE-2099-0001')).toBe(false);
    // The same bytes again: skipped by the fingerprint, as for any feed.
    expect((await syncSource(db, 'cisa-kev', { file: KEV_FIXTURE })).status).toBe('unchanged');
  });

  it('keeps an EPSS trend per CVE: its first score, and each move of 0.01 or more', async () => {
    const day = (date: string, rows: string): string => {
      const f = join(dir, `epss-${date}.csv.gz`);
      writeFileSync(f, gzipSync(`#model_version:v2025.03.14,score_date:${date}T00:00:00+0000\ncve,epss,percentile\n${rows}`));
      return f;
    };
    await syncSource(db, 'first-epss', { file: day('2026-12-01', 'CVE-2026-0001,0.10000,0.90\nCVE-2026-0002,0.50000,0.95\n') });
    const second = await syncSource(db, 'first-epss', { file: day('2026-12-02', 'CVE-2026-0001,0.10400,0.90\nCVE-2026-0002,0.70000,0.97\n') });
    expect(second).toMatchObject({ added: 0, changed: 1, unchanged: 1 });
    // A slow drift is noted once it adds up to 0.01 since the last history row.
    await syncSource(db, 'first-epss', { file: day('2026-12-03', 'CVE-2026-0001,0.11100,0.91\nCVE-2026-0002,0.70100,0.97\n') });
    expect(await epssHistory(db, 'CVE-2026-0001')).toEqual([
      { scoreDate: '2026-12-01', epss: 0.1, percentile: 0.9 },
      { scoreDate: '2026-12-03', epss: 0.111, percentile: 0.91 },
    ]);
    expect(await epssHistory(db, 'CVE-2026-0002')).toEqual([
      { scoreDate: '2026-12-01', epss: 0.5, percentile: 0.95 },
      { scoreDate: '2026-12-02', epss: 0.7, percentile: 0.97 },
    ]);
    expect((await epssScores(db, ['CVE-2026-0002']))[0]).toMatchObject({ epss: 0.701, scoreDate: '2026-12-03' });
    // A CVE the next file does not score loses its current score, not its trend.
    const fourth = await syncSource(db, 'first-epss', { file: day('2026-12-04', 'CVE-2026-0001,0.11200,0.92\nCVE-2026-0003,0.3,0.9\n'), allowWithdraw: true });
    expect(fourth).toMatchObject({ added: 1, changed: 0, unchanged: 1, withdrawn: 1 });
    // Unchanged for the trend, yet the current score and percentile are the file's.
    expect((await epssScores(db, ['CVE-2026-0001']))[0]).toMatchObject({ epss: 0.112, percentile: 0.92, scoreDate: '2026-12-04' });
    expect((await epssScores(db)).map((e) => e.cve).sort()).toEqual(['CVE-2026-0001', 'CVE-2026-0003']);
    expect((await epssHistory(db, 'CVE-2026-0002')).length).toBe(2);
  });

  it('keeps a KEV entry CISA drops (marked removed) and restores it when it returns', async () => {
    const doc = JSON.parse(readFileSync(KEV_FIXTURE, 'utf8')) as { count: number; vulnerabilities: { cveID: string; dueDate: string }[] };
    await syncSource(db, 'cisa-kev', { file: KEV_FIXTURE });
    const fewer = join(dir, 'kev-2.json');
    writeFileSync(
      fewer,
      JSON.stringify({
        ...doc,
        catalogVersion: '2026.12.02',
        count: 2,
        vulnerabilities: doc.vulnerabilities.slice(0, 2).map((v, i) => (i === 1 ? { ...v, dueDate: '2026-06-11' } : v)),
      }),
    );
    // One of three dropped is a third: refused like a feed withdrawing too much, unless allowed.
    await addSource(db, { id: 'cisa-kev', location: fewer });
    const [r] = await syncSources(db, ['cisa-kev']);
    expect(r).toMatchObject({ status: 'refused', error: expect.stringMatching(/would drop 1 of the 3 stored entries of cisa-kev \(33%/) as unknown });
    expect((await kevEntries(db)).length).toBe(3);
    const allowed = await syncSource(db, 'cisa-kev', { allowWithdraw: true });
    expect(allowed).toMatchObject({ status: 'synced', withdrawn: 1, changed: 1, unchanged: 1 });
    expect((await kevEntries(db)).map((e) => [e.cve, e.dueDate])).toEqual([
      ['CVE-2026-1001', '2026-03-23'],
      ['CVE-2026-1002', '2026-06-11'],
    ]);
    const back = await syncSource(db, 'cisa-kev', { file: KEV_FIXTURE });
    expect(back).toMatchObject({ status: 'synced', restored: 1, changed: 1 });
    expect((await kevEntries(db)).length).toBe(3);
  });

  it('refuses a file with no usable record or of another format, storing nothing', async () => {
    await syncSource(db, 'first-epss', { file: EPSS_FIXTURE });
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '#model_version:v2025.03.14,score_date:2026-12-02T00:00:00+0000\ncve,epss,percentile\n');
    await expect(syncSource(db, 'first-epss', { file: empty })).rejects.toThrow(/refused: no usable record/);
    await expect(syncSource(db, 'first-epss', { file: KEV_FIXTURE })).rejects.toThrow(/line 1: not an EPSS file/);
    await expect(syncSource(db, 'cisa-kev', { file: EPSS_FIXTURE })).rejects.toThrow(/not JSON/);
    expect((await epssScores(db)).length).toBe(5);
  });

  it('adds a signal source of your own from a file whose format it detects', async () => {
    const f = join(dir, 'kev-mirror.json');
    writeFileSync(f, readFileSync(KEV_FIXTURE));
    const g = join(dir, 'epss.csv');
    writeFileSync(g, readFileSync(EPSS_FIXTURE.replace(/\.gz$/, '')));
    expect((await addSource(db, { id: 'kev-mirror', location: f })).format).toBe('kev');
    expect((await addSource(db, { id: 'epss-mirror', location: g })).format).toBe('epss');
    expect((await syncSource(db, 'kev-mirror')).advisories).toBe(3);
  });
});
