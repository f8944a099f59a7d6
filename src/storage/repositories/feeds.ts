import { kx, type Executor } from '../database.js';

/** An operator-configured feed source: an addition to the built-in catalog, or an override of one entry. */
export interface StoredFeedSource {
  id: string;
  format: string;
  location: string;
  release: string | null;
  description: string | null;
  addedAt: string;
  /** Configured through the CLI (the operator) or the API (an admin token); default cli. */
  addedVia?: 'cli' | 'api';
}

export interface FeedState {
  source: string;
  location: string;
  etag: string | null;
  lastModified: string | null;
  fingerprint: string | null;
  syncedAt: string;
  summary: Record<string, unknown>;
}

/** @example await saveFeedSource(db, { id: 'my-oval', format: 'oval', location: '/srv/oval.xml', release: 'azurelinux:3.0', description: null, addedAt: now }) */
export async function saveFeedSource(on: Executor, s: StoredFeedSource): Promise<void> {
  const ex = kx(on);
  const via = s.addedVia ?? 'cli';
  const row = { id: s.id, format: s.format, location: s.location, release_id: s.release, description: s.description, added_at: s.addedAt, added_via: via };
  await ex
    .insertInto('feed_sources')
    .values(row)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({ format: s.format, location: s.location, release_id: s.release, description: s.description, added_via: via }),
    )
    .execute();
}

export async function listFeedSources(on: Executor): Promise<StoredFeedSource[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('feed_sources').selectAll().orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id,
    format: r.format,
    location: r.location,
    release: r.release_id,
    description: r.description,
    addedAt: r.added_at,
    addedVia: r.added_via === 'api' ? 'api' : 'cli',
  }));
}

/** Returns whether a stored source was removed. */
export async function removeFeedSource(on: Executor, id: string): Promise<boolean> {
  const ex = kx(on);
  const r = await ex.deleteFrom('feed_sources').where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows > 0n;
}

export async function getFeedState(on: Executor, source: string): Promise<FeedState | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('feed_state').selectAll().where('source', '=', source).executeTakeFirst();
  if (r === undefined) return null;
  return {
    source: r.source,
    location: r.location,
    etag: r.etag,
    lastModified: r.last_modified,
    fingerprint: r.fingerprint,
    syncedAt: r.synced_at,
    summary: JSON.parse(r.summary) as Record<string, unknown>,
  };
}

export async function listFeedStates(on: Executor): Promise<FeedState[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('feed_state').select('source').orderBy('source').execute();
  const out: FeedState[] = [];
  for (const r of rows) {
    const s = await getFeedState(ex, r.source);
    if (s !== null) out.push(s);
  }
  return out;
}

export async function saveFeedState(on: Executor, s: FeedState): Promise<void> {
  const ex = kx(on);
  const row = {
    source: s.source,
    location: s.location,
    etag: s.etag,
    last_modified: s.lastModified,
    fingerprint: s.fingerprint,
    synced_at: s.syncedAt,
    summary: JSON.stringify(s.summary),
  };
  const update = {
    location: row.location,
    etag: row.etag,
    last_modified: row.last_modified,
    fingerprint: row.fingerprint,
    synced_at: row.synced_at,
    summary: row.summary,
  };
  await ex
    .insertInto('feed_state')
    .values(row)
    .onConflict((oc) => oc.column('source').doUpdateSet(update))
    .execute();
}
