import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setImmediate } from 'node:timers/promises';
import { mergeAdvisories, type Advisory } from '../core/advisory.js';
import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';
import { feedFormat, feedParser, signalParser } from '../feeds/api.js';
import { detectFeedFormat } from '../feeds/detect.js';
import { catalog, type CatalogSource } from '../feeds/catalog.js';
import type { FeedWarning } from '../feeds/types.js';
import { canonicalRelease, distributionOf, identityMismatch, IdentityTally, type ExpectedIdentity, type IdentityFact } from '../feeds/identity.js';
import { feedDocuments } from '../lib/archive.js';
import { download, sha256File } from '../lib/http.js';
import { feedAllowForApi, feedAllowFromEnv, type FeedAllow } from '../lib/feed-allow.js';
import { FeedLocation } from '../lib/location.js';
import {
  countWithdrawnSince,
  discardStaged,
  liveAdvisoryIds,
  liveAdvisoryIdsWithFixes,
  publishStaged,
  releasesOfSource,
  stageAdvisories,
  stagingSource,
  staleStagingSources,
  packagesTouchedAt,
  targetsWithFindingsTouchedAt,
  targetsHolding,
  lastAudit,
  listFeedSources,
  listFeedStates,
  markWithdrawn,
  removeFeedSource,
  saveFeedSource,
  saveFeedState,
  setStaleAfterDays,
  storageErrorOf,
  transaction,
  upsertAdvisories,
  type FeedState,
} from '../storage/index.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { scanTarget } from './scan.js';
import { ingestSignalFile } from './signals.js';
import { freshnessOf, type FeedFreshness } from './freshness.js';
import { assertReadable, cannotRead } from './read-file.js';
import { systemClock, type Clock, type Db } from './store.js';

/** Limits for one feed; a document or archive past them is refused with a clear error. */
export interface FeedLimits {
  /** Most bytes downloaded (compressed). */
  maxDownloadBytes: number;
  /** Most bytes of one document after decompression. */
  maxDocumentBytes: number;
  /** Most bytes of a whole archive after decompression. */
  maxTotalBytes: number;
}

export const DEFAULT_LIMITS: FeedLimits = {
  maxDownloadBytes: 4 * 1024 ** 3,
  maxDocumentBytes: 512 * 1024 ** 2,
  maxTotalBytes: 64 * 1024 ** 3,
};

export { FeedLocation, redactLocation } from '../lib/location.js';

/** A feed's last sync as shown: its location redacted by construction, its summary's too. */
export type FeedSourceState = Omit<FeedState, 'location'> & { location: FeedLocation };

/** A feed source as the operator sees it: the catalog merged with the stored additions and overrides. */
export interface FeedSource {
  id: string;
  format: string;
  location: FeedLocation;
  release: string | null;
  description: string;
  origin: 'catalog' | 'configured' | 'catalog, overridden';
  /** Who chose the location: the operator (catalog, CLI) or an admin token (API). */
  addedVia: 'cli' | 'api';
  resolve?: CatalogSource['resolve'];
  state: FeedSourceState | null;
  /** Set when the last sync was refused: nothing of it was stored (`state` is the last good sync). */
  refused?: Omit<FeedRefusal, 'fingerprint'>;
  /** How current the feed is: its newest date inside, last sync and attempt, staleness (issue #16). */
  freshness: FeedFreshness;
}

export interface SyncReport {
  source: string;
  location: FeedLocation;
  /**
   * synced: parsed and stored; unchanged: same bytes and parser as last time; not-modified: HTTP
   * 304; refused: the feed is wrong for the source or would withdraw too much (see error; nothing
   * was stored); failed: see error.
   */
  status: 'synced' | 'unchanged' | 'not-modified' | 'refused' | 'failed';
  documents: number;
  advisories: number;
  /** Records that repeated an advisory id of the same feed: identical ones are dropped, different ones merged. */
  duplicates: number;
  added: number;
  changed: number;
  unchanged: number;
  restored: number;
  withdrawn: number;
  /** Records skipped or corrected by the parser (see `warningSamples`). */
  warnings: number;
  warningSamples: FeedWarning[];
  seconds: number;
  /** Targets re-evaluated because an advisory naming one of their packages changed. */
  rescanned?: number;
  /** What the feed's documents said they are about (checked against the source before storing). */
  identity?: { distributions: string[]; releases: string[] };
  /** Why it failed, with the location's access keys scrubbed. */
  error?: string;
  /** An exploitation signal feed (KEV, EPSS): its catalog version or model, and its newest date. */
  signal?: { kind: 'kev' | 'epss'; version: string; newestAt: string };
}

