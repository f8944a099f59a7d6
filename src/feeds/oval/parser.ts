import type { Advisory, Reference, Severity } from '../../core/advisory.js';
import { CVSS_RATINGS, mergeVocabularies, severityFromWord } from '../../core/severity.js';
import { ovalAdvisoryReferenceSources, releaseFamily, severityWords } from '../../distros/registry.js';
import { child, childrenNamed, childText } from '../../lib/xml.js';
import { normaliseDate } from '../dates.js';
import type { FeedParser, FeedWarning, ParseOptions } from '../types.js';
import { deriveFixes } from './derive-fixes.js';
import { packageDialect, releaseSaid, reportGenerator, reportNamespace } from './dialects.js';
import { readOval, type RawDefinition, type Tables } from './read.js';
import { hasPackageTest, resolve } from './resolve.js';

/**
 * OVAL 5.x definitions (rpminfo_test: Microsoft's Azure Linux / CBL-Mariner feeds, Red Hat style
 * with extend_definition and signature states; dpkginfo_test: Canonical's feeds with
 * constant_variable name lists and uname_test for kernels).
 *
 * OVAL puts all definitions first and the tests, objects and states they point to after them,
 * so no definition can be resolved before the document's end. The parser therefore reads the
 * document into compact tables (read.ts), then per definition resolves its criteria
 * (resolve.ts), tells its release and publisher dialect (dialects.ts, asking src/distros/) and
 * derives its fixes (derive-fixes.ts).
 */
export const id = 'oval';
export const displayName = 'OVAL 5.x definitions (rpminfo, dpkginfo)';
export const version = 4;
const PARSER = `${id}@${String(version)}`;

/** CVSS's words and those of the publishers that write OVAL (src/distros/: NVD ratings, Red Hat's, Canonical's priorities). */
export const SEVERITY_WORDS = mergeVocabularies(CVSS_RATINGS, severityWords(id));

function mapSeverity(s: string | null): Severity {
  return severityFromWord(s?.trim(), SEVERITY_WORDS) ?? 'unknown';
}

const CVE = /^CVE-\d{4}-\d{4,}$/;

