import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { listTargets, loadAdvisories, openDatabase, rawKysely, storeEpssScores, storeKevCatalog } from '../storage/index.js';
import { runDemo } from './demo.js';
import { runRead, runReadJson, type ReadArgs, type ReadOp } from './read-ops.js';
import { pooledJson, startReadPool, type ReadPool } from './read-pool.js';
import type { Db } from './store.js';

/**
 * Issue #17: the API's findings pages are answered by read workers on SQLite (each its own
 * read-only connection, with a cache exact to the store's data version). Their answers are the
 * in-process answers, byte for byte as JSON, for every filter and order; a write, by the server's
 * own connection or by another one, is seen at the next question; errors keep their code.
 */
async function withSignals(db: Db): Promise<void> {
  await runDemo(db, { clock: () => new Date('2026-11-01T00:00:00.000Z') });
  const now = '2026-11-02T00:00:00.000Z';
  const cves = [...new Set((await loadAdvisories(db, {})).flatMap((a) => a.cves))].sort();
  expect(cves.length).toBeGreaterThan(2);
  const kev = { vendorProject: 'v', product: 'p', vulnerabilityName: 'n', dateAdded: '2026-11-01', shortDescription: '', requiredAction: '' };
  await storeKevCatalog(
    db,
    { title: 't', catalogVersion: '1', dateReleased: now, count: 1 },
    [{ cve: cves[0] ?? '', ...kev, dueDate: '2026-11-22', ransomware: false, notes: '', cwes: [] }],
    now,
  );
  await storeEpssScores(
    db,
    { modelVersion: 'v1', scoreDate: now.slice(0, 10) },
    cves.map((cve, i) => ({ cve, epss: (i + 1) / (cves.length + 1), percentile: 0.5 })),
  );
}

type Question = { [K in ReadOp]: [K, ReadArgs<K>] }[ReadOp];

async function questions(db: Db): Promise<Question[]> {
  const t = (await listTargets(db))[0];
  const release = t?.release ?? '';
  const page = { limit: 50, offset: 0, sort: '-severity' } as const;
  const open = ['open', 'no-fix', 'mitigated'] as const;
  const grouped: Question[] = (['advisory', 'source'] as const).flatMap((by) =>
    [
      { status: open, minSeverity: 'high' as const },
      { status: open, tag: 'prod' },
      { status: open, text: 'ssl' },
      { status: open, release },
      { status: open, kev: true },
      { status: open, epssAbove: 0.5 },
      { status: open, host: t?.name ?? '' },
      { status: ['open'] as const },
    ].map((q): Question => ['findingGroupsPage', [by, { ...q, status: [...q.status] }, page]]),
  );
  const flat: Question[] = [
    [{ minSeverity: 'high' }, { limit: 50, offset: 0, sort: undefined }],
    [{ kev: true }, { limit: 50, offset: 0, sort: undefined }],
    [{ epssAbove: 0.5 }, { limit: 5, offset: 2, sort: 'epss' }],
    [{}, { limit: 50, offset: 0, sort: 'risk' }],
    [{}, { limit: 7, offset: 3, sort: '-firstSeen' }],
    [{ hosts: [t?.name ?? ''] }, { limit: 50, offset: 0, sort: 'package' }],
  ].map((a): Question => ['findingsPage', a as ReadArgs<'findingsPage'>]);
  return [...grouped, ...flat, ['findingGroupsPage', ['advisory', { status: [...open] }, { limit: 3, offset: 4, sort: 'hosts' }]]];
}

const json = (x: unknown): string => JSON.stringify(x);
const total = (text: string): number => (JSON.parse(text) as { total: number }).total;

