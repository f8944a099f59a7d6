import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../core/advisory.js';
import { isBulwarkError } from '../core/errors.js';
import { testDatabases } from '../../test/databases.js';
import { dumpStore } from '../../test/store-dump.js';
import { runCli } from '../../test/cli.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import { schedulerCommand } from '../cli/commands/scheduler.js';
import { auditLog } from './audit.js';
import { addSource, syncSource } from './feeds.js';
import { ingestFeedFile } from './ingest.js';
import { openStore, type Db } from './store.js';
import { createToken } from './tokens.js';
import { loadAdvisories, stageAdvisories, stagingSource, transaction, rawKysely } from '../storage/index.js';

// Issue #13, "a broken feed withdraws everything": a sync that would withdraw more than 20% of a
// source's advisories, or whose records were mostly skipped, is refused with the counts unless
// the operator allows it; a feed with no usable record never withdraws anything. Issue #13 also:
// every sync is audited (CLI, API, scheduler) with source, location, sha256, counts and actor.

function advisory(id: string, severity = 'high'): Record<string, unknown> {
  return {
    id,
    title: `${id} in openssl`,
    description: '',
    severity,
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: '2025-01-01T00:00:00Z',
    updatedAt: null,
    parser: 'test@1',
    fixes: [
      {
        release: 'azurelinux:3.0',
        package: 'openssl',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '0:3.3.2-1.azl3',
        lastAffected: null,
        introduced: null,
      },
    ],
  };
}

function feed(dir: string, name: string, advisories: Record<string, unknown>[]): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify({ source: 'guard', advisories }));
  return p;
}

const ten = Array.from({ length: 10 }, (_, i) => advisory(`GUARD-${String(i + 1).padStart(2, '0')}`));

async function refusedWith(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isBulwarkError(err, 'input.invalid')) throw new Error(`expected a refusal, got ${String(err)}`);
  return String(err.details?.['refused']);
}

