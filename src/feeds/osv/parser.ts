import type { Advisory, Fix, Reference, Severity } from '../../core/advisory.js';
import { cvss3BaseScore, cvssRating } from '../../core/cvss.js';
import { cvss4FromFeed } from '../../core/cvss4.js';
import { BulwarkError } from '../../core/errors.js';
import { osvEcosystemRelease, osvPriorityKeys, releaseFamily, severityWords } from '../../distros/registry.js';
import { CVSS_RATINGS, mergeVocabularies, severityFromWord } from '../../core/severity.js';
import { versionScheme } from '../../core/version/registry.js';
import { collectBytes } from '../../lib/decompress.js';
import { normaliseDate } from '../dates.js';
import type { FeedInput, FeedParser, ParseOptions } from '../types.js';
import { OsvAffected, OsvEvent, OsvRange, OsvRecord } from './schema.js';
import { reportFixReleases } from '../identity.js';

/**
 * OSV records of the Linux distribution ecosystems: AlmaLinux, Rocky Linux, Red Hat (binary
 * package names, rpm EVRs), Ubuntu and Debian (source package names, Debian versions).
 * One record per document (a dump's members are documents); a JSON array of records is
 * accepted too.
 */
export const id = 'osv';
export const displayName = 'OSV (AlmaLinux, Rocky Linux, Red Hat, Ubuntu, Debian)';
export const version = 3;
const PARSER = `${id}@${String(version)}`;
const MAX_DOCUMENT = 256 * 1024 * 1024;
const CVE = /^CVE-\d{4}-\d{4,}$/;
/**
 * A database's own record of one CVE, named after it (`UBUNTU-CVE-2024-6387`, `DEBIAN-CVE-…`):
 * Ubuntu's USN records name their CVEs only this way, in `upstream`.
 */
const CVE_RECORD = /^[A-Z][A-Z0-9]*-(CVE-\d{4}-\d{4,})$/;

interface Ecosystem {
  release: string;
  packageKind: Fix['packageKind'];
  /** A subscription channel the ecosystem's fixes ship only in. */
  channel?: string;
}

/**
 * An OSV ecosystem as a release (https://ossf.github.io/osv-schema/#affectedpackage-field,
 * "Defined ecosystems"), or a reason it is not matched.
 * @example ecosystemRelease('Ubuntu:22.04:LTS') // { release: 'ubuntu:22.04', packageKind: 'source' }
 */
export function ecosystemRelease(ecosystem: string, purl: string | null = null): Ecosystem | string {
  // Each publisher's ecosystem names are in its descriptor (src/distros/<id>/ `osv`).
  return osvEcosystemRelease(ecosystem, purl);
}

/**
 * The module stream a RHEL-family advisory is about, as its summary names it ("Important:
 * nodejs:20 security update", "Moderate: ruby:3.3 security, bug fix, and enhancement update"),
 * for its modular builds (`.module_el8…`, `.module+el9…`): AlmaLinux's and Rocky's OSV records
 * carry no module field. Null when the summary names none.
 * @example moduleOfSummary('Important: nodejs:20 security update') // 'nodejs:20'
 */
export function moduleOfSummary(summary: string | undefined): string | null {
  const m = /(?:^|\s)([A-Za-z0-9][A-Za-z0-9_.+-]*):([A-Za-z0-9][A-Za-z0-9_.+-]*)\s+(?:security|bug fix|enhancement)\b/i.exec(summary ?? '');
  return m?.[1] === undefined || m[2] === undefined ? null : `${m[1]}:${m[2]}`;
}

/** A modular build's release (`1.module_el8.10.0+4165+3f200bda`, `2.module+el9.4.0+20787+4c237fd3`). */
const MODULAR = /\.module[_+]el\d/;

/** CVSS's words and those of the publishers that write OSV records (src/distros/). */
export const SEVERITY_WORDS = mergeVocabularies(CVSS_RATINGS, severityWords(id));

/** Some publishers put their rating in the summary: "Important: openssh security update". */
function severityFromSummary(summary: string | undefined): Severity | null {
  const m = /^(Critical|Important|Moderate|Low):/i.exec(summary?.trim() ?? '');
  return m?.[1] === undefined ? null : severityFromWord(m[1], SEVERITY_WORDS);
}

/** A publisher's own priority word (`ecosystem_specific`, e.g. Canonical's). */
function mapPriority(p: unknown): Severity | null {
  return typeof p === 'string' ? severityFromWord(p, SEVERITY_WORDS) : null;
}