describe('read workers (SQLite)', () => {
  let dir: string;
  let db: Db;
  let pool: ReadPool;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-read-pool-'));
    db = await openDatabase({ kind: 'sqlite', path: join(dir, 'store.db') });
    await withSignals(db);
    pool = startReadPool(db, join(dir, 'store.db'), { size: 2 });
    await pool.ready;
  }, 60_000);
  afterAll(async () => {
    await pool.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answer every findings page as it is answered in-process, asked twice and concurrently (both workers, then their caches)', async () => {
    const qs = await questions(db);
    for (const [op, args] of qs) {
      const want = json(await runRead(db, op, args as never));
      const got = await Promise.all([1, 2, 3, 4].map(() => pooledJson(db, op, args as never)));
      for (const g of got) expect(g).toBe(want);
      expect(await runReadJson(db, op, args as never)).toBe(want);
    }
    // The filters keep something and leave something out: the comparison above compared answers.
    const kev = await pooledJson(db, 'findingGroupsPage', [
      'advisory',
      { status: ['open', 'no-fix', 'mitigated'], kev: true },
      { limit: 50, offset: 0, sort: '-severity' },
    ]);
    const all = await pooledJson(db, 'findingGroupsPage', [
      'advisory',
      { status: ['open', 'no-fix', 'mitigated'] },
      { limit: 50, offset: 0, sort: '-severity' },
    ]);
    expect(total(kev)).toBeGreaterThan(0);
    expect(total(kev)).toBeLessThan(total(all));
  });

  it('see a write at the next question, whichever connection wrote it', async () => {
    const q: ReadArgs<'findingsPage'> = [{}, { limit: 1000, offset: 0, sort: undefined }];
    const before = await Promise.all([1, 2].map(() => pooledJson(db, 'findingsPage', q)));
    const k = rawKysely(db);
    const victim = await k.selectFrom('findings').select(['pk']).where('status', '=', 'open').orderBy('pk').executeTakeFirstOrThrow();
    // The server's own connection writes: a finding closed.
    await k.updateTable('findings').set({ status: 'fixed', closed_at: '2026-11-03T00:00:00.000Z' }).where('pk', '=', victim.pk).execute();
    const want = await runRead(db, 'findingsPage', q);
    expect(want.total).toBe(total(before[0] ?? '') - 1);
    for (const got of await Promise.all([1, 2, 3].map(() => pooledJson(db, 'findingsPage', q)))) expect(got).toBe(json(want));
    // Another connection (a CLI beside the server) writes: the finding reopened.
    const other = await openDatabase({ kind: 'sqlite', path: join(dir, 'store.db') }, { migrate: false });
    try {
      await rawKysely(other).updateTable('findings').set({ status: 'open', closed_at: null }).where('pk', '=', victim.pk).execute();
    } finally {
      await other.close();
    }
    const again = await runRead(db, 'findingsPage', q);
    expect(json(again)).toBe(before[0]);
    for (const got of await Promise.all([1, 2, 3].map(() => pooledJson(db, 'findingsPage', q)))) expect(got).toBe(json(again));
  });

  it('refuse as in-process: the same error code and message', async () => {
    const bad: ReadArgs<'findingsPage'> = [{ kev: true }, { limit: 5, offset: 0, sort: 'package' }];
    const here = await runRead(db, 'findingsPage', bad).then(
      () => null,
      (e: unknown) => e,
    );
    const there = await pooledJson(db, 'findingsPage', bad).then(
      () => null,
      (e: unknown) => e,
    );
    expect(here).toMatchObject({ code: 'input.invalid' });
    expect(there).toMatchObject({ code: (here as { code: string }).code, message: (here as Error).message });
  });
});

describe('read workers not yet started', () => {
  it('leave the questions to the server, which shares one computation among copies and never across a write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-read-pool-'));
    const db = await openDatabase({ kind: 'sqlite', path: join(dir, 'store.db') });
    try {
      await withSignals(db);
      // Asked as the pool starts: its worker has not even loaded its modules yet.
      const pool = startReadPool(db, join(dir, 'store.db'), { size: 1 });
      try {
        const q: ReadArgs<'findingsPage'> = [{}, { limit: 1000, offset: 0, sort: undefined }];
        const want = json(await runRead(db, 'findingsPage', q));
        const first = pooledJson(db, 'findingsPage', q);
        const copy = pooledJson(db, 'findingsPage', q);
        // The server's own connection writes while the first is in flight: a question asked after it sees it.
        const k = rawKysely(db);
        const victim = await k.selectFrom('findings').select(['pk']).where('status', '=', 'open').orderBy('pk').executeTakeFirstOrThrow();
        await k.updateTable('findings').set({ status: 'fixed', closed_at: '2026-11-03T00:00:00.000Z' }).where('pk', '=', victim.pk).execute();
        const after = await pooledJson(db, 'findingsPage', q);
        expect(total(after)).toBe(total(want) - 1);
        expect(after).toBe(json(await runRead(db, 'findingsPage', q)));
        // The two asked together before the write agree with each other (one computation).
        expect(await copy).toBe(await first);
        await pool.ready;
      } finally {
        await pool.close();
      }
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('read workers that cannot open the store', () => {
  it('fail each question with the storage error, never hang, and close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-read-pool-'));
    const db = await openDatabase({ kind: 'sqlite', path: join(dir, 'store.db') });
    const pool = startReadPool(db, join(dir, 'missing', 'store.db'), { size: 1 });
    try {
      await pool.ready;
      const err = await pooledJson(db, 'findingsPage', [{}, { limit: 5, offset: 0, sort: undefined }]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'storage.unavailable' });
    } finally {
      await pool.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // Closed: the database answers in-process again.
    expect(pool.size).toBe(1);
  }, 60_000);
});

describe.each(testDatabases())('findings pages without read workers on $name', ({ open }) => {
  it('are answered in-process, as the service answers them', async () => {
    const db = await open();
    try {
      await withSignals(db);
      for (const [op, args] of await questions(db)) expect(await pooledJson(db, op, args as never)).toBe(json(await runRead(db, op, args as never)));
    } finally {
      await db.close();
    }
  }, 60_000);
});