describe.each(testDatabases())('feed sync guards on $name', (tdb) => {
  let db: Db;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-guard-'));
  beforeAll(async () => {
    db = await tdb.open();
    await addSource(db, { id: 'guard', format: 'native', location: feed(dir, 'ten.json', ten) });
    expect(await syncSource(db, 'guard', { actor: { kind: 'cli', name: 'test' } })).toMatchObject({ status: 'synced', added: 10 });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the all-invalid native feed (every severity "catastrophic"), even with --allow-withdraw; nothing changes', async () => {
    const bad = feed(
      dir,
      'catastrophic.json',
      ten.slice(0, 6).map((a) => ({ ...a, severity: 'catastrophic' })),
    );
    const before = await dumpStore(db);
    expect(await refusedWith(syncSource(db, 'guard', { file: bad, actor: { kind: 'cli', name: 'test' } }))).toBe('no-usable-records');
    expect(await refusedWith(syncSource(db, 'guard', { file: bad, allowWithdraw: true, actor: { kind: 'cli', name: 'test' } }))).toBe('no-usable-records');
    // The demo's path (a native file under the source it names) is guarded the same way.
    expect(await refusedWith(ingestFeedFile(db, bad))).toBe('no-usable-records');
    expect(await dumpStore(db)).toEqual(before);
  });

  it('refuses a feed that would withdraw 90% with the counts; nothing changes; --allow-withdraw stores it', async () => {
    const one = feed(dir, 'one.json', ten.slice(0, 1));
    const before = await dumpStore(db);
    const err = await syncSource(db, 'guard', { file: one, actor: { kind: 'cli', name: 'test' } }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('would withdraw 9 of the 10 advisories of guard (90%, more than 20%');
    expect(await dumpStore(db)).toEqual(before);
    const audit = await auditLog(db, { subject: 'guard', limit: 1 });
    expect(audit[0]?.detail).toMatchObject({ status: 'refused', refused: 'withdraw-share', usable: 1, stored: 10, wouldWithdraw: 9 });

    expect(await syncSource(db, 'guard', { file: one, allowWithdraw: true, actor: { kind: 'cli', name: 'test' } })).toMatchObject({
      status: 'synced',
      withdrawn: 9,
    });
    expect(await syncSource(db, 'guard', { file: feed(dir, 'ten-again.json', ten), actor: { kind: 'cli', name: 'test' } })).toMatchObject({
      status: 'synced',
      restored: 9,
    });
  });

  it('lets a sync withdraw 20% and no more without the flag', async () => {
    expect(await syncSource(db, 'guard', { file: feed(dir, 'eight.json', ten.slice(0, 8)), actor: { kind: 'cli', name: 'test' } })).toMatchObject({
      status: 'synced',
      withdrawn: 2,
    });
    expect(await syncSource(db, 'guard', { file: feed(dir, 'ten-3.json', ten), actor: { kind: 'cli', name: 'test' } })).toMatchObject({
      status: 'synced',
      restored: 2,
    });
    expect(await refusedWith(syncSource(db, 'guard', { file: feed(dir, 'seven.json', ten.slice(0, 7)), actor: { kind: 'cli', name: 'test' } }))).toBe(
      'withdraw-share',
    );
  });

  // Salami: 19% three times is 47% of a source. The share is measured over a window (30 days,
  // or since the last sync the operator allowed to withdraw), not per sync.
  it('adds up the withdrawals of the last 30 days: a source cannot be emptied a slice at a time', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => advisory(`SLICE-${String(i + 1).padStart(2, '0')}`));
    const day = (n: number) => () => new Date(Date.UTC(2026, 0, 1 + n));
    await addSource(db, { id: 'salami', format: 'native', location: feed(dir, 'fifty.json', fifty) });
    expect(await syncSource(db, 'salami', { actor: { kind: 'cli', name: 'test' }, clock: day(0) })).toMatchObject({ status: 'synced', added: 50 });
    expect(
      await syncSource(db, 'salami', { file: feed(dir, 's45.json', fifty.slice(0, 45)), actor: { kind: 'cli', name: 'test' }, clock: day(1) }),
    ).toMatchObject({ status: 'synced', withdrawn: 5 });
    expect(
      await syncSource(db, 'salami', { file: feed(dir, 's40.json', fifty.slice(0, 40)), actor: { kind: 'cli', name: 'test' }, clock: day(2) }),
    ).toMatchObject({ status: 'synced', withdrawn: 5 });
    // 4 of 40 is 10%, but 14 of the 50 the source held three days ago is 28%.
    const before = await dumpStore(db);
    const third = syncSource(db, 'salami', { file: feed(dir, 's36.json', fifty.slice(0, 36)), actor: { kind: 'cli', name: 'test' }, clock: day(3) });
    await expect(third).rejects.toThrow(
      /with the 10 advisories withdrawn since 2025-12-05T00:00:00.000Z, the sync would leave 14 of the 50 advisories of salami withdrawn \(28%/,
    );
    expect(
      await refusedWith(syncSource(db, 'salami', { file: feed(dir, 's36.json', fifty.slice(0, 36)), actor: { kind: 'cli', name: 'test' }, clock: day(3) })),
    ).toBe('withdraw-share');
    expect(await dumpStore(db)).toEqual(before);
    // The operator allows it once; that sync is the new baseline.
    expect(
      await syncSource(db, 'salami', {
        file: feed(dir, 's36.json', fifty.slice(0, 36)),
        actor: { kind: 'cli', name: 'test' },
        clock: day(3),
        allowWithdraw: true,
      }),
    ).toMatchObject({ status: 'synced', withdrawn: 4 });
    expect(
      await syncSource(db, 'salami', { file: feed(dir, 's32.json', fifty.slice(0, 32)), actor: { kind: 'cli', name: 'test' }, clock: day(4) }),
    ).toMatchObject({ status: 'synced', withdrawn: 4 });
    // 4 more within the window: 8 of 36 (22%) is refused; a month later the old slice no longer counts.
    expect(
      await refusedWith(syncSource(db, 'salami', { file: feed(dir, 's28.json', fifty.slice(0, 28)), actor: { kind: 'cli', name: 'test' }, clock: day(5) })),
    ).toBe('withdraw-share');
    expect(
      await syncSource(db, 'salami', { file: feed(dir, 's28.json', fifty.slice(0, 28)), actor: { kind: 'cli', name: 'test' }, clock: day(35) }),
    ).toMatchObject({ status: 'synced', withdrawn: 4 });
  });

  // The same ids with no fix left match nothing, as if withdrawn: an Azure Linux 3.0 OVAL without
  // its <states> (or with empty criteria) synced as "2266 changed" with exit 0.
  it('counts advisories that would lose every fix as withdrawn', async () => {
    await addSource(db, { id: 'emptied', format: 'native', location: feed(dir, 'emptied-ten.json', ten) });
    expect(await syncSource(db, 'emptied', { actor: { kind: 'cli', name: 'test' } })).toMatchObject({ status: 'synced', added: 10 });
    const before = await dumpStore(db);
    const hollow = feed(dir, 'hollow.json', [...ten.slice(0, 7), ...ten.slice(7).map((a) => ({ ...a, fixes: [] }))]);
    const err = await syncSource(db, 'emptied', { file: hollow, actor: { kind: 'cli', name: 'test' } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isBulwarkError(err, 'input.invalid') && err.details).toMatchObject({ refused: 'withdraw-share', wouldWithdraw: 0, wouldEmpty: 3 });
    expect((err as Error).message).toContain('would withdraw 0 and leave 3 without any fix of the 10 advisories of emptied (30%, more than 20%');
    expect(await dumpStore(db)).toEqual(before);
    // Two of ten is within the share.
    const two = feed(dir, 'hollow-two.json', [...ten.slice(0, 8), ...ten.slice(8).map((a) => ({ ...a, fixes: [] }))]);
    expect(await syncSource(db, 'emptied', { file: two, actor: { kind: 'cli', name: 'test' } })).toMatchObject({ status: 'synced', changed: 2, withdrawn: 0 });
  });

  it('refuses a feed whose records were mostly skipped, even when it would withdraw nothing', async () => {
    const mostlyBad = feed(dir, 'mostly-bad.json', [...ten, ...Array.from({ length: 11 }, (_, i) => advisory(`BAD-${String(i)}`, 'catastrophic'))]);
    const before = await dumpStore(db);
    const err = await syncSource(db, 'guard', { file: mostlyBad, actor: { kind: 'cli', name: 'test' } }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('most records were skipped (10 usable records, 11 skipped');
    expect(await dumpStore(db)).toEqual(before);
    expect(await syncSource(db, 'guard', { file: mostlyBad, allowWithdraw: true, actor: { kind: 'cli', name: 'test' } })).toMatchObject({
      status: 'synced',
      unchanged: 10,
    });
  });
});

describe('every sync is audited with its actor: CLI, API and scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sync-audit-'));
  const dbPath = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('records source, location, sha256, counts and who asked', async () => {
    const ok = feed(dir, 'ten.json', ten);
    expect((await runCli(['--db', dbPath, 'feeds', 'add', 'guard', '--format', 'native', '--location', ok], { USER: 'alice' })).code).toBe(0);
    const cli = await runCli(['--db', dbPath, 'feeds', 'sync', '--source', 'guard'], { USER: 'alice' });
    expect(cli.code).toBe(0);
    const refused = await runCli(['--db', dbPath, 'feeds', 'sync', '--source', 'guard', '--file', feed(dir, 'one.json', ten.slice(0, 1))], { USER: 'alice' });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('would withdraw 9 of the 10');

    const db = await openStore({ dbPath });
    try {
      const { token } = await createToken(db, { name: 'ops', role: 'operator', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } });
      const app = createApp(db, {
        knownHostsFile: join(dir, 'known_hosts'),
        transport: () => refusingTransport,
        version: 'test',
        agentServerKey: Buffer.alloc(32, 1),
      });
      const res = await app.request('/api/v1/feeds/guard/sync', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ force: true }),
      });
      expect(res.status).toBe(200);
      expect(
        await schedulerCommand({
          io: { stdin: devNull(), stdout: devNull(), stderr: devNull(), env: { USER: 'alice' } },
          dbPath,
          intervalSeconds: 1,
          sync: true,
          once: true,
          knownHostsFile: join(dir, 'known_hosts'),
        }),
      ).toBe(0);

      const syncs = (await auditLog(db, { subject: 'guard', limit: 10 })).filter((e) => e.action === 'feed.sync').reverse();
      expect(syncs.map((e) => [e.actor, e.detail['status']])).toEqual([
        // The OS user running the CLI, whatever $USER says (issue #17).
        [`cli:${userInfo().username}`, 'synced'],
        [`cli:${userInfo().username}`, 'refused'],
        [expect.stringMatching(/^token:.*:ops$/), 'synced'],
        ['scheduler', 'unchanged'],
      ]);
      expect(syncs[0]?.detail).toMatchObject({ location: ok, advisories: 10, added: 10, withdrawn: 0 });
      expect(syncs[0]?.detail['sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(syncs[2]?.detail).toMatchObject({ force: true, unchanged: 10 });
    } finally {
      await db.close();
    }
  });
});

