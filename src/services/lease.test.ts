import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BulwarkError } from '../core/errors.js';
import { tryLease } from '../storage/index.js';
import { withLease } from './lease.js';
import { openStore } from './store.js';

/** Leases held while work runs (content-view publications, image builds), on a real SQLite store. */
describe('withLease', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-lease-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const busy = () => new BulwarkError('storage.conflict', 'busy');
  const other = (db: Awaited<ReturnType<typeof openStore>>, ttlMs: number) =>
    tryLease(db, 'work', 'other', new Date().toISOString(), new Date(Date.now() + ttlMs).toISOString());

  it('keeps the lease past its TTL while the work runs, gives it up after, and refuses while a live holder has it', async () => {
    const db = await openStore({ dbPath: join(dir, 'a.db') });
    try {
      const during: boolean[] = [];
      const r = await withLease(db, 'work', 'me', { ttlMs: 300, busy }, async (lost) => {
        for (let i = 0; i < 4; i++) {
          await new Promise((res) => setTimeout(res, 250));
          during.push(await other(db, 300));
        }
        return lost() ? 'lost' : 'kept';
      });
      expect([r, during]).toEqual(['kept', [false, false, false, false]]);
      // Released: the other holder takes it, and then the work is refused at once.
      expect(await other(db, 60_000)).toBe(true);
      await expect(withLease(db, 'work', 'me', { ttlMs: 300, busy }, () => Promise.resolve('ran'))).rejects.toThrow('busy');
    } finally {
      await db.close();
    }
  });

  it('takes a lease whose holder died once its TTL has run out', async () => {
    const db = await openStore({ dbPath: join(dir, 'b.db') });
    try {
      expect(await other(db, 200)).toBe(true); // taken, never renewed: its process died
      await expect(withLease(db, 'work', 'me', { busy }, () => Promise.resolve('ran'))).rejects.toThrow('busy');
      await new Promise((res) => setTimeout(res, 250));
      expect(await withLease(db, 'work', 'me', { busy }, () => Promise.resolve('ran'))).toBe('ran');
    } finally {
      await db.close();
    }
  });
});
