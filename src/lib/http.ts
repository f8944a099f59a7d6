import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BulwarkError } from '../core/errors.js';
import { FeedLocation } from './location.js';

/**
 * Downloads for feed sync: conditional GET (If-None-Match / If-Modified-Since, RFC 9110
 * §13.1), a time limit for the whole transfer and one for silence, and a size cap, into a file
 * (feeds are parsed from disk so that a zip can be read and a failed parse is retried without
 * downloading again). Only http and https.
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
}

export type DownloadResult =
  | { status: 'not-modified' }
  | { status: 'ok'; file: string; bytes: number; sha256: string; etag: string | null; lastModified: string | null };

/**
 * @example const r = await download(new FeedLocation('https://…/azurelinux-3.0-oval.xml'), '/tmp/x', { etag: prev.etag, maxBytes: 1 << 30 })
 */
export async function download(where: FeedLocation | string, file: string, opts: DownloadOptions): Promise<DownloadResult> {
  // Messages name the location redacted (its toString); only fetch is given the real one.
  const location = typeof where === 'string' ? new FeedLocation(where) : where;
  const url = String(location);
  const u = new URL(location.reveal());
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BulwarkError('input.invalid', `${url}: only http and https URLs can be downloaded`, { url });
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
  try {
    touch();
    let res: Response;
    try {
      res = await fetch(u, { headers, signal: ctl.signal, redirect: 'follow' });
    } catch (err) {
      throw new BulwarkError('input.invalid', `${url}: ${why(err)}`, { url }, { cause: err });
    }
    if (res.status === 304) return { status: 'not-modified' };
    if (!res.ok || res.body === null) throw new BulwarkError('input.invalid', `${url}: HTTP ${String(res.status)} ${res.statusText}`, { url, status: res.status });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBytes) throw new BulwarkError('input.invalid', `${url}: ${String(declared)} bytes is more than the limit of ${String(opts.maxBytes)}`, { url });
    const hash = createHash('sha256');
    let bytes = 0;
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
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
    return { status: 'ok', file, bytes, sha256: hash.digest('hex'), etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified') };
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
  }
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
