import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { BulwarkError } from '../core/errors.js';
import { blockedAddress } from './address.js';
import { feedAllowFromEnv, type FeedAllow } from './feed-allow.js';
import { FeedLocation } from './location.js';

/**
 * Downloads for feed sync: conditional GET (If-None-Match / If-Modified-Since, RFC 9110
 * §13.1), a time limit for the whole transfer and one for silence, and a size cap, into a file
 * (feeds are parsed from disk so that a zip can be read and a failed parse is retried without
 * downloading again). Only http and https.
 *
 * Only public addresses are reached (issue #20, item 2): every address a name resolves to is
 * checked when the connection is made (a lookup of our own given to node:http, so what is checked
 * is what is connected to: no second resolution to rebind), and again on every redirect, which
 * is followed here, hop by hop, never from https to http. The one exception is the address the
 * location itself names literally (`http://10.0.0.5:8080/…`, `http://127.0.0.1:…`): the operator
 * chose it, with the CLI — the API refuses such locations (apiFeedLocation) — and only that
 * address and port are let through, not where it redirects to. Names and blocks the operator
 * allows in BULWARK_FEED_ALLOW (lib/feed-allow.ts) are let through on any hop, still judged by the
 * addresses they resolve to as the socket opens. A connection that fails, is
 * refused, or would reach an address that is not public gets one neutral message, so that a
 * sync's error does not tell which ports or names exist inside the network.
 */
export interface DownloadOptions {
  etag?: string | null;
  lastModified?: string | null;
  /** Whole transfer (default 10 minutes). */
  timeoutMs?: number;
  /** Longest wait for the next bytes (default 60 s). */
  idleTimeoutMs?: number;
  maxBytes: number;
  userAgent?: string;
  /**
   * `public` (default): only public addresses, as above. `any`: no address check, for URLs only
   * an operator configures with the CLI and never through the API (repository mirrors, often
   * inside the network by name); redirects still never go from https to http.
   */
  reach?: 'public' | 'any';
  /**
   * With `public`: the operator's allow-list of own-network mirrors (lib/feed-allow.ts); by
   * default the one in `BULWARK_FEED_ALLOW`. Each hop is judged by its own name and addresses.
   */
  allow?: FeedAllow;
  /**
   * Whether the address the location names literally is let through as the operator's choice
   * (default true); false for locations an admin token chose through the API.
   */
  literalIsChosen?: boolean;
  /** How names are resolved (default node:dns lookup); tests give names of their own. */
  lookup?: typeof dnsLookup;
}

export type DownloadResult =
  { status: 'not-modified' } | { status: 'ok'; file: string; bytes: number; sha256: string; etag: string | null; lastModified: string | null };

/** Redirects followed at most (curl's and browsers' limits are higher; feeds use one or two). */
export const MAX_REDIRECTS = 5;

/** Thrown by the lookup when a name resolves to an address that is not public. */
class NotPublic extends Error {}

/**
 * @example const r = await download(new FeedLocation('https://…/azurelinux-3.0-oval.xml'), '/tmp/x', { etag: prev.etag, maxBytes: 1 << 30 })
 */