function buildAdvisory(def: RawDefinition, tables: Tables, opts: ParseOptions, warn: (w: FeedWarning) => void): Advisory | null {
  const md = def.metadata;
  const say = (message: string): void => {
    warn({ record: def.id, message });
  };
  if (def.cls === 'inventory' || def.cls === 'compliance' || def.cls === 'miscellaneous') return null;
  // The id's namespace names the distribution (Canonical's also the release), whatever the criteria hold.
  reportNamespace(def.id, opts);
  const title = (md === undefined ? null : childText(md, 'title')) ?? def.id;
  const refs: Reference[] = [];
  const cves = new Set<string>();
  for (const r of md === undefined ? [] : childrenNamed(md, 'reference')) {
    const src = (r.attrs.source ?? '').toUpperCase();
    const rid = r.attrs.ref_id ?? null;
    if (src === 'CVE' && rid !== null && CVE.test(rid)) cves.add(rid);
    refs.push({ type: src === 'CVE' ? 'cve' : ovalAdvisoryReferenceSources.has(src) ? 'advisory' : 'other', id: rid, url: r.attrs.ref_url ?? null });
  }
  const adv = md === undefined ? undefined : child(md, 'advisory');
  let cvssScore: number | null = null;
  let cvssVector: string | null = null;
  for (const c of adv === undefined ? [] : childrenNamed(adv, 'cve')) {
    const t = c.text.trim();
    if (CVE.test(t)) cves.add(t);
    // Red Hat: cvss3="7.5/CVSS:3.1/AV:N/…"; Canonical: cvss_score="7.5" cvss_vector="CVSS:3.1/…".
    const rh = /^(\d+(?:\.\d+)?)\/(CVSS:3\.\d\/\S+)$/.exec(c.attrs.cvss3 ?? '');
    const score = rh?.[1] !== undefined ? Number(rh[1]) : c.attrs.cvss_score !== undefined ? Number(c.attrs.cvss_score) : NaN;
    if (Number.isFinite(score) && score >= 0 && score <= 10 && (cvssScore === null || score > cvssScore)) {
      cvssScore = score;
      cvssVector = rh?.[2] ?? c.attrs.cvss_vector ?? null;
    }
  }
  for (const b of adv === undefined ? [] : childrenNamed(adv, 'bugzilla')) refs.push({ type: 'bugzilla', id: b.attrs.id ?? null, url: b.attrs.href ?? null });
  const severity = mapSeverity((md === undefined ? null : childText(md, 'severity')) ?? (adv === undefined ? null : childText(adv, 'severity')));
  const issued = adv === undefined ? undefined : child(adv, 'issued');
  const updated = adv === undefined ? undefined : child(adv, 'updated');
  const publishedAt = normaliseDate((md === undefined ? null : childText(md, 'advisory_date')) ?? issued?.attrs.date);
  const updatedAt = normaliseDate(updated?.attrs.date) ?? publishedAt;

  const base: Advisory = {
    source: opts.source,
    id: def.id,
    kind: 'security',
    title,
    description: (md === undefined ? null : childText(md, 'description')) ?? '',
    severity,
    cvssScore,
    cvssVector,
    cves: [...cves].sort(),
    references: refs,
    publishedAt,
    updatedAt,
    parser: PARSER,
    fixes: [],
  };
  if (def.criteria === null) {
    say('definition has no criteria');
    return base;
  }
  const missing: string[] = [];
  const criteria = resolve(def.criteria, tables, missing);
  base.oval = criteria;
  if (missing.length > 0) {
    say(
      `definition refers to ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${String(missing.length - 3)} more` : ''} that the document does not have; no fixes derived`,
    );
    return base;
  }
  if (!hasPackageTest(criteria)) return base;

  // What the document says, whatever the source says: reported for the identity check.
  const said = releaseSaid(def.id, criteria, opts);
  const release: string | null = opts.release ?? said?.release ?? null;
  if (release === null) {
    say('cannot tell which release this definition is for (no dist tag, namespace or platform comment); give the source a release');
    return base;
  }
  const family = releaseFamily(release);
  if (family === null) {
    say(`release "${release}" is not a distribution Bulwark knows`);
    return base;
  }
  // Some publishers' tests name source packages, others binaries (the publisher's dialect).
  const { packageKind, epochUnreliable } = packageDialect(def.id);
  let fixes = deriveFixes(criteria, { defId: def.id, release, family, packageKind, warn: say });
  const patchable = md === undefined ? null : childText(md, 'patchable');
  if (patchable !== null) {
    const p = patchable.toLowerCase();
    if (p === 'not applicable') {
      // "This CVE either no longer is or was never applicable" (data notes 1.3): not affected.
      fixes = fixes.map((f) => ({ ...f, status: 'not-affected', fixed: null, lastAffected: null, introduced: null }));
    } else if (p === 'false') {
      // No patch yet: a "less than V" bound is not a fixed version.
      fixes = fixes.map((f) => (f.status === 'fixed' ? { ...f, status: 'no-fix-yet', fixed: null } : f));
    }
  }
  // A publisher that writes "0:" for every package, whatever its epoch (the dialect says so).
  if (epochUnreliable) fixes = fixes.map((f) => ({ ...f, epochUnreliable: true }));
  base.fixes = fixes;
  return base;
}

/**
 * Parses one OVAL definitions document.
 *
 * @example for await (const a of ovalParser.parse(bytes, { source: 'azurelinux-3.0-oval', name: f, warn })) …
 */
export async function* parseOval(input: AsyncIterable<Uint8Array>, opts: ParseOptions): AsyncGenerator<Advisory> {
  const { definitions, tables } = await readOval(input, opts, (product) => {
    reportGenerator(product, opts);
  });
  for (const def of definitions) {
    const a = buildAdvisory(def, tables, opts, opts.warn);
    if (a !== null) yield a;
  }
}

export const ovalParser: FeedParser = {
  id,
  displayName,
  version,
  specs: [
    'https://oval.mitre.org/language/version5.11/OVAL_Language_Specification_09-14-2011.pdf',
    'https://oval.mitre.org/language/version5.11/ovaldefinition/documentation/linux-definitions-schema.html',
  ],
  parse: parseOval,
};
