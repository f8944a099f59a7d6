import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEED_PARSER_VERSIONS } from '../feeds/parser-versions.js';
import { feedCacheDir, readFeedFile } from './feed-cache.js';
import { scanFiles, type FileScanInput } from './file-scan.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-feed-cache-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const FIXTURE = join(import.meta.dirname, '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');

describe('the parsed-feed cache of scan --feed (issue #14)', () => {
  it('reads a feed parsed before from the cache, with the same result, and parses again when the bytes or the entry change', async () => {
    const inv = join(dir, 'host.tsv');
    writeFileSync(
      inv,
      ['golang\t0\t1.20.6\t1.azl3\tx86_64\tgolang-1.20.6-1.azl3.src.rpm', 'perl\t4\t5.38.2\t509.azl3\tx86_64\tperl-5.38.2-509.azl3.src.rpm'].join('\n') + '\n',
    );
    const feed = join(dir, 'feed.xml');
    copyFileSync(FIXTURE, feed);
    const cache = join(dir, 'cache');
    const reads: string[] = [];
    const input: FileScanInput = { inventory: inv, feeds: [feed], feedCache: cache, onFeedRead: (_, r) => reads.push(r) };
    const uncached = await scanFiles({ inventory: inv, feeds: [feed] });
    const first = await scanFiles(input);
    const second = await scanFiles(input);
    expect(reads).toEqual(['parsed', 'cached']);
    expect(second).toEqual(first);
    expect(first).toEqual(uncached);
    expect(first.findings.length).toBeGreaterThan(0);
    // The criteria trees are read from a hit only when asked (strict mode), and are then whole.
    const plain = await readFeedFile(feed, undefined, () => undefined, cache, false);
    const full = await readFeedFile(feed, undefined, () => undefined, cache, true);
    expect([plain.read, full.read]).toEqual(['cached', 'cached']);
    expect(plain.advisories.filter((a) => a.oval !== undefined)).toEqual([]);
    expect(full.advisories).toEqual((await readFeedFile(feed, undefined, () => undefined, null)).advisories);
    expect(full.advisories.filter((a) => a.oval !== undefined).length).toBeGreaterThan(0);
    // Strict mode reads the criteria trees kept in the entry.
    expect(await scanFiles({ ...input, ovalStrict: true })).toEqual(await scanFiles({ inventory: inv, feeds: [feed], ovalStrict: true }));

    // An entry whose content no longer matches its digest is not believed: parsed again, rewritten.
    const [entry] = readdirSync(cache);
    const path = join(cache, entry ?? '');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('golang', 'gol4ng'));
    reads.length = 0;
    expect(await scanFiles(input)).toEqual(first);
    expect(await scanFiles(input)).toEqual(first);
    expect(reads).toEqual(['parsed', 'cached']);
    // Another format version, an entry an older parser wrote, one naming no parser we have, or
    // garbage: parsed again.
    expect(text).toContain(`"parser":{"id":"oval","version":${String(FEED_PARSER_VERSIONS['oval'])}}`);
    reads.length = 0;
    for (const bad of [
      text.replace('"version":3', '"version":99'),
      text.replace(/"parser":\{"id":"oval","version":\d+\}/, '"parser":{"id":"oval","version":0}'),
      text.replace('"id":"oval"', '"id":"toString"'),
      'not json',
    ]) {
      writeFileSync(path, bad);
      await scanFiles(input);
    }
    expect(reads).toEqual(['parsed', 'parsed', 'parsed', 'parsed']);
    expect(readFileSync(path, 'utf8')).toBe(text);

    // Other bytes are another key: the edited feed is parsed, its own result comes out.
    writeFileSync(feed, readFileSync(FIXTURE, 'utf8').replace(/1\.20\.7/g, '1.20.5'));
    reads.length = 0;
    const edited = await scanFiles(input);
    expect(reads).toEqual(['parsed']);
    expect(edited).toEqual(await scanFiles({ inventory: inv, feeds: [feed] }));
    expect(edited.findings.map((f) => f.package)).not.toContain('golang');

    // A feed that does not parse is never cached: it fails the same way every time.
    writeFileSync(feed, '<?xml version="1.0"?><oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"><definitions>');
    await expect(scanFiles(input)).rejects.toThrow();
    await expect(scanFiles(input)).rejects.toThrow();
  });

  it('refuses a directory named as a feed by name, with the cache on or off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-feed-dir-'));
    try {
      const feed = join(dir, 'feeds');
      mkdirSync(feed);
      for (const cache of [null, join(dir, 'cache')])
        await expect(readFeedFile(feed, undefined, () => undefined, cache)).rejects.toMatchObject({
          code: 'input.invalid',
          message: `${feed}: not a regular file (a directory): refused`,
        });
      await expect(readFeedFile(join(dir, 'missing.xml'), undefined, () => undefined, null)).rejects.toThrow(/cannot read .*missing\.xml: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lives where the environment says, and is off when asked', () => {
    expect(feedCacheDir({ BULWARK_FEED_CACHE_DIR: '/x' })).toBe('/x');
    expect(feedCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/bulwark/feeds');
    expect(feedCacheDir({ BULWARK_FEED_CACHE: 'off', BULWARK_FEED_CACHE_DIR: '/x' })).toBeNull();
  });
});
