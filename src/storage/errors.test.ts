import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';
import type { Advisory } from '../core/advisory.js';
import { BulwarkError } from '../core/errors.js';
import { openDatabase, rawKysely, transaction, type Db } from './database.js';
import { storageErrorOf } from './errors.js';
import { loadAdvisories, upsertAdvisories } from './index.js';

/**
 * Issue #20 items 6 and 11 on a real SQLite file: a transaction takes the write lock when it
 * begins, so a writer in another connection waits for it (bounded by the busy timeout) instead
 * of failing it; a full database says so (storage.full), not "cannot rollback - no transaction
 * is active", and nothing of the failed transaction is stored.
 */
const advisory = (id: string): Advisory =>
  testAdvisory({ source: 'errors-test', id, description: 'x'.repeat(2000), severity: 'low', fixes: [fixedIn('azurelinux:3.0', `p-${id}`, '1-1')] });

describe('SQLite under contention and when full', () => {
  let dir = '';
  let db: Db;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-errors-'));
    db = await openDatabase({ kind: 'sqlite', path: join(dir, 'b.db') });
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the write lock from the start of a transaction: another process writing meanwhile waits, and this transaction is not refused', async () => {
    const other = new BetterSqlite3(join(dir, 'b.db'));
    other.pragma('busy_timeout = 200');
    let otherError: unknown = null;
    try {
      await transaction(db, async (tx) => {
        // Read first, as a sync does (what is stored already), then let the other process try to write.
        await loadAdvisories(tx, { source: 'errors-test' });
        try {
          other.prepare("insert into audit (at, actor, action, subject, detail) values ('2026-01-01T00:00:00.000Z', 'other', 'x', 'y', '{}')").run();
        } catch (err) {
          otherError = err;
        }
        await upsertAdvisories(tx, [advisory('A-1')], new Date().toISOString());
      });
    } finally {
      other.close();
    }
    // The other writer waited its busy timeout and was told the database is busy, as a CLI is.
    expect(storageErrorOf(otherError)?.code).toBe('storage.conflict');
    expect((await loadAdvisories(db, { source: 'errors-test' })).map((a) => a.id)).toEqual(['A-1']);
  });

  it('says the database is full (storage.full) and stores nothing of the failed transaction', async () => {
    await transaction(db, (tx) => upsertAdvisories(tx, [advisory('KEPT')], new Date().toISOString()));
    const pages = Number((await sql<{ page_count: number }>`pragma page_count`.execute(rawKysely(db))).rows[0]?.page_count);
    await sql.raw(`pragma max_page_count = ${String(pages + 20)}`).execute(rawKysely(db));
    const many = Array.from({ length: 2000 }, (_, i) => advisory(`FULL-${String(i)}`));
    const err = await transaction(db, (tx) => upsertAdvisories(tx, many, new Date().toISOString())).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as { code?: string } | null)?.code).toBe('SQLITE_FULL');
    const said = storageErrorOf(err);
    expect(said).toBeInstanceOf(BulwarkError);
    expect([said?.code, said?.message]).toEqual([
      'storage.full',
      'the disk or the database is full (SQLITE_FULL): free space and try again; nothing of this change was stored',
    ]);
    expect((await loadAdvisories(db, { source: 'errors-test' })).map((a) => a.id)).toEqual(['KEPT']);
  });
});

describe('storageErrorOf', () => {
  it.each([
    [{ code: '53100', message: 'could not extend file: No space left on device' }, 'storage.full'],
    [Object.assign(new Error('write failed'), { code: 'ENOSPC' }), 'storage.full'],
    [new Error('query failed', { cause: { code: 'EDQUOT' } }), 'storage.full'],
    [{ code: '55P03', message: 'canceling statement due to lock timeout' }, 'storage.conflict'],
    [{ code: '40P01', message: 'deadlock detected' }, 'storage.conflict'],
    [{ code: 'SQLITE_BUSY', message: 'database is locked' }, 'storage.conflict'],
    [{ code: '23505', message: 'duplicate key' }, null],
    [new BulwarkError('usage', 'x', undefined, { cause: { code: 'ENOSPC' } }), null],
    [new Error('no code'), null],
  ])('%o is %s', (err, code) => {
    expect(storageErrorOf(err)?.code ?? null).toBe(code);
  });
});
