import type { Advisory } from '../core/advisory.js';
import type { IdentityFact } from './identity.js';

/**
 * The contract every feed format implements (DESIGN.md: "parsers take a stream and yield
 * advisories"). A parser reads one document's decompressed bytes and yields one normalised
 * advisory at a time; it never touches storage. Archives (OSV's tar/zip dumps) are opened by
 * src/lib/archive.ts and each member is handed to the parser as its own document.
 */

/** A record the parser skipped or corrected, naming the record (definition id, advisory id). */
export interface FeedWarning {
  /** The record's own id (an OVAL definition id, an OSV id…), or null when it has none. */
  record: string | null;
  message: string;
}

export interface ParseOptions {
  /** Feed source id, copied into every advisory (e.g. `azurelinux-3.0-oval`). */
  source: string;
  /** What to call the input in messages: a file path, a URL, `archive.tar.xz:member.json`. */
  name: string;
  /**
   * The release the feed describes when the document does not say it itself (Azure Linux OVAL
   * names no release; its dist tags and the catalog do). Formats whose records name their
   * release (OSV ecosystems, CSAF product trees) ignore it unless they cannot tell.
   */
  release?: string | undefined;
  /** Called for each skipped or corrected record; parsing goes on. */
  warn: (w: FeedWarning) => void;
  /**
   * Called with what the document itself says about its distribution and release (a dist tag,
   * an id namespace, an ecosystem), whatever `release` says: the sync checks these against the
   * source before it stores anything (src/feeds/identity.ts).
   */
  identity?: ((fact: IdentityFact) => void) | undefined;
}

/** A document's bytes, already decompressed, in chunks. */
export type FeedInput = AsyncIterable<Uint8Array>;

export interface FeedParser {
  /** Folder name and registry id, e.g. `oval`. */
  readonly id: string;
  readonly displayName: string;
  /** Bumped whenever the parser's output for the same input changes; stored on each advisory. */
  readonly version: number;
  /** Specification links. */
  readonly specs: readonly string[];
  /**
   * Parses one document. Throws a BulwarkError (`input.invalid`) naming `opts.name` when the
   * document as a whole is unreadable (not XML/JSON, hostile, truncated); a bad record inside a
   * readable document is skipped with `opts.warn`.
   */
  parse(input: FeedInput, opts: ParseOptions): AsyncIterable<Advisory>;
}
