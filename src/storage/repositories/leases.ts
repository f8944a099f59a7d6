import { sql } from 'kysely';
import { kx, type Executor } from '../database.js';

/**
 * Takes or renews a lease: one statement, so two processes cannot both get it. It succeeds when
 * nobody holds the lease, when its holder's time ran out, or when we hold it already (renewal).
 * Timestamps are ISO 8601 UTC strings on SQLite (they sort as text) and timestamptz on PostgreSQL.
 */
export async function tryLease(on: Executor, name: string, holder: string, now: string, expiresAt: string): Promise<boolean> {
  const ex = kx(on);
  await ex
    .insertInto('leases')
    .values({ name, holder, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: expiresAt })
        .where((eb) => eb.or([eb('leases.expires_at', '<=', now), eb('leases.holder', '=', holder)])),
    )
    .execute();
  const row = await ex.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst();
  return row?.holder === holder;
}

/** Gives a lease up (only its holder can). */
export async function releaseLease(on: Executor, name: string, holder: string): Promise<void> {
  const ex = kx(on);
  await ex.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}

/** Runs marked running that nobody holds a live lease on: their process died. */
export async function orphanRuns(on: Executor, now: string): Promise<number[]> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('runs')
    .select('pk')
    .where('status', '=', 'running')
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('leases')
            .select('leases.name')
            .where('leases.name', '=', sql<string>`'run:' || runs.pk`)
            .where('leases.expires_at', '>', now),
        ),
      ),
    )
    .orderBy('pk')
    .execute();
  return rows.map((r) => r.pk);
}

export async function leaseHolder(on: Executor, name: string): Promise<string | null> {
  const ex = kx(on);
  return (await ex.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst())?.holder ?? null;
}
