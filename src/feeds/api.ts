import * as native from './native/parser.js';

/**
 * The registry of feed formats (DESIGN.md conventions: one folder per format, each with an
 * `id`, a display name and a `version`; a test checks this list against the folders).
 */
export interface FeedFormat {
  id: string;
  displayName: string;
  version: number;
}

export const feedFormats: readonly FeedFormat[] = [{ id: native.id, displayName: native.displayName, version: native.version }];