// The scheduler cannot pass --allow-withdraw. A refused feed must be loud (exit code with --once,
// its log line, `feeds list`, the audit) and not be parsed and weighed again every pass while its
// bytes stay the same; one operator sync with --allow-withdraw is enough.
describe('a refused sync under the scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sched-refused-'));
  const dbPath = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is remembered: exit 4, shown by feeds list, refused again unread, until an operator allows it once', async () => {
    const location = join(dir, 'feed.json');
    writeFileSync(location, JSON.stringify({ source: 'guard', advisories: ten }));
    expect((await runCli(['--db', dbPath, 'feeds', 'add', 'guard', '--format', 'native', '--location', location])).code).toBe(0);
    expect((await runCli(['--db', dbPath, 'feeds', 'sync', '--source', 'guard'])).code).toBe(0);
    writeFileSync(location, JSON.stringify({ source: 'guard', advisories: ten.slice(0, 1) }));
    const scheduler = async (): Promise<{ code: number; err: string }> => {
      const err = new PassThrough();
      let text = '';
      err.on('data', (c: Buffer) => (text += c.toString()));
      const code = await schedulerCommand({
        io: { stdin: devNull(), stdout: devNull(), stderr: err, env: {} },
        dbPath,
        intervalSeconds: 1,
        sync: true,
        once: true,
        knownHostsFile: join(dir, 'known_hosts'),
      });
      return { code, err: text };
    };
    const first = await scheduler();
    expect(first).toMatchObject({ code: 4, err: expect.stringMatching(/^scheduler: guard refused: .*would withdraw 9 of the 10 advisories/) as unknown });
    const second = await scheduler();
    expect(second).toMatchObject({
      code: 4,
      err: expect.stringMatching(/^scheduler: guard refused: .*refused again, unread: the same bytes were refused at /) as unknown,
    });

    const list = await runCli(['--db', dbPath, 'feeds', 'list']);
    expect(list.out).toMatch(/^guard\s+native\s+-\s+configured\s+REFUSED \S+\s+10\s/m);
    expect(list.out).toContain('guard: the last sync was refused: ');
    const db = await openStore({ dbPath });
    try {
      const syncs = (await auditLog(db, { subject: 'guard', limit: 10 })).filter((e) => e.action === 'feed.sync').reverse();
      expect(syncs.map((e) => [e.detail['status'], e.detail['repeated'] ?? false])).toEqual([
        ['synced', false],
        ['refused', false],
        ['refused', true],
      ]);
      expect(syncs.slice(1).map((e) => e.actor)).toEqual(['scheduler', 'scheduler']);
      expect((await loadAdvisories(db, { source: 'guard' })).length).toBe(10);
    } finally {
      await db.close();
    }

    // The operator looks and allows it once; the scheduler then finds it unchanged.
    const allowed = await runCli(['--db', dbPath, 'feeds', 'sync', '--source', 'guard', '--allow-withdraw']);
    expect(allowed.code).toBe(0);
    expect(allowed.out).toMatch(/^guard: 1 advisory in 1 document: 0 added, 0 changed, 9 withdrawn/m);
    expect(await scheduler()).toEqual({ code: 0, err: '' });
    expect((await runCli(['--db', dbPath, 'feeds', 'list'])).out).not.toContain('REFUSED');
  });
});