function referenceType(t: string, url: string): Reference['type'] {
  switch (t.toUpperCase()) {
    case 'ADVISORY':
      return 'advisory';
    case 'WEB':
    case 'ARTICLE':
      return 'web';
    case 'PACKAGE':
      return 'package';
    case 'REPORT':
      return /bugzilla/i.test(url) ? 'bugzilla' : 'web';
    default:
      return 'other';
  }
}

function hasNul(...xs: (string | undefined)[]): boolean {
  return xs.some((x) => x?.includes('\u0000') === true);
}

interface Converted {
  advisory: Advisory | null;
  warnings: string[];
}

/** One OSV record as an advisory; warnings name what was skipped inside it. */
function convert(raw: unknown, opts: ParseOptions): Converted {
  const warnings: string[] = [];
  const parsed = OsvRecord.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { advisory: null, warnings: [`not an OSV record: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`] };
  }
  const r = parsed.data;
  if (hasNul(r.id, r.summary, r.details)) return { advisory: null, warnings: ['contains a NUL character'] };
  if (r.withdrawn !== undefined) return { advisory: null, warnings: [`withdrawn by its publisher on ${r.withdrawn}`] };

  const cves = new Set<string>();
  for (const x of [r.id, ...(r.aliases ?? []), ...(r.upstream ?? []), ...(r.related ?? [])]) {
    if (CVE.test(x)) cves.add(x);
    else {
      const m = CVE_RECORD.exec(x);
      if (m?.[1] !== undefined) cves.add(m[1]);
    }
  }

  // v3 and v4.0 are kept apart (different scales); of each, the highest-scoring vector.
  let cvssVector: string | null = null;
  let cvssScore: number | null = null;
  let cvssV4: { vector: string; score: number } | undefined;
  for (const s of r.severity ?? []) {
    if (s.type === 'CVSS_V4') {
      const { rating, problem } = cvss4FromFeed(s.score, null);
      if (problem !== null) warnings.push(`severity: ${problem}`);
      if (rating !== null && (cvssV4 === undefined || rating.score > cvssV4.score)) cvssV4 = rating;
    }
    if (s.type !== 'CVSS_V3') continue;
    const score = cvss3BaseScore(s.score);
    if (score !== null && (cvssScore === null || score > cvssScore)) {
      cvssScore = score;
      cvssVector = s.score;
    }
  }

  const fixes: Fix[] = [];
  const seen = new Set<string>();
  let priority: Severity | null = null;
  for (const [i, rawAffected] of (r.affected ?? []).entries()) {
    const where = `affected[${String(i)}]`;
    const a = OsvAffected.safeParse(rawAffected);
    if (!a.success) {
      warnings.push(`${where}: ${a.error.issues[0]?.message ?? 'invalid'}; skipped`);
      continue;
    }
    const eco = ecosystemRelease(a.data.package.ecosystem, a.data.package.purl ?? null);
    if (typeof eco === 'string') {
      warnings.push(`${where}: ${eco}; skipped`);
      continue;
    }
    for (const key of osvPriorityKeys) priority ??= mapPriority(a.data.ecosystem_specific?.[key]);
    const family = releaseFamily(eco.release);
    if (family === null) continue;
    const scheme = versionScheme(family);
    const name = a.data.package.name;
    if (name === '' || hasNul(name)) {
      warnings.push(`${where}: empty package name; skipped`);
      continue;
    }
    const add = (fix: Fix): void => {
      const key = JSON.stringify(fix);
      if (!seen.has(key)) {
        seen.add(key);
        fixes.push(fix);
      }
    };
    const bad = (v: string): string | null => (hasNul(v) ? 'contains a NUL character' : scheme.check(v));
    const ranges = a.data.ranges ?? [];
    if (ranges.length === 0) {
      warnings.push(`${where}: ${name} lists affected versions but no range; skipped (no fixed version to compare with)`);
      continue;
    }
    for (const [j, rawRange] of ranges.entries()) {
      const range = OsvRange.safeParse(rawRange);
      if (!range.success || range.data.type !== 'ECOSYSTEM') {
        warnings.push(
          `${where}.ranges[${String(j)}]: ${range.success ? `range type ${range.data.type}` : 'invalid range'} is not used for distribution packages; skipped`,
        );
        continue;
      }
      // OSV evaluation (schema "Evaluation"): events in order; each `introduced` opens an
      // interval that the next `fixed` / `last_affected` / `limit` closes.
      let open: { version: string; inclusive: boolean } | null | undefined;
      const base = {
        release: eco.release,
        package: name,
        packageKind: eco.packageKind,
        arch: null,
        ...(eco.channel === undefined ? {} : { channel: eco.channel }),
      };
      for (const rawEvent of range.data.events) {
        const ev = OsvEvent.safeParse(rawEvent);
        if (!ev.success) {
          warnings.push(`${where}: ${name}: an event that is not an object; skipped`);
          continue;
        }
        const e = ev.data;
        if (e.introduced !== undefined) {
          if (e.introduced === '0') open = null;
          else {
            const why = bad(e.introduced);
            if (why !== null) {
              warnings.push(`${where}: ${name}: introduced "${e.introduced}": ${why}; range skipped`);
              open = undefined;
              continue;
            }
            open = { version: e.introduced, inclusive: true };
          }
          continue;
        }
        const closing = e.fixed ?? e.last_affected ?? e.limit;
        if (closing === undefined) continue;
        if (open === undefined) {
          warnings.push(`${where}: ${name}: "${closing}" closes no introduced version; skipped`);
          continue;
        }
        const why = bad(closing);
        if (why !== null) {
          warnings.push(`${where}: ${name}: version "${closing}": ${why}; skipped`);
          open = undefined;
          continue;
        }
        if (e.fixed !== undefined) add({ ...base, status: 'fixed', fixed: closing, lastAffected: null, introduced: open });
        else if (e.last_affected !== undefined) add({ ...base, status: 'no-fix-yet', fixed: null, lastAffected: closing, introduced: open });
        else warnings.push(`${where}: ${name}: a "limit" event is not a fix; skipped`);
        open = undefined;
      }
      // An interval still open: affected from `introduced` on, no fix published.
      if (open !== undefined) add({ ...base, status: 'no-fix-yet', fixed: null, lastAffected: null, introduced: open });
    }
  }

  const stream = moduleOfSummary(r.summary);
  if (stream !== null) for (const f of fixes) if (MODULAR.test(f.fixed ?? f.lastAffected ?? '')) f.module = stream;
  // Without a word for it, the severity is the rating of the v3 score, else of the v4.0 one.
  const rated = cvssScore ?? cvssV4?.score ?? null;
  const severity: Severity = priority ?? severityFromSummary(r.summary) ?? (rated === null ? 'unknown' : cvssRating(rated));
  const references: Reference[] = (r.references ?? []).filter((x) => !hasNul(x.url)).map((x) => ({ type: referenceType(x.type, x.url), id: null, url: x.url }));
  for (const c of [...cves].sort()) references.push({ type: 'cve', id: c, url: null });
  const publishedAt = normaliseDate(r.published);
  return {
    advisory: {
      source: opts.source,
      id: r.id,
      kind: 'security',
      title: r.summary ?? r.id,
      description: r.details ?? '',
      severity,
      cvssScore,
      cvssVector,
      ...(cvssV4 === undefined ? {} : { cvssV4 }),
      cves: [...cves].sort(),
      references,
      publishedAt,
      updatedAt: normaliseDate(r.modified) ?? publishedAt,
      parser: PARSER,
      fixes,
    },
    warnings,
  };
}

