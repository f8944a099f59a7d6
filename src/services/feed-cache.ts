import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Advisory } from '../core/advisory.js';
import { feedParser } from '../feeds/api.js';
import type { FeedWarning } from '../feeds/types.js';
import { feedDocuments } from '../lib/archive.js';
import { VERSION } from '../version.js';
import { detectFileFormat } from './feed-detect.js';
import { DEFAULT_LIMITS } from './feed-types.js';

/**
 * The parsed-feed cache (issue #14 item 6): `scan --inventory F --feed X` parses X (4 MB of
 * compressed OVAL: seconds) and keeps the normalised advisories, with the parse's warnings, in a
 * file named by a key over the feed file's SHA-256, the parser's id and version, the advisories'
 * source name, the release asked for and Bulwark's version; the next scan of the same bytes reads
 * them back (a JSON parse: a tenth of the time). An edited file has another hash, so another key:
 * nothing is invalidated by hand. An entry is not trusted blindly: its first line names the cache
 * format, its version and its key, and the SHA-256 of the rest, which is checked before the rest is
 * read; an entry that fails any check is ignored and replaced. Only a feed that parsed whole is
 * cached: hostile or broken input fails as before, every time.
 *
 * Where: $BULWARK_FEED_CACHE_DIR, else $XDG_CACHE_HOME/bulwark/feeds, else ~/.cache/bulwark/feeds;
 * BULWARK_FEED_CACHE=off turns it off.
 */

const FORMAT = 'bulwark-parsed-feed';
const CACHE_VERSION = 1;

/** The cache directory the environment says, or null when the cache is off. */
export function feedCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env['BULWARK_FEED_CACHE'] === 'off') return null;
  const own = env['BULWARK_FEED_CACHE_DIR'];
  if (own !== undefined && own !== '') return own;
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'bulwark', 'feeds');
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Parses a feed file as `scan --feed` always did. */
async function parseFeed(file: string, format: string, release: string | undefined, warn: (w: FeedWarning) => void): Promise<Advisory[]> {
  const parser = feedParser(format);
  const out: Advisory[] = [];
  for await (const doc of feedDocuments(createReadStream(file), file, DEFAULT_LIMITS))
    for await (const a of parser.parse(doc.bytes, { source: `file:${file}`, name: doc.name, release, warn })) out.push(a);
  return out;
}

/** What one read of a feed did: parsed it, or read the cache. */
export type FeedRead = 'parsed' | 'cached';

/**
 * The normalised advisories of a feed file (and its parse warnings, given to `warn` again on a
 * cache hit), from the cache in `dir` when an entry for these bytes is there and sound.
 * @example await readFeedFile('azurelinux-3.0-oval.xml.xz', undefined, warn, feedCacheDir())
 */
export async function readFeedFile(
  file: string,
  release: string | undefined,
  warn: (w: FeedWarning) => void,
  dir: string | null,
): Promise<{ advisories: Advisory[]; read: FeedRead }> {
  const format = await detectFileFormat(file);
  if (dir === null) return { advisories: await parseFeed(file, format, release, warn), read: 'parsed' };
  const parser = feedParser(format);
  const key = sha256(
    JSON.stringify({
      v: CACHE_VERSION,
      file: await fileSha256(file),
      parser: `${parser.id}@${String(parser.version)}`,
      source: `file:${file}`,
      release,
      bulwark: VERSION,
    }),
  );
  const path = join(dir, `${key}.json`);
  const hit = await readEntry(path, key);
  if (hit !== null) {
    for (const w of hit.warnings) warn(w);
    return { advisories: hit.advisories, read: 'cached' };
  }
  const warnings: FeedWarning[] = [];
  const advisories = await parseFeed(file, format, release, (w) => {
    warnings.push(w);
    warn(w);
  });
  await writeEntry(dir, path, key, advisories, warnings);
  return { advisories, read: 'parsed' };
}

async function readEntry(path: string, key: string): Promise<{ advisories: Advisory[]; warnings: FeedWarning[] } | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const nl = text.indexOf('\n');
    if (nl < 0) return null;
    const head = JSON.parse(text.slice(0, nl)) as { format?: unknown; version?: unknown; key?: unknown; sha256?: unknown };
    const body = text.slice(nl + 1);
    if (head.format !== FORMAT || head.version !== CACHE_VERSION || head.key !== key || head.sha256 !== sha256(body)) return null;
    const parsed = JSON.parse(body) as { advisories?: unknown; warnings?: unknown };
    if (!Array.isArray(parsed.advisories) || !Array.isArray(parsed.warnings)) return null;
    return { advisories: parsed.advisories as Advisory[], warnings: parsed.warnings as FeedWarning[] };
  } catch {
    return null;
  }
}

/** Written beside its name and renamed: a reader never sees half an entry. A cache that cannot be written is no error. */
async function writeEntry(dir: string, path: string, key: string, advisories: readonly Advisory[], warnings: readonly FeedWarning[]): Promise<void> {
  const body = JSON.stringify({ advisories, warnings });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, `${JSON.stringify({ format: FORMAT, version: CACHE_VERSION, key, sha256: sha256(body) })}\n${body}`, { mode: 0o600 });
    await rename(tmp, path);
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}
