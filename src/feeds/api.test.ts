import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feedFormats, feedParsers } from './api.js';
import { FEED_PARSER_VERSIONS } from './parser-versions.js';

describe('feed registry', () => {
  it('lists exactly the format folders', () => {
    const folders = readdirSync(import.meta.dirname, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(feedFormats.map((f) => f.id).sort()).toEqual(folders);
  });
});

describe('parser versions known without the parsers (parser-versions.ts)', () => {
  it('equal the registry: a parser whose version changed is one line in parser-versions.ts', () => {
    expect(FEED_PARSER_VERSIONS).toEqual(Object.fromEntries(feedParsers.map((p) => [p.id, p.version])));
  });
});