/**
 * Parses one OSV document.
 * @example for await (const a of parseOsv(bytes, { source: 'almalinux-osv', name: f, warn })) …
 */
export async function* parseOsv(input: FeedInput, opts: ParseOptions): AsyncGenerator<Advisory> {
  const bytes = await collectBytes(input, opts.name, MAX_DOCUMENT);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new BulwarkError('input.invalid', `${opts.name}: not JSON (${err instanceof TypeError ? 'not valid UTF-8' : (err as Error).message})`, {
      file: opts.name,
    });
  }
  const records = Array.isArray(doc) ? doc : [doc];
  if (records.some((x) => typeof x !== 'object' || x === null || Array.isArray(x)))
    throw new BulwarkError('input.invalid', `${opts.name}: not an OSV record or an array of records`, { file: opts.name });
  for (const raw of records) {
    const rid = typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
    const { advisory, warnings } = convert(raw, opts);
    for (const w of warnings) opts.warn({ record: rid, message: `${opts.name}: ${w}` });
    if (advisory !== null) {
      reportFixReleases(advisory, opts.identity, 'its ecosystem');
      yield advisory;
    }
  }
}

export const osvParser: FeedParser = {
  id,
  displayName,
  version,
  specs: ['https://ossf.github.io/osv-schema/', 'https://google.github.io/osv.dev/data/#data-dumps'],
  parse: parseOsv,
};
