import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { BulwarkError } from '../core/errors.js';
import { feedFormat, signalParser } from '../feeds/api.js';
import { download, sha256File } from '../lib/http.js';
import { feedAllowForApi, feedAllowFromEnv, type FeedAllow } from '../lib/feed-allow.js';
import { FeedLocation } from '../lib/location.js';
import { advisoriesChangedAt, saveFeedState, storageErrorOf } from '../storage/index.js';
import { recordAudit, SYSTEM } from './audit.js';
import { rescan } from './fleet-scan.js';
import { cannotRead } from './read-file.js';
import { ingestSignalFile } from './signals.js';
import { systemClock, type Clock, type Db } from './store.js';
import { DEFAULT_LIMITS, REFUSAL_REREAD_MS, type FeedSource, type SyncOptions, type SyncReport } from './feed-types.js';
import { lastRefusal, listSources } from './feed-sources.js';
import { ingestFile, WITHDRAW_WINDOW_MS } from './feed-ingest.js';
import { fetchCsafProvider, type ProviderFetch } from './csaf-provider.js';

export * from './feed-types.js';
export { addSource, detectFileFormat, lastRefusal, listSources, removeSource, type AddSourceInput } from './feed-sources.js';
export { DEFAULT_MAX_WITHDRAW_SHARE, WITHDRAW_WINDOW_MS, expectedIdentity, ingestFile, type IngestOptions, type IngestReport } from './feed-ingest.js';

// Syncing feed sources: download or read, skip what did not change, ingest (feed-ingest.ts),
// record the state, and match again only the targets the sync touched. Sources are kept in
// feed-sources.ts, the shapes in feed-types.ts; this module re-exports them all.

/** The own-network allow-list a source's downloads may use: an API-added one's only if the operator allows that too. */
function allowFor(src: FeedSource): FeedAllow {
  return src.addedVia === 'api' ? feedAllowForApi() : feedAllowFromEnv();
}

/** Red Hat's `archive_latest.txt` names the newest full archive, relative to itself. */
async function resolveLocation(src: FeedSource, workDir: string): Promise<FeedLocation> {
  if (src.resolve !== 'redhat-archive-latest' || !src.location.isUrl) return src.location;
  const r = await download(src.location, join(workDir, 'index.txt'), {
    maxBytes: 4096,
    timeoutMs: 60_000,
    allow: allowFor(src),
    literalIsChosen: src.addedVia !== 'api',
  });
  if (r.status !== 'ok') throw new BulwarkError('input.invalid', `${String(src.location)}: no answer to resolve the archive name`);
  const name = (await readFile(r.file, 'utf8')).trim();
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new BulwarkError('input.invalid', `${String(src.location)}: "${name.slice(0, 80)}" is not an archive file name`);
  return new FeedLocation(new URL(name, src.location.reveal()).toString());
}

/** What a sync may do without `allowWithdraw`: withdraw at most this share of the source's live advisories. */

