import { BulwarkError } from '../core/errors.js';
import { releaseLease, tryLease } from '../storage/index.js';
import type { Db } from './store.js';

/**
 * Leases held while work runs (patch runs, content-view publications, image builds): one holder
 * across processes and servers, renewed every third of its TTL while the work runs, so a process
 * that dies lets it expire within the TTL and its work is not blocked for long. Leases are about
 * processes being alive: they use the real time, never an injected clock.
 */
export interface HeldLease {
  /** True once a renewal failed: another process may have taken the lease. */
  lost: () => boolean;
  /** Stops renewing and gives the lease up. */
  release: () => Promise<void>;
  /** Stops renewing and keeps the lease until it expires (a holder that takes it again next time). */
  stop: () => Promise<void>;
}

/**
 * Takes the lease `name` for `holder` and keeps renewing it; waits up to `waitMs` (default 0)
 * for another holder's lease to end; null when it could not be taken.
 */
export async function acquireLease(db: Db, name: string, holder: string, o: { ttlMs?: number; waitMs?: number } = {}): Promise<HeldLease | null> {
  const ttl = o.ttlMs ?? 30_000;
  const take = (): Promise<boolean> => tryLease(db, name, holder, new Date().toISOString(), new Date(Date.now() + ttl).toISOString());
  const until = Date.now() + (o.waitMs ?? 0);
  while (!(await take())) {
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, Math.min(250, ttl / 4)));
  }
  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = setInterval(() => {
    renewing = take().then(
      (ok) => {
        if (!ok) lost = true;
      },
      () => {
        lost = true;
      },
    );
  }, ttl / 3);
  const stop = async (): Promise<void> => {
    clearInterval(renew);
    // A renewal already under way would otherwise take the lease back after it is given up.
    await renewing;
  };
  return {
    lost: () => lost,
    release: async () => {
      await stop();
      await releaseLease(db, name, holder).catch(() => undefined);
    },
    stop,
  };
}

/**
 * Runs `fn` holding the lease `name` (see acquireLease); when another live holder has it, `busy`
 * is thrown at once.
 * @example await withLease(db, `view:${name}`, holder, { busy: () => new BulwarkError('storage.conflict', 'busy') }, async () => publish())
 */
export async function withLease<T>(
  db: Db,
  name: string,
  holder: string,
  o: { ttlMs?: number; busy: () => BulwarkError },
  fn: (lost: () => boolean) => Promise<T>,
): Promise<T> {
  const lease = await acquireLease(db, name, holder, o.ttlMs === undefined ? {} : { ttlMs: o.ttlMs });
  if (lease === null) throw o.busy();
  try {
    return await fn(lease.lost);
  } finally {
    await lease.release();
  }
}
