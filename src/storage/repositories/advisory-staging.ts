import { sql } from 'kysely';
import type { Advisory } from '../../core/advisory.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import { fingerprint } from '../fingerprint.js';
import { columns, insertAdvisoryRows, insertChildren, type Columns } from './advisory-rows.js';

// A sync's staging area: new advisories written hidden under a staging source in short
// transactions, then published (or discarded) at once.

/**
 * A sync's staging area: the source name its new advisories are written under until the sync
 * is published. `/` cannot appear in a source id, so no real source is ever named like this.
 */
export function stagingSource(source: string, syncId: string): string {
  return `${source}/staging/${syncId}`;
}

export interface StageCounts {
  /** New advisories written (hidden) under the staging source. */
  staged: number;
  /** Advisories stored, live and identical: nothing to do. */
  unchanged: number;
  /** Stored advisories that changed or come back from withdrawal: applied when the sync is published. */
  pending: Advisory[];
}

/**
 * Writes the advisories of `source` that are not stored yet under `staging` (see
 * `stagingSource`), withdrawn, so that no reader sees them: a long sync writes its bulk this
 * way in short transactions, and `publishStaged` makes it live in one short one. Stored
 * advisories are only compared here: the changed ones are returned to be upserted at publish.
 * Call in a transaction per batch.
 */
export async function stageAdvisories(on: Executor, source: string, staging: string, advisories: readonly Advisory[], now: string): Promise<StageCounts> {
  const ex = kx(on);
  const counts: StageCounts = { staged: 0, unchanged: 0, pending: [] };
  for (const batch of chunks(advisories, 1, 5000)) {
    const rows = await ex
      .selectFrom('advisories')
      .select(['advisory_id', 'fingerprint', 'withdrawn_at'])
      .where('source', '=', source)
      .where(
        'advisory_id',
        'in',
        batch.map((a) => a.id),
      )
      .execute();
    const existing = new Map(rows.map((r) => [r.advisory_id, r]));
    const fresh: { a: Advisory; cols: Columns }[] = [];
    for (const a of batch) {
      const fp = fingerprint(a);
      const old = existing.get(a.id);
      if (old === undefined) fresh.push({ a, cols: { ...columns(a, fp, now), source: staging } });
      else if (old.fingerprint === fp && old.withdrawn_at === null) counts.unchanged++;
      else counts.pending.push(a);
    }
    const inserted = await insertAdvisoryRows(ex, fresh, now, now);
    await insertChildren(ex, inserted);
    counts.staged += inserted.length;
  }
  return counts;
}

/**
 * Makes a sync's staged advisories live under `source`, each with its `added` event: two
 * statements, whatever the number. Call in the sync's final transaction.
 */
export async function publishStaged(on: Executor, staging: string, source: string, now: string): Promise<number> {
  const ex = kx(on);
  await ex
    .insertInto('advisory_events')
    .columns(['advisory_pk', 'at', 'kind', 'detail'])
    .expression((eb) =>
      eb
        .selectFrom('advisories')
        .select(['pk', sql<string>`${now}`.as('at'), sql<string>`'added'`.as('kind'), sql<string>`'{"severity":"' || severity || '"}'`.as('detail')])
        .where('source', '=', staging),
    )
    .execute();
  const r = await ex
    .updateTable('advisories')
    .set({ source, withdrawn_at: null, first_seen_at: now, last_changed_at: now })
    .where('source', '=', staging)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Removes a staging area (a failed or refused sync's, or one a killed process left behind). */
export async function discardStaged(on: Executor, staging: string): Promise<void> {
  const ex = kx(on);
  await ex.deleteFrom('advisories').where('source', '=', staging).execute();
}

/** Staging areas of `source` begun before `before`: left behind by a process that died mid-sync. */
export async function staleStagingSources(on: Executor, source: string, before: string): Promise<string[]> {
  const ex = kx(on);
  const prefix = stagingSource(source, '');
  // `_` in a source id is a LIKE wildcard: the prefix is checked again below.
  const rows = await ex
    .selectFrom('advisories')
    .select('source')
    .distinct()
    .where('source', 'like', `${prefix}%`)
    .where('first_seen_at', '<', before)
    .execute();
  return rows.map((r) => r.source).filter((s) => s.startsWith(prefix));
}