export async function download(where: FeedLocation | string, file: string, opts: DownloadOptions): Promise<DownloadResult> {
  // Messages name the location redacted (its toString); only the request is given the real one.
  const location = typeof where === 'string' ? new FeedLocation(where) : where;
  const url = String(location);
  let u = new URL(location.reveal());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BulwarkError('input.invalid', `${url}: only http and https URLs can be downloaded`, { url });
  const chosen = opts.literalIsChosen === false ? null : literalEndpoint(u);
  const reach: Reach = opts.reach === 'any' ? 'any' : { chosen, allow: opts.allow ?? feedAllowFromEnv(), lookup: opts.lookup ?? dnsLookup };
  const headers: Record<string, string> = { 'user-agent': opts.userAgent ?? 'bulwark' };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;
  const ctl = new AbortController();
  const total = setTimeout(() => {
    ctl.abort(new Error(`no complete answer within ${String(opts.timeoutMs ?? 600_000)} ms`));
  }, opts.timeoutMs ?? 600_000);
  let idle: NodeJS.Timeout | undefined;
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      ctl.abort(new Error(`no data for ${String(idleMs)} ms`));
    }, idleMs);
  };
  const why = (err: unknown): string => {
    const reason: unknown = ctl.signal.aborted ? ctl.signal.reason : err;
    const e = reason instanceof Error ? reason : new Error('request failed');
    const cause = (e as { cause?: unknown }).cause;
    return location.scrub(cause instanceof Error ? `${e.message} (${cause.message})` : e.message);
  };
  let res: IncomingMessage | undefined;
  try {
    touch();
    for (let hop = 0; ; hop++) {
      try {
        res = await get(u, headers, ctl.signal, reach);
      } catch (err) {
        // A time limit is the operator's to know; everything else before an answer is one message.
        if (ctl.signal.aborted) throw new BulwarkError('input.invalid', `${url}: ${why(err)}`, { url }, { cause: err });
        throw new BulwarkError(
          'input.invalid',
          `${url}: cannot connect (the host is not reachable, refused the connection, or is not at a public address)`,
          { url },
          { cause: err },
        );
      }
      const status = res.statusCode ?? 0;
      if (![301, 302, 303, 307, 308].includes(status)) break;
      res.resume();
      const target = res.headers.location;
      if (target === undefined) throw new BulwarkError('input.invalid', `${url}: HTTP ${String(status)} without a Location`, { url, status });
      if (hop >= MAX_REDIRECTS) throw new BulwarkError('input.invalid', `${url}: more than ${String(MAX_REDIRECTS)} redirects`, { url });
      const next = redirectTarget(u, target);
      if (typeof next === 'string') throw new BulwarkError('input.invalid', `${url}: ${next}`, { url });
      u = next;
    }
    const status = res.statusCode ?? 0;
    if (status === 304) {
      res.resume();
      return { status: 'not-modified' };
    }
    if (status < 200 || status > 299) {
      res.resume();
      throw new BulwarkError('input.invalid', `${url}: HTTP ${String(status)} ${res.statusMessage ?? ''}`.trimEnd(), { url, status });
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBytes)
      throw new BulwarkError('input.invalid', `${url}: ${String(declared)} bytes is more than the limit of ${String(opts.maxBytes)}`, { url });
    const hash = createHash('sha256');
    let bytes = 0;
    const body = res;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        touch();
        bytes += chunk.length;
        if (bytes > opts.maxBytes) throw new BulwarkError('input.invalid', `${url}: more than the limit of ${String(opts.maxBytes)} bytes`, { url });
        hash.update(chunk);
        yield chunk;
      }
    }
    try {
      await pipeline(counted, createWriteStream(file));
    } catch (err) {
      await rm(file, { force: true });
      if (err instanceof BulwarkError) throw err;
      throw new BulwarkError('input.invalid', `${url}: download failed: ${why(err)}`, { url }, { cause: err });
    }
    return { status: 'ok', file, bytes, sha256: hash.digest('hex'), etag: header(res, 'etag'), lastModified: header(res, 'last-modified') };
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
    res?.destroy();
  }
}

/**
 * Where a redirect from `from` to `location` (a Location header, maybe relative) goes, or why
 * it is not followed: only http and https, and never from https down to http (the feed's bytes
 * and the access key in its URL would then cross the network in the clear).
 * @example redirectTarget(new URL('https://a.example/x'), 'http://b.example/y') // 'redirected from https to http, which is not followed'
 */
export function redirectTarget(from: URL, location: string): URL | string {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    return 'redirected to a location that is not a URL';
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') return `redirected to a ${next.protocol} URL; only http and https are followed`;
  if (from.protocol === 'https:' && next.protocol === 'http:') return 'redirected from https to http, which is not followed';
  return next;
}

function header(res: IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return typeof v === 'string' ? v : null;
}

/** `address|port` of a location whose host is an IP address literal, else null. */
function literalEndpoint(u: URL): string | null {
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) === 0 ? null : `${host}|${port(u)}`;
}

function port(u: URL): string {
  return u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
}

/** What a hop may connect to: anything, or public addresses plus the operator's choices. */
type Reach = 'any' | { chosen: string | null; allow: FeedAllow; lookup: typeof dnsLookup };

/**
 * One GET, its answer's head. With a Reach other than `any`, an address is let through when it is
 * public, is the one `address|port` the location names literally, or the allow-list permits it
 * for this hop's host name; the host's addresses are checked by our lookup as the socket is
 * opened (node:http skips lookup for address literals: those are checked here first).
 */
function get(u: URL, headers: Record<string, string>, signal: AbortSignal, reach: Reach): Promise<IncomingMessage> {
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const allowed = (address: string): boolean =>
    reach === 'any' || blockedAddress(address) === null || `${address}|${port(u)}` === reach.chosen || reach.allow.permits(u.hostname, address);
  if (isIP(host) !== 0 && !allowed(host)) return Promise.reject(new NotPublic(`${host} is not a public address`));
  const resolve = reach === 'any' ? dnsLookup : reach.lookup;
  const lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) {
        callback(err, []);
        return;
      }
      // Every address must be allowed: the socket may try any of them (happy eyeballs).
      const bad = addresses.find((a) => !allowed(a.address));
      if (bad !== undefined || addresses.length === 0) {
        callback(new NotPublic(`${hostname} resolves to ${bad?.address ?? 'nothing'}, which is not a public address`), []);
        return;
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
    });
  };
  return new Promise((resolve, reject) => {
    // agent: false: a fresh connection per request, so no pooled socket skips the lookup.
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { headers, signal, lookup, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
