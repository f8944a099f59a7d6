import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCheckpointer, SAFETY_PAGES } from './checkpointer.js';
import { openDatabase, rawKysely, sqliteOf, type Db } from './database.js';
import { sql } from 'kysely';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fileStore(): Promise<{ db: Db; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-checkpoint-'));
  dirs.push(dir);
  const path = join(dir, 'b.db');
  return { db: await openDatabase({ kind: 'sqlite', path }), path };
}

/** About `mb` MB written to the WAL in one transaction (far fewer pages than SAFETY_PAGES). */
async function write(db: Db, mb: number): Promise<void> {
  await sql`create table if not exists filler (x blob)`.execute(rawKysely(db));
  await sql`insert into filler with recursive n(i) as (select 1 union all select i + 1 from n where i < ${mb * 250}) select randomblob(4000) from n`.execute(
    rawKysely(db),
  );
}

async function until(cond: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the WAL checkpoint worker (bulwark serve on SQLite)', () => {
  it('copies committed pages into the database file from its own thread, the server connection checkpointing only past SAFETY_PAGES', async () => {
    const { db, path } = await fileStore();
    const sqlite = sqliteOf(db)!;
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const cp = startCheckpointer(db, path, { everyMs: 20 })!;
    try {
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(SAFETY_PAGES);
      await until(async () => (await cp.runs()) > 0, 'the first checkpoint');
      const before = statSync(path).size;
      await write(db, 6); // ~1,500 pages: past SQLite's default 1,000, below SAFETY_PAGES
      // The commit itself did not checkpoint: the pages are only in the WAL.
      expect(statSync(path).size).toBe(before);
      await until(() => statSync(path).size > before + 5_000_000, 'the worker to copy the pages into the database file');
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(5_000_000);
    } finally {
      await cp.close();
    }
    // Closed: the server connection checkpoints as SQLite does by default again.
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await db.close();
  });

  it('keeps the same commit unchecked without the worker (the test above would fail without it)', async () => {
    const { db, path } = await fileStore();
    const sqlite = sqliteOf(db)!;
    sqlite.pragma(`wal_autocheckpoint = ${String(SAFETY_PAGES)}`);
    const before = statSync(path).size;
    await write(db, 6);
    await new Promise((r) => setTimeout(r, 300));
    expect(statSync(path).size).toBe(before);
    await db.close();
  });

  it('is not started in memory', async () => {
    const db = await openDatabase({ kind: 'sqlite', path: ':memory:' });
    expect(startCheckpointer(db, ':memory:')).toBeNull();
    await db.close();
  });
});