export interface SyncOptions {
  /** Read this local file instead of the source's location (offline use, mirrors). */
  file?: string;
  /** Parse and store even when the feed is unchanged. */
  force?: boolean;
  clock?: Clock;
  limits?: FeedLimits;
  /** Called every few hundred advisories during long syncs. */
  onProgress?: (p: { source: string; advisories: number; documents: number }) => void;
  /** Where downloads go (default: a temporary directory, removed afterwards). */
  workDir?: string;
  /** Download time limits: the whole transfer (default 10 min) and the longest silence (default 60 s). */
  timeouts?: { totalMs?: number; idleMs?: number };
  /** Re-scan the targets holding a package that a changed advisory names (default: yes). */
  rescan?: boolean;
  /**
   * Store a sync that withdraws more than `maxWithdrawShare` of the source's advisories, or whose
   * records were mostly skipped (`--allow-withdraw`). A feed with no usable record is refused anyway.
   */
  allowWithdraw?: boolean;
  /** Default 0.2 (DEFAULT_MAX_WITHDRAW_SHARE). */
  maxWithdrawShare?: number;
  /**
   * Withdrawals after this instant count against the share too (default: WITHDRAW_WINDOW_MS
   * before the sync; a sync the operator allowed to withdraw starts a new window).
   */
  withdrawWindowStart?: string;
  /** Who asked for the sync, for the audit log (`cli:alice`, `token:…`, `scheduler`; default: Bulwark itself). */
  actor?: Actor;
}

const SOURCE_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const BATCH = 500;
const MAX_SAMPLES = 50;

/**
 * A stored state as shown: its location wrapped, and the location and any text in its summary
 * scrubbed (summaries written before FeedLocation held the plain URL).
 */
function stateView(s: FeedState): FeedSourceState {
  const location = new FeedLocation(s.location);
  const summary: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.summary)) summary[k] = k === 'location' && typeof v === 'string' ? new FeedLocation(v) : typeof v === 'string' ? location.scrub(v) : v;
  return { ...s, location, summary };
}

/**
 * Every feed source: the built-in catalog (src/feeds/catalog.ts) with the operator's stored
 * sources layered over it (same id: the stored one wins), with each one's last sync state.
 * @example (await listSources(db)).map((s) => s.id)
 */
export async function listSources(db: Db, clock: Clock = systemClock): Promise<FeedSource[]> {
  const stored = await listFeedSources(db.kysely);
  const states = new Map((await listFeedStates(db.kysely)).map((s) => [s.source, stateView(s)]));
  const out = new Map<string, Omit<FeedSource, 'freshness'>>();
  for (const c of catalog) {
    const src: Omit<FeedSource, 'freshness'> = { id: c.id, format: c.format, location: new FeedLocation(c.location), release: c.release, description: c.description, origin: 'catalog', addedVia: 'cli', state: states.get(c.id) ?? null };
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
  if (isUrl(input.location) && !URL.canParse(input.location)) throw new BulwarkError('usage', `source "${input.id}": the location starts with http(s):// but is not a URL (a bad host or port?); it is not shown, as it may hold a key`);
  const base = catalog.find((c) => c.id === input.id);
  let format = input.format ?? base?.format;
  if (format === undefined && !isUrl(input.location)) format = await detectFileFormat(input.location);
  if (format === undefined) throw new BulwarkError('usage', `source "${input.id}" is not in the catalog: give its --format`);
  feedFormat(format);
  const release = input.release === undefined ? (base?.release ?? null) : input.release;
  if (release !== null && parseReleaseId(release) === null) throw new BulwarkError('usage', `"${release}" is not a release id such as azurelinux:3.0`);
  const days = input.staleAfterDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) throw new BulwarkError('usage', `stale after ${String(days)} days: give a whole number of days from 1 to 3650`);
  await saveFeedSource(db.kysely, { id: input.id, format, location: input.location, release, description: input.description ?? null, addedAt: clock().toISOString(), addedVia: input.via ?? 'cli' });
  if (days !== undefined) await setStaleAfterDays(db.kysely, input.id, days);
  const s = (await listSources(db)).find((x) => x.id === input.id);
  if (s === undefined) throw new BulwarkError('internal', `source ${input.id} vanished after saving`);
  await recordAudit(db, actor, 'feed.add', s.id, { location: String(s.location), format: s.format, release: s.release }, clock);
  return s;
}

/**
 * The feed format of a local file (plain, compressed or an archive: its first document), or an
 * error saying what the file is instead.
 * @example await detectFileFormat('updateinfo.xml.gz') // 'updateinfo'
 */
