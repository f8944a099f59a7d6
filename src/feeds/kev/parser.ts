import { BulwarkError } from '../../core/errors.js';
import { collectBytes } from '../../lib/decompress.js';
import { normaliseDate } from '../dates.js';
import type { FeedInput } from '../types.js';
import type { SignalParseOptions, SignalParser, SignalRecord } from '../signal-types.js';
import { KevEnvelope, KevVulnerability } from './schema.js';

export const id = 'kev';
export const displayName = 'CISA Known Exploited Vulnerabilities (JSON catalog)';
export const version = 1;
/** The real catalog is about 1.5 MB; one a hundred times larger is not CISA's. */
const MAX_DOCUMENT = 128 * 1024 * 1024;

/** A real calendar date (2026-02-30 is refused). */
function realDate(d: string): boolean {
  const t = new Date(`${d}T00:00:00Z`);
  return !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === d;
}

/**
 * Parses CISA's KEV catalog: the envelope must match the published schema (else an error naming
 * the file and the field); an entry that does not is skipped with a warning naming its index and
 * CVE id; a NUL character anywhere is refused as hostile. Yields the catalog header first, then
 * one record per entry (a repeated CVE keeps its first entry, with a warning).
 *
 * @example for await (const r of parseKev(createReadStream('known_exploited_vulnerabilities.json'), { name, warn })) …
 */
export async function* parseKev(input: FeedInput, opts: SignalParseOptions): AsyncGenerator<SignalRecord> {
  const bytes = await collectBytes(input, opts.name, MAX_DOCUMENT);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BulwarkError('input.invalid', `${opts.name}: not a KEV catalog (not valid UTF-8)`, { file: opts.name });
  }
  // JSON may carry U+0000 escaped; no KEV field has a reason to.
  if (text.includes('\u0000') || /\\u0000/i.test(text))
    throw new BulwarkError('input.invalid', `${opts.name}: contains a NUL character; refused`, { file: opts.name });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${opts.name}: not JSON (${(err as Error).message})`, { file: opts.name });
  }
  const env = KevEnvelope.safeParse(doc);
  if (!env.success) {
    const issue = env.error.issues[0];
    throw new BulwarkError('input.invalid', `${opts.name}: not a KEV catalog: ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}`, {
      file: opts.name,
    });
  }
  const released = normaliseDate(env.data.dateReleased);
  if (released === null)
    throw new BulwarkError('input.invalid', `${opts.name}: dateReleased "${env.data.dateReleased.slice(0, 40)}" is not a date`, { file: opts.name });
  yield { kind: 'kev-catalog', catalog: { title: env.data.title, catalogVersion: env.data.catalogVersion, dateReleased: released, count: env.data.count } };
  const seen = new Set<string>();
  for (const [i, raw] of env.data.vulnerabilities.entries()) {
    const cve =
      typeof raw === 'object' && raw !== null && typeof (raw as { cveID?: unknown }).cveID === 'string' ? (raw as { cveID: string }).cveID.slice(0, 40) : null;
    const r = KevVulnerability.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      opts.warn({
        record: cve,
        message: `${opts.name}: vulnerabilities[${String(i)}]: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}; skipped`,
      });
      continue;
    }
    const v = r.data;
    const bad = [v.dateAdded, v.dueDate].find((d) => !realDate(d));
    if (bad !== undefined) {
      opts.warn({ record: v.cveID, message: `${opts.name}: vulnerabilities[${String(i)}]: "${bad}" is not a calendar date; skipped` });
      continue;
    }
    if (seen.has(v.cveID)) {
      opts.warn({ record: v.cveID, message: `${opts.name}: vulnerabilities[${String(i)}]: ${v.cveID} is listed again; the first entry is kept` });
      continue;
    }
    seen.add(v.cveID);
    yield {
      kind: 'kev',
      entry: {
        cve: v.cveID,
        vendorProject: v.vendorProject,
        product: v.product,
        vulnerabilityName: v.vulnerabilityName,
        dateAdded: v.dateAdded,
        shortDescription: v.shortDescription,
        requiredAction: v.requiredAction,
        dueDate: v.dueDate,
        ransomware: v.knownRansomwareCampaignUse === 'Known',
        notes: v.notes ?? '',
        cwes: v.cwes ?? [],
      },
    };
  }
  if (env.data.count !== env.data.vulnerabilities.length)
    opts.warn({
      record: null,
      message: `${opts.name}: count says ${String(env.data.count)} but the catalog lists ${String(env.data.vulnerabilities.length)} entries`,
    });
}

export const kevParser: SignalParser = {
  id,
  displayName,
  version,
  signal: 'kev',
  specs: [
    'https://www.cisa.gov/known-exploited-vulnerabilities-catalog',
    'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities_schema.json',
  ],
  parse: parseKev,
};
