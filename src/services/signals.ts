import { createReadStream } from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { BulwarkError } from '../core/errors.js';
import { withRisk, sortByRisk, type CveSignal, type Risk, type RiskFacts, type RiskSort } from '../core/risk.js';
import type { EpssHeader, EpssScore, KevCatalog, KevEntry } from '../feeds/signal-types.js';
import type { FeedWarning } from '../feeds/types.js';
import {
  epssHistory,
  epssScores,
  epssSummary,
  kevEntries,
  kevSummary,
  storeEpssScores,
  storeKevCatalog,
  transaction,
  type SignalCounts,
  type StoredEpssScore,
  type StoredKevEntry,
} from '../storage/index.js';
import { assertReadable } from './read-file.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Exploitation signals (issue #16): syncing CISA KEV and FIRST EPSS files into the store (the
 * feed sync's download, fingerprint and audit are services/feeds.ts's; this is the ingest), and
 * reading them back per CVE for the risk order and the planner.
 */

export interface SignalIngestOptions {
  limits: { maxDocumentBytes: number; maxTotalBytes: number };
  clock?: Clock | undefined;
  /** Store a file that drops more than `maxWithdrawShare` of the stored entries, or whose records were mostly skipped. */
  allowWithdraw?: boolean | undefined;
  /** Default 0.2, as for advisories. */
  maxWithdrawShare?: number | undefined;
}

/** The sync report's counts for a signal file, in the advisory feeds' words (`withdrawn`: entries dropped). */
export interface SignalIngestReport {
  source: string;
  documents: number;
  advisories: number;
  duplicates: number;
  added: number;
  changed: number;
  unchanged: number;
  restored: number;
  withdrawn: number;
  warnings: number;
  warningSamples: FeedWarning[];
  identity: { distributions: string[]; releases: string[] };
  /** What the file says of itself: the catalog version or EPSS model, and its newest date (ISO 8601). */
  signal: { kind: 'kev' | 'epss'; version: string; newestAt: string };
}

const MAX_SAMPLES = 50;

function refusal(reason: string, message: string, details: Record<string, unknown>): BulwarkError {
  return new BulwarkError('input.invalid', message, { refused: reason, ...details });
}

/**
 * Parses a KEV catalog or an EPSS file (plain or compressed) of a source and stores it, all or
 * nothing, in one transaction. Like an advisory feed, a file with no usable record is refused,
 * as is one whose records were mostly skipped or that drops more than a fifth of what is stored
 * (unless `allowWithdraw`): a truncated download must not empty the signals.
 * @example await ingestSignalFile(db, { id: 'cisa-kev', format: 'kev' }, 'known_exploited_vulnerabilities.json', { limits })
 */
export async function ingestSignalFile(db: Db, src: { id: string; format: string }, file: string, opts: SignalIngestOptions): Promise<SignalIngestReport> {
  // The parsers and archive readers load when a file is read, not with the risk order's reads (a report's start-up).
  const [{ signalParser }, { feedDocuments }] = await Promise.all([import('../feeds/api.js'), import('../lib/archive.js')]);
  const parser = signalParser(src.format);
  if (parser === null) throw new BulwarkError('internal', `format ${src.format} is not a signal format`);
  await assertReadable(file);
  const now = (opts.clock ?? systemClock)().toISOString();
  const warningSamples: FeedWarning[] = [];
  let warnings = 0;
  let skipped = 0;
  let duplicates = 0;
  const warn = (w: FeedWarning): void => {
    warnings++;
    if (/is (listed|scored) again/.test(w.message)) duplicates++;
    else if (w.record !== null || /skipped$/.test(w.message)) skipped++;
    if (warningSamples.length < MAX_SAMPLES) warningSamples.push(w);
  };
  let documents = 0;
  let catalog: KevCatalog | null = null;
  let header: EpssHeader | null = null;
  const kev: KevEntry[] = [];
  const epss: EpssScore[] = [];
  let sinceYield = 0;
  for await (const doc of feedDocuments(createReadStream(file), file, {
    maxDocumentBytes: opts.limits.maxDocumentBytes,
    maxTotalBytes: opts.limits.maxTotalBytes,
  })) {
    if (++documents > 1)
      throw new BulwarkError('input.invalid', `${file}: an archive of several documents; a ${parser.displayName} source reads one file`, { file });
    for await (const r of parser.parse(doc.bytes, { name: doc.name, warn })) {
      if (r.kind === 'kev-catalog') catalog = r.catalog;
      else if (r.kind === 'kev') kev.push(r.entry);
      else if (r.kind === 'epss-header') header = r.header;
      else for (const x of r.scores) epss.push(x);
      // Give the API's requests a turn now and then during a long parse.
      if (++sinceYield >= 10) {
        sinceYield = 0;
        await setImmediate();
      }
    }
  }
  if (documents === 0) throw new BulwarkError('input.invalid', `${file}: no document`, { file });
  const usable = parser.signal === 'kev' ? kev.length : epss.length;
  const stored = parser.signal === 'kev' ? (await kevSummary(db)).listed : (await epssSummary(db)).scored;
  const listed = new Set(parser.signal === 'kev' ? kev.map((e) => e.cve) : []);
  const counts = `${String(usable)} usable records, ${String(skipped)} skipped, ${String(stored)} stored`;
  const details = { usable, skipped, stored };
  if (usable === 0 && (stored > 0 || skipped > 0))
    throw refusal('no-usable-records', `${file}: refused: no usable record (${counts}); nothing was stored`, details);
  if (opts.allowWithdraw !== true) {
    if (skipped > usable)
      throw refusal(
        'mostly-skipped',
        `${file}: refused: most records were skipped (${counts}); nothing was stored. Check the file, or pass --allow-withdraw to store what could be read`,
        details,
      );
    const share = opts.maxWithdrawShare ?? 0.2;
    // KEV: entries dropped from the catalog; EPSS: the file scoring far fewer CVEs than stored.
    const dropped = parser.signal === 'kev' ? (await kevEntries(db)).filter((e) => !listed.has(e.cve)).length : Math.max(0, stored - usable);
    if (stored > 0 && dropped / stored > share)
      throw refusal(
        'withdraw-share',
        `${file}: refused: the file would drop ${String(dropped)} of the ${String(stored)} stored entries of ${src.id} (${String(Math.round((100 * dropped) / stored))}%, more than ${String(Math.round(share * 100))}%; ${counts}); nothing was stored. If the publisher really did this, pass --allow-withdraw`,
        { ...details, dropped },
      );
  }
  let c: SignalCounts;
  let signal: SignalIngestReport['signal'];
  if (parser.signal === 'kev') {
    if (catalog === null) throw new BulwarkError('internal', `${file}: the KEV parser gave no catalog header`);
    const cat = catalog;
    c = await transaction(db, (tx) => storeKevCatalog(tx, cat, kev, now));
    const newestAdded = kev.reduce((m, e) => (e.dateAdded > m ? e.dateAdded : m), '');
    // The catalog's release time, or its newest entry's day if that is later (a hand-made mirror).
    const newest = newestAdded !== '' && `${newestAdded}T00:00:00.000Z` > cat.dateReleased ? `${newestAdded}T00:00:00.000Z` : cat.dateReleased;
    signal = { kind: 'kev', version: cat.catalogVersion, newestAt: newest };
  } else {
    if (header === null) throw new BulwarkError('internal', `${file}: the EPSS parser gave no header`);
    const h = header;
    c = await transaction(db, (tx) => storeEpssScores(tx, h, epss));
    signal = { kind: 'epss', version: h.modelVersion, newestAt: `${h.scoreDate}T00:00:00.000Z` };
  }
  return {
    source: src.id,
    documents,
    advisories: usable,
    duplicates,
    added: c.added,
    changed: c.changed,
    unchanged: c.unchanged,
    restored: c.restored,
    withdrawn: c.removed,
    warnings,
    warningSamples,
    identity: { distributions: [], releases: [] },
    signal,
  };
}

