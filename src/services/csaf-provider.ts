import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { BulwarkError } from '../core/errors.js';
import type { FeedWarning } from '../feeds/types.js';
import { download, type DownloadOptions } from '../lib/http.js';
import { FeedLocation } from '../lib/location.js';

/**
 * A CSAF provider's documents, found as CSAF 2.0 says (§7.1.20 `provider-metadata.json`, its
 * directory distributions §7.1.14, each with `changes.csv` §7.1.16: one `"path","timestamp"`
 * line per document, newest first). Microsoft's (msrc.microsoft.com/csaf) has been seen writing
 * timestamps with no time zone, and its CDN answering 200 with an empty body: both are the
 * feed's problems, reported as warnings; an empty document is refused and the rest kept.
 *
 * A sync fetches only the documents changed since the last one (the newest timestamp it
 * stored); every document changes.csv still lists is kept, so an unchanged document is never
 * withdrawn, and one the provider no longer lists is.
 */

export interface ChangeLine {
  path: string;
  /** ISO 8601, UTC. */
  at: string;
}

export interface ProviderFetch {
  /** A tar of the fetched documents, or null when nothing changed since `since`. */
  file: string | null;
  fetched: number;
  listed: number;
  /** Advisory ids (CVE ids) of every listed document: none of them is withdrawn. */
  keep: Set<string>;
  /** The newest timestamp read and stored, or the one before the first document that failed. */
  cursor: string | null;
  warnings: FeedWarning[];
}

const MAX_METADATA = 1 << 20;
const MAX_CHANGES = 64 << 20;
/** A relative document path: no scheme, no `..`, no empty or dot segments, a `.json` name. */
const SAFE_PATH = /^(?:[A-Za-z0-9_+-][A-Za-z0-9._+-]*\/)*[A-Za-z0-9_+-][A-Za-z0-9._+-]*\.json$/;

/**
 * The directory distribution to read from a provider's metadata: the one whose last path
 * segment is `vex` (a provider of both advisories and VEX states the same CVE in both), else the first.
 * @example directoryOf('{"distributions":[{"directory_url":"https://msrc.microsoft.com/csaf/vex/"}]}', 'm') // 'https://msrc.microsoft.com/csaf/vex/'
 */