function emptyReport(source: string, location: FeedLocation, status: SyncReport['status'], seconds: number): SyncReport {
  return {
    source,
    location,
    status,
    documents: 0,
    advisories: 0,
    duplicates: 0,
    added: 0,
    changed: 0,
    unchanged: 0,
    restored: 0,
    withdrawn: 0,
    warnings: 0,
    warningSamples: [],
    seconds,
  };
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
  const trail: { location: FeedLocation; sha256: string | null } = {
    location: opts.file !== undefined ? new FeedLocation(opts.file) : src.location,
    sha256: null,
  };
  const audit = async (status: string, detail: Record<string, unknown>): Promise<void> => {
    const location = String(trail.location);
    const d: Record<string, unknown> = {
      status,
      // How long the sync took (GET /metrics: bulwark_feed_sync_duration_seconds), in real time.
      durationMs: Math.round(performance.now() - started),
      location,
      sha256: trail.sha256,
      ...(opts.file === undefined ? {} : { file: true }),
      ...(opts.force === true ? { force: true } : {}),
      ...(opts.allowWithdraw === true ? { allowWithdraw: true } : {}),
      ...detail,
    };
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
    // A CSAF provider: only the documents changed since the last sync are fetched (csaf-provider.ts).
    let provider: ProviderFetch | null = null;
    if (opts.file === undefined && location.isUrl && src.resolve === 'csaf-provider') {
      const cursor = prev?.summary['csafCursor'];
      const since = opts.force !== true && prev?.location.reveal() === location.reveal() && typeof cursor === 'string' ? cursor : null;
      provider = await fetchCsafProvider(location, workDir, since, {
        allow: allowFor(src),
        literalIsChosen: src.addedVia !== 'api',
        maxDocumentBytes: limits.maxDocumentBytes,
        ...(opts.timeouts?.totalMs !== undefined ? { timeoutMs: opts.timeouts.totalMs } : {}),
        ...(opts.timeouts?.idleMs !== undefined ? { idleTimeoutMs: opts.timeouts.idleMs } : {}),
      });
      if (provider.file === null) {
        await audit('not-modified', { listed: provider.listed });
        return {
          ...emptyReport(src.id, location, 'not-modified', seconds()),
          warnings: provider.warnings.length,
          warningSamples: provider.warnings.slice(0, 50),
        };
      }
      file = provider.file;
      sha = await sha256File(file);
    } else if (opts.file === undefined && location.isUrl) {
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
    if (opts.force !== true && provider === null && prev?.fingerprint === fingerprint) {
      await saveFeedState(db, {
        ...prev,
        location: location.reveal(),
        etag: etag ?? prev.etag,
        lastModified: lastModified ?? prev.lastModified,
        syncedAt: clock().toISOString(),
      });
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
        ? await ingestSignalFile(db, src, file, {
            limits: opts.limits ?? DEFAULT_LIMITS,
            clock: () => now,
            allowWithdraw: opts.allowWithdraw,
            maxWithdrawShare: opts.maxWithdrawShare,
          })
        : await ingestFile(db, src, file, {
            ...opts,
            clock: () => now,
            workDir,
            withdrawWindowStart: baseline !== null && baseline > windowStart ? baseline : windowStart,
            ...(provider === null ? {} : { keep: provider.keep, feedWarnings: provider.warnings }),
          });
    // Statements on SQLite never yield on their own: let waiting requests in between the steps.
    await setImmediate();
    const report: SyncReport = { ...r, location, status: 'synced', seconds: seconds() };
    if (opts.rescan !== false && r.signal === undefined && r.added + r.changed + r.withdrawn + r.restored > 0)
      report.rescanned = await rescanTouched(db, src.id, now.toISOString(), clock);
    // The sync's time is what the operator waited for: its re-scan included.
    report.seconds = seconds();
    const summary: Record<string, unknown> = { ...report, location: String(location) };
    delete summary['warningSamples'];
    if (provider !== null) summary['csafCursor'] = provider.cursor;
    if (opts.allowWithdraw === true && r.withdrawn > 0) summary['withdrawBaselineAt'] = now.toISOString();
    else if (baseline !== null) summary['withdrawBaselineAt'] = baseline;
    await saveFeedState(db, { source: src.id, location: location.reveal(), etag, lastModified, fingerprint, syncedAt: clock().toISOString(), summary });
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
      await audit(refused === null ? 'failed' : 'refused', {
        error: message,
        ...(refused === null ? {} : { ...refused, ...(fingerprint === null ? {} : { fingerprint }) }),
      });
    } catch {
      // The store may be what failed; the sync's own error is the one to report.
    }
    throw err;
  } finally {
    if (opts.workDir === undefined) await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * Only what a sync changed is matched again (issue #14): its added, changed, withdrawn and
 * restored advisories, against the distinct builds they name and the targets holding those
 * builds or having findings on them, through the fleet index; only the findings that change are
 * written. Returns how many targets were looked at.
 */
async function rescanTouched(db: Db, source: string, at: string, clock: Clock): Promise<number> {
  const changed = await advisoriesChangedAt(db, source, at);
  if (changed.length === 0) return 0;
  const r = await rescan(db, { advisoryPks: changed.map((c) => c.pk) }, { clock });
  return r.looked;
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
      out.push({
        ...emptyReport(id, location, refused ? 'refused' : 'failed', Math.round(performance.now() - started) / 1000),
        error: location.scrub(err instanceof Error ? err.message : String(err)),
      });
    }
  }
  return out;
}