/**
 * What is known of each CVE's exploitation, from the stored KEV and EPSS (CVEs without either are absent).
 * @example (await exploitationOf(db, ['CVE-2024-6387'])).get('CVE-2024-6387')?.kev?.dueDate
 */
export async function exploitationOf(db: Db, cves: Iterable<string>): Promise<Map<string, CveSignal>> {
  const list = [...new Set(cves)];
  const out = new Map<string, CveSignal>();
  if (list.length === 0) return out;
  const get = (cve: string): CveSignal => {
    let s = out.get(cve);
    if (s === undefined) out.set(cve, (s = { kev: null, epss: null }));
    return s;
  };
  for (const e of await kevEntries(db, list)) get(e.cve).kev = { dateAdded: e.dateAdded, dueDate: e.dueDate, ransomware: e.ransomware };
  for (const e of await epssScores(db, list)) get(e.cve).epss = { score: e.epss, percentile: e.percentile, date: e.scoreDate };
  return out;
}

/**
 * Everything known of one CVE's exploitation: its KEV entry, its current EPSS score and its EPSS
 * trend (the points where it moved), or null when neither feed names it.
 * @example (await cveSignals(db, 'CVE-2024-6387'))?.epssTrend
 */
export async function cveSignals(
  db: Db,
  cve: string,
): Promise<{
  cve: string;
  kev: StoredKevEntry | null;
  epss: StoredEpssScore | null;
  epssTrend: { scoreDate: string; epss: number; percentile: number }[];
} | null> {
  const id = cve.toUpperCase();
  if (!/^CVE-\d{4}-\d{4,}$/.test(id)) throw new BulwarkError('input.invalid', `"${cve.slice(0, 40)}" is not a CVE id`);
  const [kev] = await kevEntries(db, [id]);
  const [epss] = await epssScores(db, [id]);
  const epssTrend = await epssHistory(db, id);
  if (kev === undefined && epss === undefined && epssTrend.length === 0) return null;
  return { cve: id, kev: kev ?? null, epss: epss ?? null, epssTrend };
}

/** Which signals were ever synced (a policy rule naming one never synced cannot fire). */
export async function signalsSynced(db: Db): Promise<{ kev: boolean; epss: boolean }> {
  return { kev: (await kevSummary(db)).ever > 0, epss: (await epssSummary(db)).scored > 0 };
}

/** Filters of the risk order: only KEV-listed findings, only those above an EPSS probability. */
export interface RiskFilter {
  kev?: boolean | undefined;
  epssAbove?: number | undefined;
  sort?: RiskSort | undefined;
}

/**
 * Rows with their risk from the stored signals, filtered by `kev` and `epssAbove`, in the
 * `sort` order (default: as they came).
 * @example await rankFindings(db, rows, { sort: 'risk', kev: true })
 */
export async function rankFindings<T extends RiskFacts>(db: Db, rows: readonly T[], f: RiskFilter = {}): Promise<(T & { risk: Risk })[]> {
  const signals = await exploitationOf(
    db,
    rows.flatMap((r) => r.cves),
  );
  let ranked = withRisk(rows, (c) => signals.get(c));
  if (f.kev === true) ranked = ranked.filter((r) => r.risk.kev !== null);
  const above = f.epssAbove;
  if (above !== undefined) ranked = ranked.filter((r) => r.risk.epss !== null && r.risk.epss.score > above);
  return f.sort === undefined ? ranked : sortByRisk(ranked, f.sort);
}