function devNull(): PassThrough {
  const s = new PassThrough();
  s.resume();
  return s;
}

// Issue #20 item 5 keeps issue #13's promise: the sync no longer writes in one long transaction,
// yet a sync that fails while writing leaves nothing half-written.
describe.each(testDatabases())('a sync that fails while writing on $name', (tdb) => {
  let db: Db;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-guard-fail-'));
  beforeAll(async () => {
    db = await tdb.open();
    await addSource(db, { id: 'guard', format: 'native', location: feed(dir, 'ten.json', ten) });
    await syncSource(db, 'guard', { actor: { kind: 'cli', name: 'test' } });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the store as it was (new advisories were staged, the last write failed), and the next sync stores it all', async () => {
    const next = feed(dir, 'next.json', [...ten.slice(0, 9), ...Array.from({ length: 5 }, (_, i) => advisory(`NEW-${String(i)}`))]);
    // The database refuses the final transaction's last statement (a withdrawal event).
    if (db.dialect === 'sqlite')
      await sql`create trigger refuse_withdrawn before insert on advisory_events when new.kind = 'withdrawn' begin select raise(abort, 'injected failure'); end`.execute(
        rawKysely(db),
      );
    else {
      await sql`create function refuse_withdrawn() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(
        rawKysely(db),
      );
      await sql`create trigger refuse_withdrawn before insert on advisory_events for each row when (new.kind = 'withdrawn') execute function refuse_withdrawn()`.execute(
        rawKysely(db),
      );
    }
    const before = await dumpStore(db);
    await expect(syncSource(db, 'guard', { file: next, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(/injected failure/);
    expect(await dumpStore(db)).toEqual(before);
    expect((await auditLog(db, { subject: 'guard', limit: 1 }))[0]?.detail).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/injected failure/) as unknown,
    });
    await sql`drop trigger refuse_withdrawn${sql.raw(db.dialect === 'sqlite' ? '' : ' on advisory_events')}`.execute(rawKysely(db));
    expect(await syncSource(db, 'guard', { file: next, actor: { kind: 'cli', name: 'test' } })).toMatchObject({
      status: 'synced',
      added: 5,
      withdrawn: 1,
      unchanged: 9,
    });
  });

  it('clears what a killed sync left staged, which no reader ever saw', async () => {
    const old = '2020-01-01T00:00:00.000Z';
    const staging = stagingSource('guard', 'killed');
    await transaction(db, (tx) => stageAdvisories(tx, 'guard', staging, [{ ...(advisory('GHOST') as unknown as Advisory), source: 'guard' }], old));
    expect((await loadAdvisories(db, { release: 'azurelinux:3.0', packages: ['openssl'] })).map((a) => a.id)).not.toContain('GHOST');
    expect((await loadAdvisories(db, { withdrawn: true })).map((a) => a.id)).not.toContain('GHOST');
    await syncSource(db, 'guard', { file: feed(dir, 'again.json', ten), force: true, allowWithdraw: true, actor: { kind: 'cli', name: 'test' } });
    expect(await rawKysely(db).selectFrom('advisories').select('advisory_id').where('source', '=', staging).execute()).toEqual([]);
  });
});
