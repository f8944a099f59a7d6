import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import { mergeAdvisories, type Advisory } from '../core/advisory.js';
import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';
import { feedParser } from '../feeds/api.js';
import { detectFeedFormat } from '../feeds/detect.js';
import { catalog, type CatalogSource } from '../feeds/catalog.js';
import type { FeedWarning } from '../feeds/types.js';
import { feedDocuments } from '../lib/archive.js';
import { download, sha256File } from '../lib/http.js';
import { feedAllowForApi, feedAllowFromEnv, type FeedAllow } from '../lib/feed-allow.js';
import { FeedLocation } from '../lib/location.js';
import {
  getAdvisory,
  packagesTouchedAt,
  targetsHolding,
  listFeedSources,
  listFeedStates,
  markWithdrawn,
  removeFeedSource,
  saveFeedSource,
  saveFeedState,
  transaction,
  upsertAdvisories,
  type FeedState,
} from '../storage/index.js';
import { scanTarget } from './scan.js';
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
}

export interface SyncReport {
  source: string;
  location: FeedLocation;
  /** synced: parsed and stored; unchanged: same bytes and parser as last time; not-modified: HTTP 304; failed: see error. */
  status: 'synced' | 'unchanged' | 'not-modified' | 'failed';
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
  /** Why it failed, with the location's access keys scrubbed. */
  error?: string;
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
export async function listSources(db: Db): Promise<FeedSource[]> {
  const stored = await listFeedSources(db.kysely);
  const states = new Map((await listFeedStates(db.kysely)).map((s) => [s.source, stateView(s)]));
  const out = new Map<string, FeedSource>();
  for (const c of catalog) {
    const src: FeedSource = { id: c.id, format: c.format, location: new FeedLocation(c.location), release: c.release, description: c.description, origin: 'catalog', addedVia: 'cli', state: states.get(c.id) ?? null };
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
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
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
}

/**
 * Adds a source, or points a catalog source elsewhere (a local file, a mirror).
 * @example await addSource(db, { id: 'azurelinux-3.0-oval', location: '/srv/mirror/azurelinux-3.0-oval.xml.xz' })
 */
export async function addSource(db: Db, input: AddSourceInput, clock: Clock = systemClock): Promise<FeedSource> {
  if (!SOURCE_ID.test(input.id)) throw new BulwarkError('usage', `"${input.id}" is not a source id: lower-case letters, digits, ".", "_" and "-"`);
  // An http(s) location that is no URL was stored and failed every sync with a bare "Invalid URL".
  if (isUrl(input.location) && !URL.canParse(input.location)) throw new BulwarkError('usage', `source "${input.id}": the location starts with http(s):// but is not a URL (a bad host or port?); it is not shown, as it may hold a key`);
  const base = catalog.find((c) => c.id === input.id);
  let format = input.format ?? base?.format;
  if (format === undefined && !isUrl(input.location)) format = await detectFileFormat(input.location);
  if (format === undefined) throw new BulwarkError('usage', `source "${input.id}" is not in the catalog: give its --format`);
  feedParser(format);
  const release = input.release === undefined ? (base?.release ?? null) : input.release;
  if (release !== null && parseReleaseId(release) === null) throw new BulwarkError('usage', `"${release}" is not a release id such as azurelinux:3.0`);
  await saveFeedSource(db.kysely, { id: input.id, format, location: input.location, release, description: input.description ?? null, addedAt: clock().toISOString(), addedVia: input.via ?? 'cli' });
  const s = (await listSources(db)).find((x) => x.id === input.id);
  if (s === undefined) throw new BulwarkError('internal', `source ${input.id} vanished after saving`);
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

/** Removes a configured source (a catalog source returns to its built-in location). Stored advisories stay. */
export async function removeSource(db: Db, id: string): Promise<boolean> {
  return removeFeedSource(db.kysely, id);
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

/**
 * Parses one local file (plain, compressed or an archive of documents) of a source and stores
 * it in one transaction: advisories are upserted by (source, id), those the feed no longer lists
 * are marked withdrawn. If anything fails — a hostile document, a truncated archive — the
 * transaction rolls back and nothing already stored changes.
 *
 * @example await ingestFile(db, { id: 'azurelinux-3.0-oval', format: 'oval', release: 'azurelinux:3.0' }, 'feed.xml.xz')
 */
export async function ingestFile(
  db: Db,
  src: Pick<FeedSource, 'id' | 'format' | 'release'>,
  file: string,
  opts: Omit<SyncOptions, 'file' | 'force'> = {},
): Promise<Omit<SyncReport, 'location' | 'status' | 'seconds'>> {
  const parser = feedParser(src.format);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const now = (opts.clock ?? systemClock)().toISOString();
  const warningSamples: FeedWarning[] = [];
  let warnings = 0;
  const warn = (w: FeedWarning): void => {
    warnings++;
    if (warningSamples.length < MAX_SAMPLES) warningSamples.push(w);
  };
  await assertReadable(file);
  return transaction(db, async (tx) => {
    const totals = { documents: 0, advisories: 0, duplicates: 0, added: 0, changed: 0, unchanged: 0, restored: 0 };
    // id -> digest of the record as parsed: a repeated id is dropped when identical, merged when not.
    const ids = new Map<string, string>();
    let batch: Advisory[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const c = await upsertAdvisories(tx, batch, now);
      totals.added += c.added;
      totals.changed += c.changed;
      totals.unchanged += c.unchanged;
      totals.restored += c.restored;
      batch = [];
      opts.onProgress?.({ source: src.id, advisories: totals.advisories, documents: totals.documents });
    };
    for await (const doc of feedDocuments(createReadStream(file), file, limits)) {
      totals.documents++;
      for await (const a of parser.parse(doc.bytes, { source: src.id, name: doc.name, release: src.release ?? undefined, warn })) {
        const digest = createHash('sha256').update(JSON.stringify(a)).digest('hex');
        const prev = ids.get(a.id);
        if (prev !== undefined) {
          totals.duplicates++;
          if (prev === digest) continue;
          // Different content under one id: keep everything both records say.
          await flush();
          const stored = await getAdvisory(tx, src.id, a.id);
          const merged = stored === null ? a : mergeAdvisories(stripStored(stored), a);
          warn({ record: a.id, message: `${doc.name}: the id appears again with different content; the two records were merged` });
          ids.set(a.id, createHash('sha256').update(JSON.stringify(merged)).digest('hex'));
          batch.push(merged);
          continue;
        }
        ids.set(a.id, digest);
        totals.advisories++;
        batch.push(a);
        if (batch.length >= BATCH) await flush();
      }
    }
    await flush();
    if (totals.documents === 0) throw new BulwarkError('input.invalid', `${file}: the archive holds no feed documents (.json or .xml members)`, { file });
    const withdrawn = await markWithdrawn(tx, src.id, new Set(ids.keys()), now);
    return { source: src.id, ...totals, withdrawn, warnings, warningSamples };
  });
}

/** A stored advisory without the store's own fields, ready to merge with a parsed one. */
function stripStored(a: Advisory & { withdrawnAt: string | null }): Advisory {
  const rest: Partial<typeof a> = { ...a };
  delete rest.withdrawnAt;
  return rest as Advisory;
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
  const parser = feedParser(src.format);
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const clock = opts.clock ?? systemClock;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'bulwark-feed-')));
  try {
    let location = opts.file !== undefined ? new FeedLocation(opts.file) : src.location;
    const prev = src.state;
    let file = location.reveal();
    let etag: string | null = null;
    let lastModified: string | null = null;
    let sha: string;
    if (opts.file === undefined && location.isUrl) {
      location = await resolveLocation(src, workDir);
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
      if (r.status === 'not-modified') return emptyReport(src.id, location, 'not-modified', seconds());
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
    // The same bytes read by the same parser version for the same release give the same advisories.
    const fingerprint = `sha256:${sha} ${parser.id}@${String(parser.version)} ${src.release ?? '-'}`;
    if (opts.force !== true && prev?.fingerprint === fingerprint) {
      await saveFeedState(db.kysely, { ...prev, location: location.reveal(), etag: etag ?? prev.etag, lastModified: lastModified ?? prev.lastModified, syncedAt: clock().toISOString() });
      return emptyReport(src.id, location, 'unchanged', seconds());
    }
    const now = clock();
    const r = await ingestFile(db, src, file, { ...opts, clock: () => now });
    const report: SyncReport = { ...r, location, status: 'synced', seconds: seconds() };
    if (opts.rescan !== false && r.added + r.changed + r.withdrawn + r.restored > 0) report.rescanned = await rescanTouched(db, src.id, now.toISOString(), clock);
    const summary: Record<string, unknown> = { ...report, location: String(location) };
    delete summary['warningSamples'];
    await saveFeedState(db.kysely, { source: src.id, location: location.reveal(), etag, lastModified, fingerprint, syncedAt: clock().toISOString(), summary });
    return report;
  } finally {
    if (opts.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Only the targets that hold a package named by an advisory this sync added, changed, withdrew
 * or restored are matched again (issue #4): the rest of the fleet cannot have changed.
 */
async function rescanTouched(db: Db, source: string, at: string, clock: Clock): Promise<number> {
  const touched = await packagesTouchedAt(db.kysely, source, at);
  const byRelease = new Map<string, string[]>();
  for (const t of touched) byRelease.set(t.release, [...(byRelease.get(t.release) ?? []), t.package]);
  let n = 0;
  for (const [release, names] of byRelease) {
    for (const id of await targetsHolding(db.kysely, release, names)) {
      await scanTarget(db, id, clock);
      n++;
    }
  }
  return n;
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
      const src = (await listSources(db)).find((s) => s.id === id);
      const location = src?.location ?? new FeedLocation('');
      // Messages are built with the redacted location; a library's own text is scrubbed too.
      out.push({ ...emptyReport(id, location, 'failed', Math.round(performance.now() - started) / 1000), error: location.scrub(err instanceof Error ? err.message : String(err)) });
    }
  }
  return out;
}
