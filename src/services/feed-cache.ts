import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Advisory } from '../core/advisory.js';
import type { OvalCriteria } from '../core/oval.js';
import { FEED_PARSER_VERSIONS } from '../feeds/parser-versions.js';
import type { FeedWarning } from '../feeds/types.js';
import { VERSION } from '../version.js';
import { assertRegularFile, cannotRead } from './read-file.js';

/**
 * The parsed-feed cache (issue #14 item 6): `scan --inventory F --feed X` parses X (4 MB of
 * compressed OVAL: seconds) and keeps the normalised advisories, with the parse's warnings, in a
 * file named by a key over the feed file's SHA-256, the parser's id and version, the advisories'
 * source name, the release asked for and Bulwark's version; the next scan of the same bytes reads
 * them back (a JSON parse: a tenth of the time). An edited file has another hash, so another key:
 * nothing is invalidated by hand. An entry is not trusted blindly: its first line names the cache
 * format, its version and its key, and the SHA-256 of the rest, which is checked before the rest is
 * read, and the parser and version that wrote it, which must be today's; an entry that fails any
 * check is ignored and replaced. Only a feed that parsed whole is cached: hostile or broken input
 * fails as before, every time.
 *
 * A hit is start-up work users wait for (`scan --feed` in CI, on every run), so it loads nothing it
 * does not need: the key leaves the format out (the same bytes are the same format) and the entry's
 * parser version is checked against feeds/parser-versions.ts, so neither format detection, the
 * decompressors nor any parser (nor zod, which some parsers' schemas use) is imported unless the
 * feed is parsed. The OVAL criteria trees (a third of an entry) are its last line, read only for
 * `--oval-strict`: the normal match never looks at them.
 *
 * Where: $BULWARK_FEED_CACHE_DIR, else $XDG_CACHE_HOME/bulwark/feeds, else ~/.cache/bulwark/feeds;
 * BULWARK_FEED_CACHE=off turns it off.
 */

const FORMAT = 'bulwark-parsed-feed';
const CACHE_VERSION = 3;

/** The cache directory the environment says, or null when the cache is off. */
export function feedCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env['BULWARK_FEED_CACHE'] === 'off') return null;
  const own = env['BULWARK_FEED_CACHE_DIR'];
  if (own !== undefined && own !== '') return own;
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'bulwark', 'feeds');
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/**
 * The hit path reads synchronously: it is the start-up of a command, with nothing else to do
 * meanwhile, and every asynchronous read is a round trip through libuv's thread pool that, on a
 * busy machine, waits for a core each time. In 1 MiB pieces: a feed can be large.
 */
function fileSha256(file: string): string {
  const h = createHash('sha256');
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } catch (err) {
    throw cannotRead(file, err);
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return h.digest('hex');
}

/** Parses a feed file as `scan --feed` always did; the parsers and decompressors are imported here, on a miss only. */
async function parseFeed(file: string, release: string | undefined, warn: (w: FeedWarning) => void): Promise<{ advisories: Advisory[]; parser: ParserId }> {
  const [{ detectFileFormat }, { feedParser }, { feedDocuments }, { DEFAULT_LIMITS }] = await Promise.all([
    import('./feed-detect.js'),
    import('../feeds/api.js'),
    import('../lib/archive.js'),
    import('./feed-types.js'),
  ]);
  const parser = feedParser(await detectFileFormat(file));
  const out: Advisory[] = [];
  for await (const doc of feedDocuments(createReadStream(file), file, DEFAULT_LIMITS))
    for await (const a of parser.parse(doc.bytes, { source: `file:${file}`, name: doc.name, release, warn })) out.push(a);
  return { advisories: out, parser: { id: parser.id, version: parser.version } };
}

interface ParserId {
  id: string;
  version: number;
}

/** What one read of a feed did: parsed it, or read the cache. */
export type FeedRead = 'parsed' | 'cached';