export async function detectFileFormat(file: string, limits: FeedLimits = DEFAULT_LIMITS): Promise<string> {
  await assertReadable(file);
  const stream = createReadStream(file);
  try {
    for await (const doc of feedDocuments(stream, file, limits)) {
      let head = '';
      for await (const chunk of doc.bytes) {
        head += Buffer.from(chunk).toString('utf8');
        if (head.length >= 65536) break;
      }
      const d = detectFeedFormat(head);
      if (d.format === null) throw new BulwarkError('input.invalid', `${doc.name}: ${d.reason}`, { file });
      return d.format;
    }
  } finally {
    stream.destroy();
  }
  throw new BulwarkError('input.invalid', `${file}: the archive holds no feed documents (.json or .xml members)`, { file });
}

/**
 * Removes a configured source (a catalog source returns to its built-in location), audited as
 * `feed.remove`; false when there was none (nothing audited). Stored advisories stay.
 */
export async function removeSource(db: Db, id: string, actor: Actor = SYSTEM, clock: Clock = systemClock): Promise<boolean> {
  const removed = await removeFeedSource(db.kysely, id);
  if (removed) await recordAudit(db, actor, 'feed.remove', id, {}, clock);
  return removed;
}

function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** The own-network allow-list a source's downloads may use: an API-added one's only if the operator allows that too. */
function allowFor(src: FeedSource): FeedAllow {
  return src.addedVia === 'api' ? feedAllowForApi() : feedAllowFromEnv();
}

/** Red Hat's `archive_latest.txt` names the newest full archive, relative to itself. */
async function resolveLocation(src: FeedSource, workDir: string): Promise<FeedLocation> {
  if (src.resolve !== 'redhat-archive-latest' || !src.location.isUrl) return src.location;
  const r = await download(src.location, join(workDir, 'index.txt'), { maxBytes: 4096, timeoutMs: 60_000, allow: allowFor(src), literalIsChosen: src.addedVia !== 'api' });
  if (r.status !== 'ok') throw new BulwarkError('input.invalid', `${String(src.location)}: no answer to resolve the archive name`);
  const name = (await readFile(r.file, 'utf8')).trim();
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new BulwarkError('input.invalid', `${String(src.location)}: "${name.slice(0, 80)}" is not an archive file name`);
  return new FeedLocation(new URL(name, src.location.reveal()).toString());
}

/** What a sync may do without `allowWithdraw`: withdraw at most this share of the source's live advisories. */
export const DEFAULT_MAX_WITHDRAW_SHARE = 0.2;
/**
 * The withdraw share is measured over this window, not per sync: three syncs withdrawing 19%
 * each would otherwise take 47% of a source without a word. The real Azure Linux 3.0 history
 * (2024-08-01 to 2025-02-24) withdraws 2, 13 and 2 definitions of 617 to 2,266, well under 1%
 * over the whole half-year, so a window this long does not trip on a feed's normal life.
 */
export const WITHDRAW_WINDOW_MS = 30 * 24 * 3600_000;
/**
 * Advisories per write transaction while a sync stages its new advisories. SQLite runs a
 * transaction's statements without giving the event loop a turn (better-sqlite3 is synchronous),
 * so this bounds how long an API request can wait: 50 OSV records with their fixes take a few ms.
 */
const STAGE_BATCH = 50;

export interface IngestOptions extends Omit<SyncOptions, 'file' | 'force'> {
  /** What the document must say it is about; null: nothing known yet (a new source of several releases). */
  expected?: ExpectedIdentity | null;
}

export type IngestReport = Omit<SyncReport, 'location' | 'status' | 'seconds'> & {
  /** What the document said it is about (recorded with the source's state). */
  identity: { distributions: string[]; releases: string[] };
};

/**
 * What a source's documents must name: its release; for a source of several releases, the
 * catalog's distribution, else the releases its stored advisories are about. Null for a new
 * source that says neither (its first sync decides).
 */
export async function expectedIdentity(db: Db, src: Pick<FeedSource, 'id' | 'release'>): Promise<ExpectedIdentity | null> {
  if (src.release !== null) {
    const d = distributionOf(src.release);
    if (d !== null) return { distributions: [d], release: canonicalRelease(src.release), basis: `the release of source ${src.id}` };
  }
  const cat = catalog.find((c) => c.id === src.id)?.distribution;
  if (cat !== undefined) return { distributions: [cat], release: null, basis: `the catalog entry of ${src.id}` };
  const stored = [...new Set((await releasesOfSource(db.kysely, src.id)).flatMap((r) => distributionOf(r) ?? []))];
  if (stored.length > 0) return { distributions: stored, release: null, basis: `the advisories source ${src.id} holds` };
  return null;
}

