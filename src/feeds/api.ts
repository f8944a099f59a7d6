import { BulwarkError } from '../core/errors.js';
import { csafVexParser } from './csaf-vex/parser.js';
import { epssParser } from './epss/parser.js';
import { kevParser } from './kev/parser.js';
import { nativeParser } from './native/parser.js';
import { osvParser } from './osv/parser.js';
import { ovalParser } from './oval/parser.js';
import { updateinfoParser } from './updateinfo/parser.js';
import type { FeedParser } from './types.js';
import type { SignalParser } from './signal-types.js';

/**
 * The registry of feed formats (DESIGN.md conventions: one folder per format, each with an
 * `id`, a display name, spec links and a `version`; a test checks this list against the folders).
 */
export const feedParsers: readonly FeedParser[] = [nativeParser, ovalParser, osvParser, csafVexParser, updateinfoParser];

/** Exploitation signal formats (issue #16): synced like feeds, stored beside the advisories. */
export const signalParsers: readonly SignalParser[] = [kevParser, epssParser];

export interface FeedFormat {
  id: string;
  displayName: string;
  version: number;
}

export const feedFormats: readonly FeedFormat[] = [...feedParsers, ...signalParsers].map((p) => ({ id: p.id, displayName: p.displayName, version: p.version }));

/**
 * The signal parser of a format id, or null when the format yields advisories.
 * @example signalParser('kev')?.signal // 'kev'
 */
export function signalParser(format: string): SignalParser | null {
  return signalParsers.find((x) => x.id === format) ?? null;
}

/**
 * Any registered format (advisories or signals), for what every feed shares: its id and version
 * in sync fingerprints, the check of a source's format.
 * @example feedFormat('epss').version // 1
 */
export function feedFormat(format: string): FeedFormat {
  const p = feedFormats.find((x) => x.id === format);
  if (p === undefined) throw new BulwarkError('config.invalid', `unknown feed format "${format}" (known: ${feedFormats.map((x) => x.id).join(', ')})`);
  return p;
}

/**
 * The parser for a format id.
 * @example feedParser('oval').version // 1
 */
export function feedParser(format: string): FeedParser {
  const p = feedParsers.find((x) => x.id === format);
  if (p === undefined)
    throw new BulwarkError(
      'config.invalid',
      signalParser(format) !== null
        ? `feed format "${format}" carries exploitation signals, not advisories`
        : `unknown feed format "${format}" (known: ${feedFormats.map((x) => x.id).join(', ')})`,
    );
  return p;
}
