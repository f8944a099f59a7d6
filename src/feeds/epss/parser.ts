import { BulwarkError } from '../../core/errors.js';
import type { FeedInput } from '../types.js';
import { CVE_ID, type EpssHeader, type EpssScore, type SignalParseOptions, type SignalParser, type SignalRecord } from '../signal-types.js';

export const id = 'epss';
export const displayName = 'FIRST EPSS daily scores (CSV)';
export const version = 1;
/** A real row is about 30 bytes; a line this long is not EPSS. */
const MAX_LINE = 4096;
/** The real file has about 300,000 rows; ten times that is not FIRST's. */
const MAX_ROWS = 5_000_000;
const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * `#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000` (FIRST's files since model
 * v2022.01.01 start with this line); the score date as YYYY-MM-DD.
 */
export function parseEpssComment(line: string): EpssHeader | null {
  const fields = new Map<string, string>();
  for (const part of line.replace(/^#/, '').split(',')) {
    const i = part.indexOf(':');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const model = fields.get('model_version');
  const date = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(fields.get('score_date') ?? '')?.[1];
  if (model === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(model) || date === undefined) return null;
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== date) return null;
  return { modelVersion: model, scoreDate: date };
}

/**
 * Parses FIRST's EPSS CSV (https://www.first.org/epss/data_stats): the comment line with the
 * model version and score date, the header `cve,epss,percentile`, then one row per CVE. Streams
 * chunk by chunk (300,000 rows never sit in memory as text) and yields the scores of each chunk
 * as one batch (a yield per row costs more than the parsing). The comment and header must be
 * there (else an error naming the line); a bad row is skipped with a warning naming its line; a
 * NUL character, bytes that are not UTF-8 or an overlong line refuse the file. Yields the header
 * first, then batches of scores.
 *
 * @example for await (const r of parseEpss(decompressed, { name: 'epss_scores-2026-12-01.csv.gz', warn })) …
 */
export async function* parseEpss(input: FeedInput, opts: SignalParseOptions): AsyncGenerator<SignalRecord> {
  const name = opts.name;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // Set inside take(): declared so that the checks after the loop are not narrowed away.
  let header = null as EpssHeader | null;
  let columns = false as boolean;
  let rows = 0;
  let n = 0;
  let rest = '';
  const seen = new Set<string>();
  // Lines of `text` (after what was left of the last chunk); the last partial line waits for more.
  const take = (text: string, final: boolean): SignalRecord[] => {
    const out: SignalRecord[] = [];
    let scores: EpssScore[] = [];
    const all = rest + text;
    // Found once per chunk, not looked for in every line.
    const nul = all.indexOf('\u0000');
    let start = 0;
    for (;;) {
      const i = all.indexOf('\n', start);
      if (i === -1 && !(final && start < all.length)) break;
      let end = i === -1 ? all.length : i;
      const from = start;
      start = end + 1;
      if (all.charCodeAt(end - 1) === 13) end--;
      n++;
      // The place named in messages, only when one is written.
      const where = (): string => `${name}: line ${String(n)}`;
      if (nul >= from && nul < end) throw new BulwarkError('input.invalid', `${where()}: contains a NUL character; refused`, { file: name, line: n });
      if (end - from > MAX_LINE)
        throw new BulwarkError('input.invalid', `${where()}: longer than ${String(MAX_LINE)} characters; not an EPSS file`, { file: name, line: n });
      if (header === null || !columns) {
        const line = all.slice(from, end);
        if (header === null) {
          const h = line.startsWith('#') ? parseEpssComment(line) : null;
          if (h === null)
            throw new BulwarkError(
              'input.invalid',
              `${where()}: not an EPSS file: expected "#model_version:…,score_date:YYYY-MM-DD…", found "${line.slice(0, 60)}"`,
              { file: name, line: n },
            );
          header = h;
          out.push({ kind: 'epss-header', header: h });
          continue;
        }
        if (line.trim().toLowerCase() !== 'cve,epss,percentile')
          throw new BulwarkError('input.invalid', `${where()}: expected the header "cve,epss,percentile", found "${line.slice(0, 60)}"`, {
            file: name,
            line: n,
          });
        columns = true;
        continue;
      }
      if (end === from) continue;
      // The three fields by their commas, without splitting the line into an array.
      const c1 = all.indexOf(',', from);
      const c2 = c1 === -1 || c1 >= end ? -1 : all.indexOf(',', c1 + 1);
      if (c1 === -1 || c1 >= end || c2 === -1 || c2 >= end || all.lastIndexOf(',', end - 1) !== c2) {
        const fields = all.slice(from, end).split(',').length;
        opts.warn({ record: null, message: `${where()}: ${String(fields)} fields, not 3; skipped` });
        continue;
      }
      const cve = all.slice(from, c1);
      if (!CVE_ID.test(cve)) {
        opts.warn({ record: null, message: `${where()}: "${cve.slice(0, 40)}" is not a CVE id; skipped` });
        continue;
      }
      const e = all.slice(c1 + 1, c2);
      const p = all.slice(c2 + 1, end);
      const epss = NUMBER.test(e) ? Number(e) : NaN;
      const percentile = NUMBER.test(p) ? Number(p) : NaN;
      if (!(epss >= 0 && epss <= 1) || !(percentile >= 0 && percentile <= 1)) {
        opts.warn({ record: cve, message: `${where()}: epss "${e.slice(0, 20)}" and percentile "${p.slice(0, 20)}" must be numbers from 0 to 1; skipped` });
        continue;
      }
      if (seen.has(cve)) {
        opts.warn({ record: cve, message: `${where()}: ${cve} is scored again; the first row is kept` });
        continue;
      }
      seen.add(cve);
      if (++rows > MAX_ROWS)
        throw new BulwarkError('input.invalid', `${where()}: more than ${String(MAX_ROWS)} rows; not an EPSS file`, { file: name, line: n });
      scores.push({ cve, epss, percentile });
      if (scores.length >= 10_000) {
        out.push({ kind: 'epss', scores });
        scores = [];
      }
    }
    rest = all.slice(start);
    if (rest.length > MAX_LINE)
      throw new BulwarkError('input.invalid', `${name}: line ${String(n + 1)}: longer than ${String(MAX_LINE)} characters; not an EPSS file`, {
        file: name,
        line: n + 1,
      });
    if (scores.length > 0) out.push({ kind: 'epss', scores });
    return out;
  };
  const decode = (c?: Uint8Array): string => {
    try {
      return c === undefined ? decoder.decode() : decoder.decode(c, { stream: true });
    } catch {
      throw new BulwarkError('input.invalid', `${name}: line ${String(n + 1)}: not valid UTF-8`, { file: name, line: n + 1 });
    }
  };
  for await (const c of input) for (const r of take(decode(c), false)) yield r;
  for (const r of take(decode(), true)) yield r;
  if (header === null) throw new BulwarkError('input.invalid', `${name}: empty; not an EPSS file`, { file: name });
  if (!columns) throw new BulwarkError('input.invalid', `${name}: no "cve,epss,percentile" header after the comment line`, { file: name });
}

export const epssParser: SignalParser = {
  id,
  displayName,
  version,
  signal: 'epss',
  specs: ['https://www.first.org/epss/data_stats', 'https://www.first.org/epss/model'],
  parse: parseEpss,
};
