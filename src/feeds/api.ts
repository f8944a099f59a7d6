import { BulwarkError } from '../core/errors.js';
import { csafVexParser } from './csaf-vex/parser.js';
import { nativeParser } from './native/parser.js';
import { osvParser } from './osv/parser.js';
import { ovalParser } from './oval/parser.js';
import { updateinfoParser } from './updateinfo/parser.js';
import type { FeedParser } from './types.js';

/**
 * The registry of feed formats (DESIGN.md conventions: one folder per format, each with an
 * `id`, a display name, spec links and a `version`; a test checks this list against the folders).
 */
export const feedParsers: readonly FeedParser[] = [nativeParser, ovalParser, osvParser, csafVexParser, updateinfoParser];

export interface FeedFormat {
  id: string;
  displayName: string;
  version: number;
}

export const feedFormats: readonly FeedFormat[] = feedParsers.map((p) => ({ id: p.id, displayName: p.displayName, version: p.version }));

/**
 * The parser for a format id.
 * @example feedParser('oval').version // 1
 */
export function feedParser(format: string): FeedParser {
  const p = feedParsers.find((x) => x.id === format);
  if (p === undefined) throw new BulwarkError('config.invalid', `unknown feed format "${format}" (known: ${feedParsers.map((x) => x.id).join(', ')})`);
  return p;
}