/**
 * Parses one local file (plain, compressed or an archive of documents) of a source and stores
 * it, all or nothing: advisories are upserted by (source, id), those the feed no longer lists
 * are marked withdrawn.
 *
 * 1. The whole file is parsed first, into a spool file, with no transaction open: a hostile or
 *    truncated document fails here, and the API is not kept waiting while it decompresses and
 *    parses (issue #20 item 5).
 * 2. Before anything is written, the document's own identity is checked against the source
 *    (a CBL-Mariner file offered to the Azure Linux 3.0 source is refused), and a sync that
 *    would withdraw more than `maxWithdrawShare` of the source's advisories, or whose records
 *    were mostly skipped, is refused unless `allowWithdraw` (issue #13). A feed with no usable
 *    record never withdraws anything.
 * 3. New advisories are written hidden, under a staging source, in short transactions; one
 *    final short transaction makes them live, applies changes and restorations, and withdraws.
 *    If anything fails, the staging is removed and nothing stored has changed.
 *
 * @example await ingestFile(db, { id: 'azurelinux-3.0-oval', format: 'oval', release: 'azurelinux:3.0' }, 'feed.xml.xz')
 */
export async function ingestFile(db: Db, src: Pick<FeedSource, 'id' | 'format' | 'release'>, file: string, opts: IngestOptions = {}): Promise<IngestReport> {
  const parser = feedParser(src.format);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const now = (opts.clock ?? systemClock)().toISOString();
  const warningSamples: FeedWarning[] = [];
  let warnings = 0;
  // Records a warning is about: those that yielded no advisory were skipped.
  const warned = new Set<string>();
  let unnamedWarnings = 0;
  const warn = (w: FeedWarning): void => {
    warnings++;
    if (w.record === null) unnamedWarnings++;
    else warned.add(w.record);
    if (warningSamples.length < MAX_SAMPLES) warningSamples.push(w);
  };
  await assertReadable(file);
  const expected = opts.expected === undefined ? await expectedIdentity(db, src) : opts.expected;
  const spoolDir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'bulwark-ingest-'));
  try {
    // 1. Parse everything into the spool; nothing is written to the store.
    const spoolFile = join(spoolDir, 'parsed.jsonl');
    const spool = createWriteStream(spoolFile);
    const totals = { documents: 0, advisories: 0, duplicates: 0 };
    // id -> digest of the record as parsed: a repeated id is dropped when identical, merged when not.
    const ids = new Map<string, string>();
    const repeated = new Set<string>();
    // Ids whose records name no fix at all (a repeated id counts if any of its records has one).
    const fixless = new Set<string>();
    const withFixes = new Set<string>();
    const tally = new IdentityTally();
    let sinceYield = 0;
    try {
      for await (const doc of feedDocuments(createReadStream(file), file, limits)) {
        totals.documents++;
        const docTally = new IdentityTally();
        const identity = (f: IdentityFact): void => {
          tally.add(f);
          docTally.add(f);
        };
        for await (const a of parser.parse(doc.bytes, { source: src.id, name: doc.name, release: src.release ?? undefined, warn, identity })) {
          const line = JSON.stringify(a);
          if (a.fixes.length > 0) {
            withFixes.add(a.id);
            fixless.delete(a.id);
          } else if (!withFixes.has(a.id)) fixless.add(a.id);
          const digest = createHash('sha256').update(line).digest('hex');
          const prev = ids.get(a.id);
          if (prev !== undefined) {
            totals.duplicates++;
            if (prev === digest) continue;
            repeated.add(a.id);
            warn({ record: a.id, message: `${doc.name}: the id appears again with different content; the two records were merged` });
          } else {
            ids.set(a.id, digest);
            totals.advisories++;
          }
          if (!spool.write(line + '\n')) await once(spool, 'drain');
          opts.onProgress?.({ source: src.id, advisories: totals.advisories, documents: totals.documents });
          // Parsers that hold a document's records yield them in one run of microtasks: give the
          // event loop (the API's requests) a turn now and then.
          if (++sinceYield >= 100) {
            sinceYield = 0;
            await setImmediate();
          }
        }
        // A document of another distribution or release is refused as soon as it is read.
        if (expected !== null && docTally.facts().length > 0) {
          const why = identityMismatch(expected, docTally);
          if (why !== null) throw refusal('identity', `${doc.name} is not a feed of source ${src.id}: ${why}; nothing was stored (--force does not change this)`, { expected, found: docTally.facts() });
        }
      }
    } finally {
      spool.end();
      await once(spool, 'close');
    }
    if (totals.documents === 0) throw new BulwarkError('input.invalid', `${file}: the archive holds no feed documents (.json or .xml members)`, { file });

    // 2. Check, with reads only, before anything is written.
    let skipped = unnamedWarnings;
    for (const r of warned) if (!ids.has(r)) skipped++;
    const live = await liveAdvisoryIds(db.kysely, src.id);
    const wouldWithdraw = live.filter((id) => !ids.has(id)).length;
    // An advisory kept but left with no fix matches nothing any more, as if withdrawn: an OVAL
    // file without its <states> kept all 2,266 Azure Linux 3.0 ids and emptied every one.
    const wouldEmpty = fixless.size === 0 ? 0 : (await liveAdvisoryIdsWithFixes(db.kysely, src.id)).filter((id) => fixless.has(id)).length;
    // Withdrawn by the syncs of the window and still withdrawn: several small steps add up.
    const windowStart = opts.withdrawWindowStart ?? new Date(Date.parse(now) - WITHDRAW_WINDOW_MS).toISOString();
    const recentlyWithdrawn = await countWithdrawnSince(db.kysely, src.id, windowStart);
    const counts =
      `${String(totals.advisories)} usable records, ${String(skipped)} skipped, ${String(live.length)} stored, ${String(wouldWithdraw)} would be withdrawn` +
      (wouldEmpty > 0 ? `, ${String(wouldEmpty)} would lose every fix` : '') +
      (recentlyWithdrawn > 0 ? `, ${String(recentlyWithdrawn)} withdrawn since ${windowStart}` : '');
    const details = { usable: totals.advisories, skipped, stored: live.length, wouldWithdraw, wouldEmpty, recentlyWithdrawn, windowStart };
    if (totals.advisories === 0 && (live.length > 0 || skipped > 0)) throw refusal('no-usable-records', `${file}: refused: no usable record in the feed (${counts}); a feed without usable records never withdraws anything, and nothing was stored`, details);
    if (expected !== null && totals.advisories > 0 && tally.facts().length === 0) {
      // Not a skipped record: a note that the check could not be made.
      warnings++;
      if (warningSamples.length < MAX_SAMPLES) warningSamples.push({ record: null, message: `${file}: the feed does not say which distribution or release it is about (no <release>, dist tag, namespace or ecosystem); it could not be checked against ${expected.release ?? expected.distributions.join(' or ')}` });
    }
    if (expected !== null && totals.advisories > 0) {
      const why = identityMismatch(expected, tally);
      if (why !== null) throw refusal('identity', `${file} is not a feed of source ${src.id}: ${why}; nothing was stored (--force does not change this)`, { expected, found: tally.facts() });
    }
    if (opts.allowWithdraw !== true) {
      const share = opts.maxWithdrawShare ?? DEFAULT_MAX_WITHDRAW_SHARE;
      if (skipped > totals.advisories) throw refusal('mostly-skipped', `${file}: refused: most records were skipped (${counts}); nothing was stored. Check the feed, or pass --allow-withdraw to store what could be read`, details);
      // Measured against what the source held at the window's start (live plus withdrawn since).
      const base = live.length + recentlyWithdrawn;
      const lost = wouldWithdraw + wouldEmpty;
      const taken = lost + recentlyWithdrawn;
      if (lost > 0 && base > 0 && taken / base > share)
        throw refusal(
          'withdraw-share',
          wouldEmpty > 0
            ? `${file}: refused: the sync would withdraw ${String(wouldWithdraw)} and leave ${String(wouldEmpty)} without any fix of the ${String(live.length)} advisories of ${src.id}${recentlyWithdrawn > 0 ? ` (with ${String(recentlyWithdrawn)} withdrawn since ${windowStart}, ${String(taken)} of ${String(base)})` : ''} (${String(Math.round((100 * taken) / base))}%, more than ${String(Math.round(share * 100))}%; ${counts}); nothing was stored. If the publisher really did this, pass --allow-withdraw`
            : recentlyWithdrawn === 0
            ? `${file}: refused: the sync would withdraw ${String(wouldWithdraw)} of the ${String(live.length)} advisories of ${src.id} (${String(Math.round((100 * wouldWithdraw) / live.length))}%, more than ${String(Math.round(share * 100))}%; ${counts}); nothing was stored. If the publisher really withdrew them, pass --allow-withdraw`
            : `${file}: refused: with the ${String(recentlyWithdrawn)} advisories withdrawn since ${windowStart}, the sync would leave ${String(taken)} of the ${String(base)} advisories of ${src.id} withdrawn (${String(Math.round((100 * taken) / base))}%, more than ${String(Math.round(share * 100))}%; ${counts}); nothing was stored. If the publisher really withdrew them, pass --allow-withdraw`,
          details,
        );
    }

    // 3. Stage new advisories in short transactions, then publish in one.
    const staging = stagingSource(src.id, randomBytes(6).toString('hex'));
    for (const old of await staleStagingSources(db.kysely, src.id, new Date(Date.parse(now) - 24 * 3600_000).toISOString())) await discardStaged(db.kysely, old);
    const result = { added: 0, changed: 0, unchanged: 0, restored: 0 };
    const pendingFile = join(spoolDir, 'pending.jsonl');
    const pendingOut = createWriteStream(pendingFile);
    let pendingCount = 0;
    try {
      const merged = new Map<string, Advisory>();
      let batch: Advisory[] = [];
      const stage = async (): Promise<void> => {
        if (batch.length === 0) return;
        const list = batch;
        batch = [];
        const c = await transaction(db, (tx) => stageAdvisories(tx, src.id, staging, list, now));
        result.added += c.staged;
        result.unchanged += c.unchanged;
        pendingCount += c.pending.length;
        for (const a of c.pending) if (!pendingOut.write(JSON.stringify(a) + '\n')) await once(pendingOut, 'drain');
        await setImmediate();
      };
      for await (const line of createInterface({ input: createReadStream(spoolFile), crlfDelay: Infinity })) {
        if (line === '') continue;
        const a = JSON.parse(line) as Advisory;
        if (repeated.has(a.id)) {
          // Different content under one id: keep everything the records say.
          const prev = merged.get(a.id);
          merged.set(a.id, prev === undefined ? a : mergeAdvisories(prev, a));
          continue;
        }
        batch.push(a);
        if (batch.length >= STAGE_BATCH) await stage();
      }
      batch.push(...merged.values());
      await stage();
    } catch (err) {
      await discardStaged(db.kysely, staging);
      throw err;
    } finally {
      pendingOut.end();
      await once(pendingOut, 'close');
    }
    try {
      // Reading a file inside the transaction would hold it (and, on SQLite, the API) across
      // disk reads: a usual number of changes is read first; only a mass change is streamed.
      const preloaded = pendingCount <= PRELOAD_PENDING ? await readSpool(pendingFile) : null;
      const withdrawn = await transaction(db, async (tx) => {
        await publishStaged(tx, staging, src.id, now);
        let pending: Advisory[] = [];
        const apply = async (): Promise<void> => {
          if (pending.length === 0) return;
          const c = await upsertAdvisories(tx, pending, now);
          result.added += c.added;
          result.changed += c.changed;
          result.unchanged += c.unchanged;
          result.restored += c.restored;
          pending = [];
        };
        for await (const a of preloaded ?? spoolRecords(pendingFile)) {
          pending.push(a);
          if (pending.length >= BATCH) await apply();
        }
        await apply();
        return markWithdrawn(tx, src.id, new Set(ids.keys()), now);
      });
      return { source: src.id, ...totals, ...result, withdrawn, warnings, warningSamples, identity: tally.summary() };
    } catch (err) {
      await discardStaged(db.kysely, staging);
      throw err;
    }
  } finally {
    await rm(spoolDir, { recursive: true, force: true });
  }
}

