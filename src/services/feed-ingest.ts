import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setImmediate } from 'node:timers/promises';
import { mergeAdvisories, type Advisory } from '../core/advisory.js';
import { BulwarkError } from '../core/errors.js';
import { feedParser } from '../feeds/api.js';
import { catalog } from '../feeds/catalog.js';
import type { FeedWarning } from '../feeds/types.js';
import { canonicalRelease, distributionOf, identityMismatch, IdentityTally, type ExpectedIdentity, type IdentityFact } from '../feeds/identity.js';
import { feedDocuments } from '../lib/archive.js';
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
  markWithdrawn,
  transaction,
  upsertAdvisories,
} from '../storage/index.js';
import { assertReadable } from './read-file.js';
import { systemClock, type Db } from './store.js';
import { DEFAULT_LIMITS, type FeedSource, type SyncOptions, type SyncReport } from './feed-types.js';

// Ingesting one feed document: parse, check its identity against the source, stage the new
// advisories in short transactions, refuse what would withdraw too much, publish at once.

const BATCH = 500;
const MAX_SAMPLES = 50;

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
  /** Advisory ids the feed still lists though this file does not hold them (a CSAF provider's unchanged documents): never withdrawn. */
  keep?: ReadonlySet<string>;
  /** The feed's own problems found before parsing (an empty document refused, a changes.csv line): reported as warnings. */
  feedWarnings?: readonly FeedWarning[];
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
  const stored = [...new Set((await releasesOfSource(db, src.id)).flatMap((r) => distributionOf(r) ?? []))];
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
  for (const w of opts.feedWarnings ?? []) {
    warnings++;
    if (warningSamples.length < MAX_SAMPLES) warningSamples.push(w);
  }
  const keep = opts.keep ?? new Set<string>();
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
          if (why !== null)
            throw refusal('identity', `${doc.name} is not a feed of source ${src.id}: ${why}; nothing was stored (--force does not change this)`, {
              expected,
              found: docTally.facts(),
            });
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
    const live = await liveAdvisoryIds(db, src.id);
    const wouldWithdraw = live.filter((id) => !ids.has(id) && !keep.has(id)).length;
    // An advisory kept but left with no fix matches nothing any more, as if withdrawn: an OVAL
    // file without its <states> kept all 2,266 Azure Linux 3.0 ids and emptied every one.
    const wouldEmpty = fixless.size === 0 ? 0 : (await liveAdvisoryIdsWithFixes(db, src.id)).filter((id) => fixless.has(id)).length;
    // Withdrawn by the syncs of the window and still withdrawn: several small steps add up.
    const windowStart = opts.withdrawWindowStart ?? new Date(Date.parse(now) - WITHDRAW_WINDOW_MS).toISOString();
    const recentlyWithdrawn = await countWithdrawnSince(db, src.id, windowStart);
    const counts =
      `${String(totals.advisories)} usable records, ${String(skipped)} skipped, ${String(live.length)} stored, ${String(wouldWithdraw)} would be withdrawn` +
      (wouldEmpty > 0 ? `, ${String(wouldEmpty)} would lose every fix` : '') +
      (recentlyWithdrawn > 0 ? `, ${String(recentlyWithdrawn)} withdrawn since ${windowStart}` : '');
    const details = { usable: totals.advisories, skipped, stored: live.length, wouldWithdraw, wouldEmpty, recentlyWithdrawn, windowStart };
    // (Changed documents that hold nothing for the source, beside kept ones, are not a broken feed.)
    if (totals.advisories === 0 && ((live.length > 0 && opts.keep === undefined) || skipped > 0))
      throw refusal(
        'no-usable-records',
        `${file}: refused: no usable record in the feed (${counts}); a feed without usable records never withdraws anything, and nothing was stored`,
        details,
      );
    if (expected !== null && totals.advisories > 0 && tally.facts().length === 0) {
      // Not a skipped record: a note that the check could not be made.
      warnings++;
      if (warningSamples.length < MAX_SAMPLES)
        warningSamples.push({
          record: null,
          message: `${file}: the feed does not say which distribution or release it is about (no <release>, dist tag, namespace or ecosystem); it could not be checked against ${expected.release ?? expected.distributions.join(' or ')}`,
        });
    }
    if (expected !== null && totals.advisories > 0) {
      const why = identityMismatch(expected, tally);
      if (why !== null)
        throw refusal('identity', `${file} is not a feed of source ${src.id}: ${why}; nothing was stored (--force does not change this)`, {
          expected,
          found: tally.facts(),
        });
    }
    if (opts.allowWithdraw !== true) {
      const share = opts.maxWithdrawShare ?? DEFAULT_MAX_WITHDRAW_SHARE;
      if (skipped > totals.advisories)
        throw refusal(
          'mostly-skipped',
          `${file}: refused: most records were skipped (${counts}); nothing was stored. Check the feed, or pass --allow-withdraw to store what could be read`,
          details,
        );
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
    for (const old of await staleStagingSources(db, src.id, new Date(Date.parse(now) - 24 * 3600_000).toISOString())) await discardStaged(db, old);
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
      await discardStaged(db, staging);
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
        return markWithdrawn(tx, src.id, new Set([...ids.keys(), ...keep]), now);
      });
      return { source: src.id, ...totals, ...result, withdrawn, warnings, warningSamples, identity: tally.summary() };
    } catch (err) {
      await discardStaged(db, staging);
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
export function refusal(reason: string, message: string, details: Record<string, unknown>): BulwarkError {
  return new BulwarkError('input.invalid', message, { refused: reason, ...details });
}
