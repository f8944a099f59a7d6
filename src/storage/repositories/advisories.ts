import type { Advisory } from '../../core/advisory.js';
import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';
import { fingerprint } from '../fingerprint.js';
import type { AdvisoryRow } from '../schema.js';
import {
  addEvents,
  columns,
  deleteChildren,
  describeFixChanges,
  insertAdvisoryRows,
  insertChildren,
  WATCHED,
  type Columns,
  type PendingEvent,
} from './advisory-rows.js';

export type { AdvisoryEvent, AdvisoryEventKind } from './advisory-rows.js';

// Writing advisories: the live upsert with change events, and withdrawal of the ones a feed
// no longer carries. Reads are in advisory-reads.ts, a sync's staging in advisory-staging.ts.

export interface UpsertCounts {
  added: number;
  changed: number;
  unchanged: number;
  /** Withdrawn advisories that appeared again. */
  restored: number;
}

/**
 * Stores advisories: new ones are added, changed ones (by content fingerprint) are rewritten
 * with a `changed` event naming what changed (severity from → to …), unchanged ones are not
 * touched, and withdrawn ones that reappear are restored. Works in multi-row statements per
 * batch (a fresh feed of thousands of advisories is a few dozen statements). Call inside a
 * transaction.
 *
 * @example await transaction(db, (tx) => upsertAdvisories(tx, parsed, new Date().toISOString()))
 */
export async function upsertAdvisories(on: Executor, advisories: readonly Advisory[], now: string): Promise<UpsertCounts> {
  const ex = kx(on);
  const counts: UpsertCounts = { added: 0, changed: 0, unchanged: 0, restored: 0 };
  // Later duplicates of the same (source, id) win, as a feed's last word does.
  const unique = new Map<string, Advisory>();
  for (const a of advisories) unique.set(`${a.source}\u0000${a.id}`, a);
  const bySource = new Map<string, Advisory[]>();
  for (const a of unique.values()) {
    let list = bySource.get(a.source);
    if (!list) bySource.set(a.source, (list = []));
    list.push(a);
  }
  for (const [source, list] of bySource) {
    for (const batch of chunks(list, 1, 5000)) {
      const existing = new Map<string, AdvisoryRow>();
      const rows = await ex
        .selectFrom('advisories')
        .selectAll()
        .where('source', '=', source)
        .where(
          'advisory_id',
          'in',
          batch.map((a) => a.id),
        )
        .execute();
      for (const r of rows) existing.set(r.advisory_id, r);
      const fresh: { a: Advisory; cols: Columns }[] = [];
      const rewritten: { pk: number; a: Advisory }[] = [];
      const events: PendingEvent[] = [];
      const restoredPks: number[] = [];
      for (const a of batch) {
        const fp = fingerprint(a);
        const old = existing.get(a.id);
        if (old === undefined) {
          fresh.push({ a, cols: columns(a, fp, now) });
          continue;
        }
        const wasWithdrawn = old.withdrawn_at !== null;
        if (old.fingerprint === fp) {
          if (wasWithdrawn) {
            restoredPks.push(old.pk);
            events.push({ pk: old.pk, kind: 'restored', detail: {} });
            counts.restored++;
          } else {
            counts.unchanged++;
          }
          continue;
        }
        const next = columns(a, fp, now);
        const detail: Record<string, unknown> = {};
        for (const k of WATCHED) if (old[k] !== next[k]) detail[k] = [old[k], next[k]];
        if (Object.keys(detail).length === 0) detail['content'] = 'fixes, CVEs, references or text';
        await ex
          .updateTable('advisories')
          .set({ ...next, withdrawn_at: null })
          .where('pk', '=', old.pk)
          .execute();
        rewritten.push({ pk: old.pk, a });
        if (wasWithdrawn) {
          events.push({ pk: old.pk, kind: 'restored', detail: {} });
          counts.restored++;
        }
        events.push({ pk: old.pk, kind: 'changed', detail });
        counts.changed++;
      }
      for (const c of chunks(restoredPks, 1, 5000)) await ex.updateTable('advisories').set({ withdrawn_at: null }).where('pk', 'in', c).execute();
      await describeFixChanges(ex, rewritten, events);
      await deleteChildren(
        ex,
        rewritten.map((r) => r.pk),
      );
      const inserted = await insertAdvisoryRows(ex, fresh, now, null);
      for (const { pk, a } of inserted) events.push({ pk, kind: 'added', detail: { severity: a.severity } });
      counts.added += inserted.length;
      await insertChildren(ex, [...inserted, ...rewritten]);
      await addEvents(ex, now, events);
    }
  }
  return counts;
}

/**
 * Marks every advisory of `source` that is not in `present` as withdrawn (it disappeared from
 * the feed); it stays stored, with a `withdrawn` event, and stops producing findings.
 * Returns how many were withdrawn now.
 */
export async function markWithdrawn(on: Executor, source: string, present: ReadonlySet<string>, now: string): Promise<number> {
  const ex = kx(on);
  const live = await ex.selectFrom('advisories').select(['pk', 'advisory_id']).where('source', '=', source).where('withdrawn_at', 'is', null).execute();
  const gone = live.filter((r) => !present.has(r.advisory_id));
  for (const c of chunks(gone, 1, 5000)) {
    await ex
      .updateTable('advisories')
      .set({ withdrawn_at: now })
      .where(
        'pk',
        'in',
        c.map((r) => r.pk),
      )
      .execute();
    await ex
      .insertInto('advisory_events')
      .values(c.map((r) => ({ advisory_pk: r.pk, at: now, kind: 'withdrawn', detail: '{}' })))
      .execute();
  }
  return gone.length;
}
