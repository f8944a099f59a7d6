import type { FeedInput, FeedWarning } from './types.js';

/**
 * Exploitation signals (issue #16): feeds that say how likely or how certain a CVE's
 * exploitation is, not which packages it affects. They are synced like every feed (catalog,
 * `feeds add`, `feeds sync --file`, fingerprints, audit), but yield signal records instead of
 * advisories and are stored beside them (src/storage/repositories/signals.ts).
 */

export type { EpssHeader, EpssScore, KevCatalog, KevEntry } from '../core/signals.js';
import type { EpssHeader, EpssScore, KevCatalog, KevEntry } from '../core/signals.js';

/** EPSS scores come in batches (one per chunk of the file): a yield per row would cost more than the parsing. */
export type SignalRecord =
  | { kind: 'kev-catalog'; catalog: KevCatalog }
  | { kind: 'kev'; entry: KevEntry }
  | { kind: 'epss-header'; header: EpssHeader }
  | { kind: 'epss'; scores: EpssScore[] };

export interface SignalParseOptions {
  /** What to call the input in messages (a file path, a URL). */
  name: string;
  /** Called for each skipped record (lenient, like the advisory feeds); parsing goes on. */
  warn: (w: FeedWarning) => void;
}

/** The contract of a signal format (the advisory formats' FeedParser, for signals). */
export interface SignalParser {
  readonly id: string;
  readonly displayName: string;
  readonly version: number;
  readonly specs: readonly string[];
  /** Which signal it yields. */
  readonly signal: 'kev' | 'epss';
  /**
   * Parses one document. Throws a BulwarkError (`input.invalid`) naming `opts.name` (and the
   * line, for EPSS) when the document as a whole is unreadable; a bad record is skipped with `warn`.
   */
  parse(input: FeedInput, opts: SignalParseOptions): AsyncIterable<SignalRecord>;
}

export const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