/** Changed or restored advisories read into memory before the final transaction (more are streamed). */
const PRELOAD_PENDING = 5000;

async function* spoolRecords(file: string): AsyncGenerator<Advisory> {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line !== '') yield JSON.parse(line) as Advisory;
}

async function readSpool(file: string): Promise<Advisory[]> {
  const out: Advisory[] = [];
  for await (const a of spoolRecords(file)) out.push(a);
  return out;
}

/** A sync refused before anything was written: the input is wrong for the source, not broken. */
function refusal(reason: string, message: string, details: Record<string, unknown>): BulwarkError {
  return new BulwarkError('input.invalid', message, { refused: reason, ...details });
}

function emptyReport(source: string, location: FeedLocation, status: SyncReport['status'], seconds: number): SyncReport {
  return { source, location, status, documents: 0, advisories: 0, duplicates: 0, added: 0, changed: 0, unchanged: 0, restored: 0, withdrawn: 0, warnings: 0, warningSamples: [], seconds };
}

/**
 * Syncs one source: downloads it (conditional GET) or reads the local file, skips it in
 * milliseconds when neither its bytes nor the parser changed since the last sync, else
 * ingests it and records the new state.
 *
 * @example const r = await syncSource(db, 'azurelinux-3.0-oval', { file: 'azurelinux-3.0-oval.xml.xz' })
 */
