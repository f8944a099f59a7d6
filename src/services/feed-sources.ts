import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';
import { EXAMPLE_RELEASE } from '../distros/registry.js';
import { feedFormat } from '../feeds/api.js';
import { catalog } from '../feeds/catalog.js';
import { FeedLocation } from '../lib/location.js';
import { lastAudit, listFeedSources, listFeedStates, removeFeedSource, saveFeedSource, setStaleAfterDays, type FeedState } from '../storage/index.js';
import { freshnessOf, type FeedFreshness } from './freshness.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';
import type { FeedRefusal, FeedSource, FeedSourceState } from './feed-types.js';
import { detectFileFormat } from './feed-detect.js';

export { detectFileFormat };

// The feed sources an operator keeps: list, add (with the format detected), remove.

const SOURCE_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;

function stateView(s: FeedState): FeedSourceState {
  const location = new FeedLocation(s.location);
  const summary: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.summary))
    summary[k] = k === 'location' && typeof v === 'string' ? new FeedLocation(v) : typeof v === 'string' ? location.scrub(v) : v;
  return { ...s, location, summary };
}

/**
 * Every feed source: the built-in catalog (src/feeds/catalog.ts) with the operator's stored
 * sources layered over it (same id: the stored one wins), with each one's last sync state.
 * @example (await listSources(db)).map((s) => s.id)
 */
export async function listSources(db: Db, clock: Clock = systemClock): Promise<FeedSource[]> {
  const stored = await listFeedSources(db);
  const states = new Map((await listFeedStates(db)).map((s) => [s.source, stateView(s)]));
  const out = new Map<string, Omit<FeedSource, 'freshness'>>();
  for (const c of catalog) {
    const src: Omit<FeedSource, 'freshness'> = {
      id: c.id,
      format: c.format,
      location: new FeedLocation(c.location),
      release: c.release,
      description: c.description,
      origin: 'catalog',
      addedVia: 'cli',
      state: states.get(c.id) ?? null,
    };
    if (c.resolve !== undefined) src.resolve = c.resolve;
    out.set(c.id, src);
  }
  for (const s of stored) {
    const base = out.get(s.id);
    out.set(s.id, {
      id: s.id,
      format: s.format,
      location: new FeedLocation(s.location),
      release: s.release,
      description: s.description ?? base?.description ?? '',
      origin: base === undefined ? 'configured' : 'catalog, overridden',
      addedVia: s.addedVia ?? 'cli',
      state: states.get(s.id) ?? null,
      // A CSAF provider's metadata (a mirror of it, or a provider of the operator's) is read as one (csaf-provider.ts).
      ...(s.format === 'csaf-vex' && /^https?:\/\/[^?#]*\/provider-metadata\.json$/.test(s.location) ? { resolve: 'csaf-provider' as const } : {}),
    });
  }
  const fresh = await freshnessOf(db, [...out.values()], clock);
  const list: FeedSource[] = [...out.values()].sort((a, b) => a.id.localeCompare(b.id)).map((s) => ({ ...s, freshness: fresh.get(s.id) as FeedFreshness }));
  for (const s of list) {
    const r = await lastRefusal(db, s.id);
    // The error quotes the location the audit log already shows redacted.
    if (r !== null) s.refused = { at: r.at, reason: r.reason, error: r.error };
  }
  return list;
}

export interface AddSourceInput {
  id: string;
  /** Required for a new source; defaults to the catalog entry's format for an override. */
  format?: string | undefined;
  location: string;
  release?: string | null | undefined;
  description?: string | null | undefined;
  /** Through the API, the source may use the own-network allow-list only if the operator allows that too (default cli). */
  via?: 'cli' | 'api' | undefined;
  /** The source's own staleness threshold in days (default: its format's, src/services/freshness.ts). */
  staleAfterDays?: number | undefined;
}

/**
 * Adds a source, or points a catalog source elsewhere (a local file, a mirror), audited as
 * `feed.add` (an access key in the location is kept out of the log).
 * @example await addSource(db, { id: 'azurelinux-3.0-oval', location: '/srv/mirror/azurelinux-3.0-oval.xml.xz' }, { kind: 'cli', name: 'alice' })
 */
export async function addSource(db: Db, input: AddSourceInput, actor: Actor = SYSTEM, clock: Clock = systemClock): Promise<FeedSource> {
  if (!SOURCE_ID.test(input.id)) throw new BulwarkError('usage', `"${input.id}" is not a source id: lower-case letters, digits, ".", "_" and "-"`);
  // An http(s) location that is no URL was stored and failed every sync with a bare "Invalid URL".
  if (isUrl(input.location) && !URL.canParse(input.location))
    throw new BulwarkError(
      'usage',
      `source "${input.id}": the location starts with http(s):// but is not a URL (a bad host or port?); it is not shown, as it may hold a key`,
    );
  const base = catalog.find((c) => c.id === input.id);
  let format = input.format ?? base?.format;
  if (format === undefined && !isUrl(input.location)) format = await detectFileFormat(input.location);
  if (format === undefined) throw new BulwarkError('usage', `source "${input.id}" is not in the catalog: give its --format`);
  feedFormat(format);
  const release = input.release === undefined ? (base?.release ?? null) : input.release;
  if (release !== null && parseReleaseId(release) === null) throw new BulwarkError('usage', `"${release}" is not a release id such as ${EXAMPLE_RELEASE}`);
  const days = input.staleAfterDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650))
    throw new BulwarkError('usage', `stale after ${String(days)} days: give a whole number of days from 1 to 3650`);
  await saveFeedSource(db, {
    id: input.id,
    format,
    location: input.location,
    release,
    description: input.description ?? null,
    addedAt: clock().toISOString(),
    addedVia: input.via ?? 'cli',
  });
  if (days !== undefined) await setStaleAfterDays(db, input.id, days);
  const s = (await listSources(db)).find((x) => x.id === input.id);
  if (s === undefined) throw new BulwarkError('internal', `source ${input.id} vanished after saving`);
  await recordAudit(db, actor, 'feed.add', s.id, { location: String(s.location), format: s.format, release: s.release }, clock);
  return s;
}

/**
 * Removes a configured source (a catalog source returns to its built-in location), audited as
 * `feed.remove`; false when there was none (nothing audited). Stored advisories stay.
 */
export async function removeSource(db: Db, id: string, actor: Actor = SYSTEM, clock: Clock = systemClock): Promise<boolean> {
  const removed = await removeFeedSource(db, id);
  if (removed) await recordAudit(db, actor, 'feed.remove', id, {}, clock);
  return removed;
}

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/**
 * The refusal of the source's last sync, or null when its last sync was not refused (a later
 * synced, unchanged or failed sync ends it). A refusal repeated unread keeps its first time.
 * @example (await lastRefusal(db, 'azurelinux-3.0-oval'))?.reason // 'withdraw-share'
 */
export async function lastRefusal(db: Db, source: string): Promise<FeedRefusal | null> {
  const e = await lastAudit(db, 'feed.sync', source);
  if (e?.detail['status'] !== 'refused') return null;
  const d = e.detail;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    at: str(d['refusedAt']) ?? e.at,
    reason: str(d['refused']) ?? 'unknown',
    error: str(d['refusedError']) ?? str(d['error']) ?? '',
    fingerprint: str(d['fingerprint']),
  };
}
