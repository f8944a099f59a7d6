import type { Advisory } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import { releaseFamily } from '../../distros/registry.js';
import { versionScheme } from '../../core/version/registry.js';
import { collectBytes } from '../../lib/decompress.js';
import type { FeedInput, FeedParser, ParseOptions } from '../types.js';
import { NativeAdvisory, NativeFeed } from './schema.js';
import { reportFixReleases } from '../identity.js';

export const id = 'native';
export const displayName = "Bulwark's normalised advisory JSON";
export const version = 1;

export interface SkippedRecord {
  /** Index in the `advisories` array, and the record's id when it has one. */
  index: number;
  id: string | null;
  reason: string;
}

export interface NativeParseResult {
  source: string;
  advisories: Advisory[];
  skipped: SkippedRecord[];
}

/** Rejects versions the release family's scheme cannot compare (an empty EVR, a bad deb version). */
function versionProblem(a: NativeAdvisory): string | null {
  for (const [i, f] of a.fixes.entries()) {
    const family = releaseFamily(f.release);
    if (family === null) return `fixes[${String(i)}]: unknown distribution in release "${f.release}"`;
    const scheme = versionScheme(family);
    for (const v of [f.fixed, f.lastAffected, f.introduced?.version ?? null]) {
      if (v === null) continue;
      const why = scheme.check(v);
      if (why !== null) return `fixes[${String(i)}]: version "${v}": ${why}`;
    }
  }
  return null;
}

/**
 * Parses a native feed document. The envelope must be valid (else an error naming the file);
 * a bad advisory record is skipped and reported with its index and reason, as feeds are parsed
 * leniently (DESIGN.md conventions).
 *
 * @example parseNativeFeed(readFileSync('examples/demo/advisories.json', 'utf8'), 'advisories.json')
 */
export function parseNativeFeed(text: string, file = '<input>'): NativeParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${file}: not JSON: ${(err as Error).message}`, { file });
  }
  const env = NativeFeed.safeParse(doc);
  if (!env.success) {
    const issue = env.error.issues[0];
    throw new BulwarkError('input.invalid', `${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, { file });
  }
  const advisories: Advisory[] = [];
  const skipped: SkippedRecord[] = [];
  env.data.advisories.forEach((raw, index) => {
    const recId = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
    const r = NativeAdvisory.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      skipped.push({ index, id: recId, reason: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` });
      return;
    }
    const why = versionProblem(r.data);
    if (why !== null) {
      skipped.push({ index, id: recId, reason: why });
      return;
    }
    const { cvssV4, ...rest } = r.data;
    advisories.push({ source: env.data.source, ...rest, ...(cvssV4 === undefined ? {} : { cvssV4 }) });
  });
  return { source: env.data.source, advisories, skipped };
}

/** The native format behind the common parser contract (the document's own `source` is replaced by the configured one). */
export const nativeParser: FeedParser = {
  id,
  displayName,
  version,
  specs: ['src/feeds/native/schema.ts'],
  async *parse(input: FeedInput, opts: ParseOptions): AsyncGenerator<Advisory> {
    const bytes = await collectBytes(input, opts.name, 256 * 1024 * 1024);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new BulwarkError('input.invalid', `${opts.name}: not valid UTF-8`, { file: opts.name });
    }
    const parsed = parseNativeFeed(text, opts.name);
    for (const s of parsed.skipped) opts.warn({ record: s.id, message: `advisories[${String(s.index)}]: ${s.reason}` });
    for (const a of parsed.advisories) {
      reportFixReleases(a, opts.identity, 'its fixes');
      yield { ...a, source: opts.source };
    }
  },
};
