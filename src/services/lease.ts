import { BulwarkError } from '../core/errors.js';
import { releaseLease, tryLease } from '../storage/index.js';
import type { Db } from './store.js';

/**
 * Runs `fn` holding the lease `name` (one holder across processes and servers), renewed every
 * third of `ttlMs` while it runs: a process that dies lets it expire within `ttlMs`, so work it
 * left is not blocked for long. When another live holder has it, `busy` is thrown at once.
 * Leases are about processes being alive: they use the real time, never an injected clock.
 * @example await withLease(db, `view:${name}`, holder, { busy: () => new BulwarkError('storage.conflict', 'busy') }, async () => publish())
 */
export async function withLease<T>(db: Db, name: string, holder: string, o: { ttlMs?: number; busy: () => BulwarkError }, fn: (lost: () => boolean) => Promise<T>): Promise<T> {
  const ttl = o.ttlMs ?? 30_000;
  const take = (): Promise<boolean> => tryLease(db.kysely, name, holder, new Date().toISOString(), new Date(Date.now() + ttl).toISOString());
  if (!(await take())) throw o.busy();
  let lost = false;
  const renew = setInterval(() => {
    take().then(
      (ok) => {
        if (!ok) lost = true;
      },
      () => {
        lost = true;
      },
    );
  }, ttl / 3);
  try {
    return await fn(() => lost);
  } finally {
    clearInterval(renew);
    await releaseLease(db.kysely, name, holder).catch(() => undefined);
  }
}