/**
 * The normalised advisories of a feed file (and its parse warnings, given to `warn` again on a
 * cache hit), from the cache in `dir` when an entry for these bytes is there and sound. With
 * `oval` false a hit leaves the OVAL criteria trees unread: its advisories have no `oval`.
 * @example await readFeedFile('azurelinux-3.0-oval.xml.xz', undefined, warn, feedCacheDir())
 */
export async function readFeedFile(
  file: string,
  release: string | undefined,
  warn: (w: FeedWarning) => void,
  dir: string | null,
  oval = true,
): Promise<{ advisories: Advisory[]; read: FeedRead }> {
  assertRegularFile(file);
  if (dir === null) return { advisories: (await parseFeed(file, release, warn)).advisories, read: 'parsed' };
  const key = sha256(JSON.stringify({ v: CACHE_VERSION, file: fileSha256(file), source: `file:${file}`, release, bulwark: VERSION }));
  const path = join(dir, `${key}.json`);
  const hit = readEntry(path, key, oval);
  if (hit !== null) {
    for (const w of hit.warnings) warn(w);
    return { advisories: hit.advisories, read: 'cached' };
  }
  const warnings: FeedWarning[] = [];
  const parsed = await parseFeed(file, release, (w) => {
    warnings.push(w);
    warn(w);
  });
  await writeEntry(dir, path, key, parsed.parser, parsed.advisories, warnings);
  return { advisories: parsed.advisories, read: 'parsed' };
}

function readEntry(path: string, key: string, oval: boolean): { advisories: Advisory[]; warnings: FeedWarning[] } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  try {
    const nl = bytes.indexOf(10);
    if (nl < 0) return null;
    const head = JSON.parse(bytes.toString('utf8', 0, nl)) as { format?: unknown; version?: unknown; key?: unknown; parser?: unknown; sha256?: unknown };
    const parser = head.parser as Partial<ParserId> | undefined;
    if (head.format !== FORMAT || head.version !== CACHE_VERSION || head.key !== key) return null;
    if (typeof parser?.id !== 'string' || !Object.hasOwn(FEED_PARSER_VERSIONS, parser.id) || FEED_PARSER_VERSIONS[parser.id] !== parser.version) return null;
    // The digest is over the bytes as written (UTF-8), so the body is decoded once, for JSON.parse.
    const body = bytes.subarray(nl + 1);
    if (head.sha256 !== sha256(body)) return null;
    const nl2 = body.indexOf(10);
    if (nl2 < 0) return null;
    const parsed = JSON.parse(body.toString('utf8', 0, nl2)) as { advisories?: unknown; warnings?: unknown };
    if (!Array.isArray(parsed.advisories) || !Array.isArray(parsed.warnings)) return null;
    const advisories = parsed.advisories as Advisory[];
    if (oval) {
      const trees = JSON.parse(body.toString('utf8', nl2 + 1)) as unknown;
      if (!Array.isArray(trees) || trees.length !== advisories.length) return null;
      trees.forEach((t, i) => {
        if (t !== null) (advisories[i] as Advisory).oval = t as OvalCriteria;
      });
    }
    return { advisories, warnings: parsed.warnings as FeedWarning[] };
  } catch {
    return null;
  }
}

function withoutOval(a: Advisory): Advisory {
  const rest = { ...a };
  delete rest.oval;
  return rest;
}

/** Written beside its name and renamed: a reader never sees half an entry. A cache that cannot be written is no error. */
async function writeEntry(
  dir: string,
  path: string,
  key: string,
  parser: ParserId,
  advisories: readonly Advisory[],
  warnings: readonly FeedWarning[],
): Promise<void> {
  // JSON text holds no raw newline: the advisories without their criteria trees, a newline, the trees.
  const body = `${JSON.stringify({ advisories: advisories.map(withoutOval), warnings })}\n${JSON.stringify(advisories.map((a) => a.oval ?? null))}`;
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, `${JSON.stringify({ format: FORMAT, version: CACHE_VERSION, key, parser, sha256: sha256(body) })}\n${body}`, { mode: 0o600 });
    await rename(tmp, path);
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}
