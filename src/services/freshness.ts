import { distributionOf } from '../feeds/identity.js';
import { catalog } from '../feeds/catalog.js';
import { lastAudit, newestAdvisoryDates, releasesOfSource, staleAfterDays } from '../storage/index.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Feed freshness (issue #16 item 5): for every source, the newest publication date inside the
 * feed, its last successful sync, its last attempt and that attempt's error, and whether it is
 * stale by a threshold of its own. A feed that syncs every day but whose newest advisory is old
 * (Microsoft's OSV export for Azure Linux stopped in March 2026 while its OVAL went on) is
 * stale, not "no new advisories".
 */

/** Default thresholds in days, per format: EPSS is published daily, KEV every few days, advisories vary. */
export const DEFAULT_STALE_AFTER_DAYS: Readonly<Record<string, number>> = { epss: 2, kev: 7 };
export const DEFAULT_ADVISORY_STALE_AFTER_DAYS = 14;

export interface FeedFreshness {
  /** The newest publication or update date inside the feed (ISO 8601); null when it holds none. */
  newestAt: string | null;
  /** The last sync that read the feed (synced or unchanged). */
  lastSuccessAt: string | null;
  /** The last attempt (synced, unchanged, not-modified, refused, failed), with its error if it had one. */
  lastAttempt: { at: string; status: string; error: string | null } | null;
  staleAfterDays: number;
  /** Where the threshold comes from: the source's own, or its format's default. */
  thresholdFrom: 'source' | 'default';
  /** Whole days since `newestAt` (null without one). */
  ageDays: number | null;
  state: 'fresh' | 'stale' | 'never-synced';
  /** Why it is stale or never synced, in words; null when fresh. */
  reason: string | null;
}

const DAY = 86_400_000;

/** The default threshold of a format. */
export function defaultStaleAfterDays(format: string): number {
  return DEFAULT_STALE_AFTER_DAYS[format] ?? DEFAULT_ADVISORY_STALE_AFTER_DAYS;
}

/**
 * Judges one source's freshness (pure: the facts and the time are passed in).
 * @example judgeFreshness({ format: 'oval', newestAt: '2026-10-26T00:00:00Z', lastSuccessAt: '2026-12-06T00:00:00Z', lastAttempt: null, staleAfterDays: 14, thresholdFrom: 'default' }, new Date('2026-12-06T12:00:00Z')).state // 'stale'
 */
export function judgeFreshness(
  f: {
    format: string;
    newestAt: string | null;
    lastSuccessAt: string | null;
    lastAttempt: FeedFreshness['lastAttempt'];
    staleAfterDays: number;
    thresholdFrom: FeedFreshness['thresholdFrom'];
  },
  now: Date,
): FeedFreshness {
  const ageDays = f.newestAt === null ? null : Math.max(0, Math.floor((now.getTime() - Date.parse(f.newestAt)) / DAY));
  const sinceSync = f.lastSuccessAt === null ? null : Math.floor((now.getTime() - Date.parse(f.lastSuccessAt)) / DAY);
  const what = f.format === 'kev' ? 'the KEV catalog' : f.format === 'epss' ? 'the EPSS scores' : 'advisories';
  const failed =
    f.lastAttempt !== null && (f.lastAttempt.status === 'failed' || f.lastAttempt.status === 'refused')
      ? `; the last attempt (${f.lastAttempt.at}) ${f.lastAttempt.status}: ${f.lastAttempt.error ?? 'no error recorded'}`
      : '';
  const base = {
    newestAt: f.newestAt,
    lastSuccessAt: f.lastSuccessAt,
    lastAttempt: f.lastAttempt,
    staleAfterDays: f.staleAfterDays,
    thresholdFrom: f.thresholdFrom,
    ageDays,
  };
  if (f.lastSuccessAt === null) return { ...base, state: 'never-synced', reason: `never synced${failed}` };
  const reasons: string[] = [];
  if (ageDays !== null && ageDays > f.staleAfterDays)
    reasons.push(`the newest of ${what} is ${String(ageDays)} days old (${f.newestAt?.slice(0, 10) ?? ''}; stale after ${String(f.staleAfterDays)})`);
  if (sinceSync !== null && sinceSync > f.staleAfterDays) reasons.push(`last synced ${String(sinceSync)} days ago (stale after ${String(f.staleAfterDays)})`);
  if (reasons.length === 0) return { ...base, state: 'fresh', reason: failed === '' ? null : failed.slice(2) };
  return { ...base, state: 'stale', reason: reasons.join('; ') + failed };
}

/** The facts of a source that freshness needs (a subset of services/feeds.ts's FeedSource). */
export interface FreshnessSource {
  id: string;
  format: string;
  state: { syncedAt: string; summary: Record<string, unknown> } | null;
}

/**
 * Every given source's freshness, from the store: the newest advisory dates (one grouped query),
 * the signal feeds' own dates (kept with their last sync), thresholds, and the audit log.
 * @example (await freshnessOf(db, await listSources(db))).get('azurelinux-3.0-oval')?.state
 */
export async function freshnessOf(db: Db, sources: readonly FreshnessSource[], clock: Clock = systemClock): Promise<Map<string, FeedFreshness>> {
  const newest = await newestAdvisoryDates(db);
  const own = await staleAfterDays(db);
  const now = clock();
  const out = new Map<string, FeedFreshness>();
  for (const s of sources) {
    const signal = s.state?.summary['signal'];
    const signalNewest =
      typeof signal === 'object' && signal !== null && typeof (signal as { newestAt?: unknown }).newestAt === 'string'
        ? (signal as { newestAt: string }).newestAt
        : null;
    const a = await lastAudit(db, 'feed.sync', s.id);
    const lastAttempt =
      a === null
        ? null
        : {
            at: a.at,
            status: typeof a.detail['status'] === 'string' ? a.detail['status'] : 'unknown',
            error: typeof a.detail['error'] === 'string' ? a.detail['error'] : null,
          };
    const threshold = own.get(s.id);
    out.set(
      s.id,
      judgeFreshness(
        {
          format: s.format,
          newestAt: signalNewest ?? newest.get(s.id) ?? null,
          lastSuccessAt: s.state?.syncedAt ?? null,
          lastAttempt,
          staleAfterDays: threshold ?? defaultStaleAfterDays(s.format),
          thresholdFrom: threshold === undefined ? 'default' : 'source',
        },
        now,
      ),
    );
  }
  return out;
}

/**
 * What a scan of a target of `release` should be told: the stale sources that hold advisories for
 * that release, e.g. "advisories for azurelinux:3.0 are 41 days old (azurelinux-3.0-oval: …)".
 * Sources never synced are not named (a catalog lists many the operator does not use).
 * @example await staleNotes(db, sources, 'azurelinux:3.0')
 */
export async function staleNotes(
  db: Db,
  sources: readonly (FreshnessSource & { release: string | null; freshness?: FeedFreshness })[],
  release: string,
  clock: Clock = systemClock,
): Promise<string[]> {
  const fresh = sources.some((s) => s.freshness === undefined)
    ? await freshnessOf(db, sources, clock)
    : new Map(sources.map((s) => [s.id, s.freshness as FeedFreshness]));
  const out: string[] = [];
  const dist = distributionOf(release);
  for (const s of sources) {
    const f = fresh.get(s.id);
    if (f?.state !== 'stale' || s.format === 'kev' || s.format === 'epss') continue;
    const about =
      s.release !== null
        ? s.release === release
        : (dist !== null && catalog.find((c) => c.id === s.id)?.distribution === dist) || (await releasesOfSource(db, s.id)).includes(release);
    if (!about) continue;
    out.push(
      f.ageDays !== null && f.ageDays > f.staleAfterDays
        ? `advisories for ${release} are ${String(f.ageDays)} days old (${s.id}: ${f.reason ?? ''})`
        : `advisories for ${release} may be out of date (${s.id}: ${f.reason ?? ''})`,
    );
  }
  return out;
}