export async function syncSource(db: Db, sourceId: string, opts: SyncOptions = {}): Promise<SyncReport> {
  const started = performance.now();
  const seconds = (): number => Math.round(performance.now() - started) / 1000;
  const src = (await listSources(db)).find((s) => s.id === sourceId);
  if (src === undefined) throw new BulwarkError('usage', `no feed source "${sourceId}" (see \`bulwark feeds list\`; add one with \`bulwark feeds add\`)`);
  const parser = feedFormat(src.format);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const clock = opts.clock ?? systemClock;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'bulwark-feed-')));
  // Every sync is audited, whatever its outcome (issue #13): where it read, which bytes, what it did.
  const trail: { location: FeedLocation; sha256: string | null } = { location: opts.file !== undefined ? new FeedLocation(opts.file) : src.location, sha256: null };
  const audit = async (status: string, detail: Record<string, unknown>): Promise<void> => {
    const location = String(trail.location);
    const d: Record<string, unknown> = { status, location, sha256: trail.sha256, ...(opts.file === undefined ? {} : { file: true }), ...(opts.force === true ? { force: true } : {}), ...(opts.allowWithdraw === true ? { allowWithdraw: true } : {}), ...detail };
    // An error text may quote the location with its access key: redact it there too.
    if (typeof d['error'] === 'string') d['error'] = trail.location.scrub(d['error']);
    await recordAudit(db, opts.actor ?? SYSTEM, 'feed.sync', src.id, d, clock);
  };
  // The fingerprint of the bytes read, for remembering a refusal.
  let fingerprint: string | null = null;
  try {
    let location = opts.file !== undefined ? new FeedLocation(opts.file) : src.location;
    const prev = src.state;
    let file = location.reveal();
    let etag: string | null = null;
    let lastModified: string | null = null;
    let sha: string;
    if (opts.file === undefined && location.isUrl) {
      location = await resolveLocation(src, workDir);
      trail.location = location;
      const validators = opts.force !== true && prev !== null && prev.location.reveal() === location.reveal() ? prev : null;
      const r = await download(location, join(workDir, basename(new URL(location.reveal()).pathname) || 'feed'), {
        etag: validators?.etag ?? null,
        lastModified: validators?.lastModified ?? null,
        maxBytes: limits.maxDownloadBytes,
        allow: allowFor(src),
        literalIsChosen: src.addedVia !== 'api',
        ...(opts.timeouts?.totalMs !== undefined ? { timeoutMs: opts.timeouts.totalMs } : {}),
        ...(opts.timeouts?.idleMs !== undefined ? { idleTimeoutMs: opts.timeouts.idleMs } : {}),
      });
      if (r.status === 'not-modified') {
        await audit('not-modified', {});
        return emptyReport(src.id, location, 'not-modified', seconds());
      }
      file = r.file;
      sha = r.sha256;
      etag = r.etag;
      lastModified = r.lastModified;
    } else {
      try {
        sha = await sha256File(file);
      } catch (err) {
        throw cannotRead(file, err);
      }
    }
    trail.sha256 = sha;
    // The same bytes read by the same parser version for the same release give the same advisories.
    fingerprint = `sha256:${sha} ${parser.id}@${String(parser.version)} ${src.release ?? '-'}`;
    if (opts.force !== true && prev?.fingerprint === fingerprint) {
      await saveFeedState(db.kysely, { ...prev, location: location.reveal(), etag: etag ?? prev.etag, lastModified: lastModified ?? prev.lastModified, syncedAt: clock().toISOString() });
      await audit('unchanged', {});
      return emptyReport(src.id, location, 'unchanged', seconds());
    }
    // The same bytes were refused by the last sync: refused again without parsing them, so a
    // scheduler that cannot pass --allow-withdraw does not parse and weigh the feed again every
    // pass. An operator's --allow-withdraw (or --force) reads them again. The refusal is known
    // from the audit log, so that a refused sync still leaves the store exactly as it was.
    const last = opts.force === true || opts.allowWithdraw === true ? null : await lastRefusal(db, src.id);
    // Once a day the bytes are weighed again: the withdraw window moves, so they may pass by now.
    if (last !== null && last.fingerprint === fingerprint && Date.parse(last.at) > clock().getTime() - REFUSAL_REREAD_MS) {
      throw new BulwarkError('input.invalid', `${String(location)}: refused again, unread: the same bytes were refused at ${last.at}: ${last.error}`, {
        refused: last.reason,
        repeated: true,
        refusedAt: last.at,
        refusedError: last.error,
      });
    }
    const now = clock();
    // A sync the operator allowed to withdraw is the new baseline: its withdrawals were approved.
    const baseline = typeof prev?.summary['withdrawBaselineAt'] === 'string' ? prev.summary['withdrawBaselineAt'] : null;
    const windowStart = new Date(now.getTime() - WITHDRAW_WINDOW_MS).toISOString();
    // Exploitation signals (KEV, EPSS) are stored beside the advisories and change no finding.
    const r =
      signalParser(src.format) !== null
        ? await ingestSignalFile(db, src, file, { limits, clock: () => now, allowWithdraw: opts.allowWithdraw, maxWithdrawShare: opts.maxWithdrawShare })
        : await ingestFile(db, src, file, { ...opts, clock: () => now, workDir, withdrawWindowStart: baseline !== null && baseline > windowStart ? baseline : windowStart });
    // Statements on SQLite never yield on their own: let waiting requests in between the steps.
    await setImmediate();
    const report: SyncReport = { ...r, location, status: 'synced', seconds: seconds() };
    if (opts.rescan !== false && r.signal === undefined && r.added + r.changed + r.withdrawn + r.restored > 0) report.rescanned = await rescanTouched(db, src.id, now.toISOString(), clock);
    const summary: Record<string, unknown> = { ...report, location: String(location) };
    delete summary['warningSamples'];
    if (opts.allowWithdraw === true && r.withdrawn > 0) summary['withdrawBaselineAt'] = now.toISOString();
    else if (baseline !== null) summary['withdrawBaselineAt'] = baseline;
    await saveFeedState(db.kysely, { source: src.id, location: location.reveal(), etag, lastModified, fingerprint, syncedAt: clock().toISOString(), summary });
    await audit('synced', {
      documents: r.documents,
      advisories: r.advisories,
      added: r.added,
      changed: r.changed,
      unchanged: r.unchanged,
      restored: r.restored,
      withdrawn: r.withdrawn,
      warnings: r.warnings,
      duplicates: r.duplicates,
      identity: r.identity,
      ...(report.rescanned === undefined ? {} : { rescanned: report.rescanned }),
    });
    return report;
  } catch (err) {
    const refused = err instanceof BulwarkError && typeof err.details?.['refused'] === 'string' ? err.details : null;
    const message = err instanceof Error ? err.message : String(err);
    try {
      // A refusal's fingerprint lets the next sync of the same bytes be refused unread (see above).
      await audit(refused === null ? 'failed' : 'refused', { error: message, ...(refused === null ? {} : { ...refused, ...(fingerprint === null ? {} : { fingerprint }) }) });
    } catch {
      // The store may be what failed; the sync's own error is the one to report.
    }
    throw err;
  } finally {
    if (opts.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

/** How long a refused feed's same bytes are refused unread before they are weighed again. */
export const REFUSAL_REREAD_MS = 24 * 3600_000;

/** A source's last sync when it was refused: when first, why, and the fingerprint of the bytes. */
export interface FeedRefusal {
  at: string;
  reason: string;
  error: string;
  fingerprint: string | null;
}

/**
 * The refusal of the source's last sync, or null when its last sync was not refused (a later
 * synced, unchanged or failed sync ends it). A refusal repeated unread keeps its first time.
 * @example (await lastRefusal(db, 'azurelinux-3.0-oval'))?.reason // 'withdraw-share'
 */
export async function lastRefusal(db: Db, source: string): Promise<FeedRefusal | null> {
  const e = await lastAudit(db.kysely, 'feed.sync', source);
  if (e?.detail['status'] !== 'refused') return null;
  const d = e.detail;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return { at: str(d['refusedAt']) ?? e.at, reason: str(d['refused']) ?? 'unknown', error: str(d['refusedError']) ?? str(d['error']) ?? '', fingerprint: str(d['fingerprint']) };
}

/**
 * Only the targets that hold a package named by an advisory this sync added, changed, withdrew
 * or restored are matched again (issue #4): the rest of the fleet cannot have changed.
 */
async function rescanTouched(db: Db, source: string, at: string, clock: Clock): Promise<number> {
  const touched = await packagesTouchedAt(db.kysely, source, at);
  const byRelease = new Map<string, string[]>();
  for (const t of touched) byRelease.set(t.release, [...(byRelease.get(t.release) ?? []), t.package]);
  const done = new Set<string>();
  for (const [release, names] of byRelease) {
    for (const id of await targetsHolding(db.kysely, release, names)) {
      if (done.has(id)) continue;
      done.add(id);
      await scanTarget(db, id, clock);
      await setImmediate();
    }
    await setImmediate();
  }
  // Targets whose findings name a changed advisory, though it may no longer name their package.
  for (const id of await targetsWithFindingsTouchedAt(db.kysely, source, at)) {
    if (done.has(id)) continue;
    done.add(id);
    await scanTarget(db, id, clock);
    await setImmediate();
  }
  return done.size;
}

/**
 * Syncs several sources one after another; a source that fails is reported as failed and the
 * others still sync.
 */
export async function syncSources(db: Db, ids: readonly string[], opts: Omit<SyncOptions, 'file'> = {}): Promise<SyncReport[]> {
  const out: SyncReport[] = [];
  for (const id of ids) {
    const started = performance.now();
    try {
      out.push(await syncSource(db, id, opts));
    } catch (err) {
      // A busy or full database is not this source's failure: the next source would meet it too.
      const database = storageErrorOf(err);
      if (database !== null) throw database;
      const src = (await listSources(db)).find((s) => s.id === id);
      const location = src?.location ?? new FeedLocation('');
      const refused = err instanceof BulwarkError && typeof err.details?.['refused'] === 'string';
      // Messages are built with the redacted location; a library's own text is scrubbed too.
      out.push({ ...emptyReport(id, location, refused ? 'refused' : 'failed', Math.round(performance.now() - started) / 1000), error: location.scrub(err instanceof Error ? err.message : String(err)) });
    }
  }
  return out;
}