export function directoryOf(text: string, name: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${name}: the provider metadata is not JSON (${(err as Error).message})`, { file: name });
  }
  const dists = (raw as { distributions?: unknown } | null)?.distributions;
  const urls = (Array.isArray(dists) ? dists : []).flatMap((d) => {
    const u = (d as { directory_url?: unknown } | null)?.directory_url;
    return typeof u === 'string' && /^https?:\/\//.test(u) ? [u.endsWith('/') ? u : `${u}/`] : [];
  });
  const url = urls.find((u) => /\/vex\/$/i.test(u)) ?? urls[0];
  if (url === undefined)
    throw new BulwarkError(
      'input.invalid',
      `${name}: the provider metadata names no directory distribution (distributions[].directory_url); ROLIE-only providers are not read`,
      {
        file: name,
      },
    );
  return url;
}

/**
 * Reads changes.csv: `"2025/msrc_cve-2025-21298.json","2025-01-14T08:00:00"` (quotes optional).
 * A timestamp without a zone is read as UTC and counted; an unsafe path or unreadable line is skipped and counted.
 * @example parseChanges('"2025/a.json","2025-01-14 08:00:00"\n').lines[0]?.at // '2025-01-14T08:00:00.000Z'
 */
export function parseChanges(text: string): { lines: ChangeLine[]; zoneless: number; bad: string[] } {
  const lines: ChangeLine[] = [];
  const bad: string[] = [];
  let zoneless = 0;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^"?([^",]+)"?\s*,\s*"?([^",]+)"?$/.exec(line);
    const path = m?.[1]?.trim().replace(/^\/+/, '');
    const ts = m?.[2]?.trim();
    if (path === undefined || ts === undefined || !SAFE_PATH.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
      bad.push(`changes.csv line ${String(i + 1)}: "${line.slice(0, 120)}" is not a document path and timestamp`);
      continue;
    }
    const t = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(ts);
    if (t === null) {
      bad.push(`changes.csv line ${String(i + 1)}: timestamp "${ts.slice(0, 40)}" is not ISO 8601`);
      continue;
    }
    if (t[3] === undefined) zoneless++;
    const ms = Date.parse(`${t[1] ?? ''}T${t[2] ?? ''}${t[3] ?? 'Z'}`);
    if (Number.isNaN(ms)) {
      bad.push(`changes.csv line ${String(i + 1)}: timestamp "${ts.slice(0, 40)}" is not a date`);
      continue;
    }
    lines.push({ path, at: new Date(ms).toISOString() });
  }
  return { lines, zoneless, bad };
}

/** The advisory id a CSAF VEX document's file name stands for (CSAF §5.1: the lower-cased tracking id): its CVE. */
export function cveOfPath(path: string): string | null {
  const m = /cve-(\d{4})-(\d{4,})/i.exec(path.split('/').pop() ?? '');
  return m === null ? null : `CVE-${m[1] ?? ''}-${m[2] ?? ''}`;
}

/**
 * Fetches what changed at a CSAF provider since `since` into one tar in `workDir`.
 * @example const r = await fetchCsafProvider(location, dir, state.summary.csafCursor ?? null, opts)
 */
export async function fetchCsafProvider(
  metadata: FeedLocation,
  workDir: string,
  since: string | null,
  opts: Omit<DownloadOptions, 'etag' | 'lastModified' | 'maxBytes'> & { maxDocumentBytes: number },
): Promise<ProviderFetch> {
  const get = async (url: string, file: string, maxBytes: number): Promise<string> => {
    const r = await download(new FeedLocation(url), file, { ...opts, maxBytes });
    if (r.status !== 'ok') throw new BulwarkError('input.invalid', `${url}: no answer`);
    return r.file;
  };
  const name = String(metadata);
  const meta = await readFile(await get(metadata.reveal(), join(workDir, 'provider-metadata.json'), MAX_METADATA), 'utf8');
  const dir = directoryOf(meta, name);
  const changes = await readFile(await get(new URL('changes.csv', dir).toString(), join(workDir, 'changes.csv'), MAX_CHANGES), 'utf8');
  const parsed = parseChanges(changes);
  const warnings: FeedWarning[] = parsed.bad.map((message) => ({ record: null, message: `${dir}${message}` }));
  if (parsed.zoneless > 0)
    warnings.push({
      record: null,
      message: `${dir}changes.csv: ${String(parsed.zoneless)} timestamps carry no time zone (CSAF 2.0 §7.1.16 asks for ISO 8601 with one); read as UTC`,
    });
  if (parsed.lines.length === 0) throw new BulwarkError('input.invalid', `${dir}changes.csv lists no document; nothing was stored`);
  const keep = new Set(parsed.lines.flatMap((l) => cveOfPath(l.path) ?? []));
  // Oldest first: a failure stops the cursor before it, so the next sync fetches it again.
  const due = parsed.lines.filter((l) => since === null || l.at > since).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const newest = parsed.lines.reduce<string | null>((m, l) => (m === null || l.at > m ? l.at : m), null);
  if (due.length === 0) return { file: null, fetched: 0, listed: parsed.lines.length, keep, cursor: since ?? newest, warnings };
  const docs = join(workDir, 'documents');
  await mkdir(docs, { recursive: true });
  const ok: { path: string; file: string; size: number }[] = [];
  let firstFailed: string | null = null;
  for (const [i, l] of due.entries()) {
    const url = new URL(l.path, dir).toString();
    const why = await (async (): Promise<string | null> => {
      try {
        const file = await get(url, join(docs, `${String(i)}.json`), opts.maxDocumentBytes);
        const size = (await stat(file)).size;
        // An empty 200 (seen from Microsoft's CDN) is not a document: refused, the rest kept.
        if (size === 0 || (size < 64 && (await readFile(file, 'utf8')).trim() === '')) return 'the server answered with an empty body';
        ok.push({ path: l.path, file, size });
        return null;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    })();
    if (why !== null) {
      firstFailed ??= l.at;
      warnings.push({ record: cveOfPath(l.path), message: `${url}: ${why}; not read (the stored copy is kept; fetched again next sync)` });
    }
  }
  if (ok.length === 0)
    throw new BulwarkError(
      'input.invalid',
      `${dir}: none of the ${String(due.length)} changed documents could be read (${warnings.at(-1)?.message ?? ''}); nothing was stored`,
    );
  const tar = join(workDir, 'documents.tar');
  const p = pack();
  const written = pipeline(p, createWriteStream(tar));
  for (const d of ok) {
    const entry = p.entry({ name: d.path, size: d.size });
    await pipeline(createReadStream(d.file), entry);
  }
  p.finalize();
  await written;
  const cursor = firstFailed === null ? newest : new Date(Date.parse(firstFailed) - 1).toISOString();
  return {
    file: tar,
    fetched: ok.length,
    listed: parsed.lines.length,
    keep,
    cursor: since !== null && cursor !== null && cursor < since ? since : cursor,
    warnings,
  };
}
