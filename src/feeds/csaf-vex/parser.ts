import type { Advisory, Reference, Severity } from '../../core/advisory.js';
import { cvss4FromFeed } from '../../core/cvss4.js';
import { BulwarkError } from '../../core/errors.js';
import { CVSS_RATINGS, mergeVocabularies, severityFromWord } from '../../core/severity.js';
import { csafPublisherDistribution, csafPublisherMixed, severityWords } from '../../distros/registry.js';
import { collectBytes } from '../../lib/decompress.js';
import { normaliseDate } from '../dates.js';
import type { FeedInput, FeedParser, ParseOptions } from '../types.js';
import { CsafDocument, CsafVulnerability } from './schema.js';
import { collectFixes, walkBranches, type Collected, type Tree } from './products.js';
import { reportFixReleases } from '../identity.js';

export { componentFromNevra, componentFromPurl, streamRelease } from './products.js';

/**
 * CSAF 2.0 (OASIS, https://docs.oasis-open.org/csaf/csaf/v2.0/os/csaf-v2.0-os.html) as Red Hat
 * publishes it: VEX documents (`csaf_vex`, one per CVE) and security advisories
 * (`csaf_security_advisory`, one per RHSA). Product ids are "stream:component" relationships
 * (§3.2.2.3.3: `AppStream-9.3.0.Z.MAIN:curl-0:7.76.1-26.el9_3.2.x86_64`); the stream's CPE or id
 * says the release, the component's purl (or NEVRA) the package. Red Hat's notes on the format:
 * RedHatProductSecurity/security-data-guidelines docs/csaf-vex.md.
 */
export const id = 'csaf-vex';
export const displayName = 'CSAF 2.0 VEX and security advisories (Red Hat)';
export const version = 2;
const PARSER = `${id}@${String(version)}`;
const MAX_DOCUMENT = 512 * 1024 * 1024;
const CVE = /^CVE-\d{4}-\d{4,}$/;

/** CVSS's words and those of the publishers that write CSAF (src/distros/). */
export const SEVERITY_WORDS = mergeVocabularies(CVSS_RATINGS, severityWords(id));

function mapSeverity(s: string | undefined): Severity | null {
  return severityFromWord(s?.trim(), SEVERITY_WORDS);
}

function vulnReferences(v: CsafVulnerability): Reference[] {
  const refs: Reference[] = [];
  for (const i of v.ids ?? []) if (/bugzilla/i.test(i.system_name)) refs.push({ type: 'bugzilla', id: i.text, url: null });
  for (const r of v.remediations ?? []) {
    if (r.category !== 'vendor_fix' || r.url === undefined) continue;
    const rhsa = /(RH[SBE]A-\d{4}:\d+)/.exec(r.url)?.[1] ?? null;
    refs.push({ type: 'advisory', id: rhsa, url: r.url });
  }
  for (const r of v.references ?? []) refs.push({ type: r.category === 'self' ? 'advisory' : 'web', id: null, url: r.url });
  return refs;
}

function uniqueRefs(refs: Reference[]): Reference[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.type}|${r.id ?? ''}|${r.url ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

interface Scored {
  score: number;
  vector: string;
}

/**
 * The highest CVSS v3 score (as the document gives it) and, apart, the highest CVSS v4.0 one
 * (scored from its vector by the specification's method: a vector we cannot score is skipped
 * with a warning, a base-only vector whose stated score differs is kept with ours and a warning).
 */
function scores(v: CsafVulnerability, opts: ParseOptions, record: string): { v3: Scored | null; v4: Scored | null } {
  let v3: Scored | null = null;
  let v4: Scored | null = null;
  for (const s of v.scores ?? []) {
    const c = s.cvss_v3;
    if (c !== undefined && c.baseScore >= 0 && c.baseScore <= 10 && (v3 === null || c.baseScore > v3.score))
      v3 = { score: c.baseScore, vector: c.vectorString };
    if (s.cvss_v4 === undefined) continue;
    const { rating, problem } = cvss4FromFeed(s.cvss_v4.vectorString, s.cvss_v4.baseScore);
    if (problem !== null) opts.warn({ record, message: `${opts.name}: ${problem}` });
    if (rating !== null && (v4 === null || rating.score > v4.score)) v4 = rating;
  }
  return { v3, v4 };
}

/**
 * Parses one CSAF document: a VEX yields one advisory per vulnerability (its CVE), a security
 * advisory one advisory (its tracking id) for all its vulnerabilities.
 * @example for await (const a of parseCsaf(bytes, { source: 'redhat-csaf-vex', name: f, warn })) …
 */
export async function* parseCsaf(input: FeedInput, opts: ParseOptions): AsyncGenerator<Advisory> {
  const bytes = await collectBytes(input, opts.name, MAX_DOCUMENT);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new BulwarkError('input.invalid', `${opts.name}: not JSON (${err instanceof TypeError ? 'not valid UTF-8' : (err as Error).message})`, {
      file: opts.name,
    });
  }
  const parsed = CsafDocument.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BulwarkError('input.invalid', `${opts.name}: not a CSAF document: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, {
      file: opts.name,
    });
  }
  const doc = parsed.data;
  const category = doc.document.category;
  if (category !== 'csaf_vex' && category !== 'csaf_security_advisory')
    throw new BulwarkError('input.invalid', `${opts.name}: CSAF category "${category}" is not read (only csaf_vex and csaf_security_advisory)`, {
      file: opts.name,
    });
  if (!doc.document.csaf_version.startsWith('2.'))
    throw new BulwarkError('input.invalid', `${opts.name}: CSAF version ${doc.document.csaf_version} is not 2.x`, { file: opts.name });

  const tree: Tree = { products: new Map(), relationships: new Map() };
  walkBranches(doc.product_tree?.branches ?? [], tree.products);
  for (const r of doc.product_tree?.relationships ?? []) {
    if (r.category !== 'default_component_of') continue;
    tree.relationships.set(r.full_product_name.product_id, { component: r.product_reference, stream: r.relates_to_product_reference });
  }
  const docId = doc.document.tracking.id;
  // Who published the document says whose products it is about. Only Red Hat's streams are
  // read, so another publisher's document (its statuses all left out) must not pass as a
  // change that empties the stored advisory of the same CVE of its fixes.
  const publisher = doc.document.publisher;
  if (opts.identity !== undefined && publisher?.namespace !== undefined) {
    const host = publisherHost(publisher.namespace);
    opts.identity({
      distribution: csafPublisherDistribution(host) ?? `the CSAF publisher ${host}`,
      release: null,
      evidence: `${docId}: document.publisher ${publisher.name ?? ''} (${publisher.namespace})`,
    });
  }
  const docRefs: Reference[] = (doc.document.references ?? []).map((r) => ({
    type: r.category === 'self' ? 'advisory' : 'web',
    id: r.category === 'self' ? docId : null,
    url: r.url,
  }));
  const published = normaliseDate(doc.document.tracking.initial_release_date);
  const updated = normaliseDate(doc.document.tracking.current_release_date) ?? published;
  const aggregate = mapSeverity(doc.document.aggregate_severity?.text);

  const vulns: CsafVulnerability[] = [];
  for (const [i, rv] of (doc.vulnerabilities ?? []).entries()) {
    const v = CsafVulnerability.safeParse(rv);
    if (!v.success) {
      opts.warn({ record: docId, message: `${opts.name}: vulnerabilities[${String(i)}]: ${v.error.issues[0]?.message ?? 'invalid'}; skipped` });
      continue;
    }
    vulns.push(v.data);
  }
  const report = (record: string, c: Collected): void => {
    if (c.skippedProducts > 0 && !mixed)
      opts.warn({
        record,
        message: `${opts.name}: ${String(c.skippedProducts)} product statuses are not for a known distribution's stream (or name no known product) and were left out`,
      });
    for (const b of c.badVersions.slice(0, 10)) opts.warn({ record, message: `${opts.name}: ${b}; skipped` });
  };
  const describe = (v: CsafVulnerability): string =>
    v.notes?.find((n) => n.category === 'description')?.text ?? v.notes?.find((n) => n.category === 'summary')?.text ?? '';
  const threat = (v: CsafVulnerability): Severity | null => mapSeverity(v.threats?.find((t) => t.category === 'impact')?.details);
  // No impact word nor aggregate (Microsoft's impacts are "Remote Code Execution"…): CVSS's own rating.
  const rated = (v: CsafVulnerability): Severity | null =>
    mapSeverity(
      [...(v.scores ?? [])].sort((a, b) => (b.cvss_v3?.baseScore ?? -1) - (a.cvss_v3?.baseScore ?? -1)).find((x) => x.cvss_v3?.baseSeverity !== undefined)
        ?.cvss_v3?.baseSeverity,
    );
  // A publisher of many products (MSRC): a vulnerability of none of the distributions' is not stored.
  const mixed = publisher?.namespace !== undefined && csafPublisherMixed(publisherHost(publisher.namespace));

  if (category === 'csaf_vex') {
    for (const v of vulns) {
      const cve = v.cve !== undefined && CVE.test(v.cve) ? v.cve : null;
      const record = cve ?? (vulns.length === 1 ? docId : null);
      if (record === null) {
        opts.warn({ record: docId, message: `${opts.name}: a vulnerability without a CVE id in a document of several; skipped` });
        continue;
      }
      const c = collectFixes(v, tree, opts.name);
      if (mixed && c.fixes.length === 0 && c.badVersions.length === 0) continue;
      report(record, c);
      reportFixReleases({ id: record, fixes: c.fixes }, opts.identity, 'its product streams');
      const s = scores(v, opts, record);
      yield {
        source: opts.source,
        id: record,
        kind: 'security',
        title: v.title ?? doc.document.title ?? record,
        description: describe(v),
        severity: threat(v) ?? aggregate ?? rated(v) ?? 'unknown',
        cvssScore: s.v3?.score ?? null,
        cvssVector: s.v3?.vector ?? null,
        ...(s.v4 === null ? {} : { cvssV4: s.v4 }),
        cves: cve === null ? [] : [cve],
        references: uniqueRefs([...docRefs, ...vulnReferences(v)]),
        publishedAt: normaliseDate(v.release_date) ?? published,
        updatedAt: updated,
        parser: PARSER,
        fixes: c.fixes,
      };
    }
    return;
  }
  // A security advisory: one advisory for the whole document.
  const all: Collected = { fixes: [], skippedProducts: 0, badVersions: [] };
  const seen = new Set<string>();
  let best: Scored | null = null;
  let best4: Scored | null = null;
  for (const v of vulns) {
    const c = collectFixes(v, tree, opts.name);
    all.skippedProducts += c.skippedProducts;
    all.badVersions.push(...c.badVersions);
    for (const f of c.fixes) {
      const k = JSON.stringify(f);
      if (!seen.has(k)) {
        seen.add(k);
        all.fixes.push(f);
      }
    }
    const s = scores(v, opts, docId);
    if (s.v3 !== null && (best === null || s.v3.score > best.score)) best = s.v3;
    if (s.v4 !== null && (best4 === null || s.v4.score > best4.score)) best4 = s.v4;
  }
  report(docId, all);
  reportFixReleases({ id: docId, fixes: all.fixes }, opts.identity, 'its product streams');
  yield {
    source: opts.source,
    id: docId,
    kind: 'security',
    title: doc.document.title ?? docId,
    description: vulns
      .map(describe)
      .filter((d) => d !== '')
      .join('\n\n'),
    severity: aggregate ?? vulns.map(threat).find((x) => x !== null) ?? 'unknown',
    cvssScore: best?.score ?? null,
    cvssVector: best?.vector ?? null,
    ...(best4 === null ? {} : { cvssV4: best4 }),
    cves: [...new Set(vulns.flatMap((v) => (v.cve !== undefined && CVE.test(v.cve) ? [v.cve] : [])))].sort(),
    references: uniqueRefs([...docRefs, ...vulns.flatMap(vulnReferences)]),
    publishedAt: published,
    updatedAt: updated,
    parser: PARSER,
    fixes: all.fixes,
  };
}

export const csafVexParser: FeedParser = {
  id,
  displayName,
  version,
  specs: [
    'https://docs.oasis-open.org/csaf/csaf/v2.0/os/csaf-v2.0-os.html',
    'https://github.com/RedHatProductSecurity/security-data-guidelines/blob/main/docs/csaf-vex.md',
  ],
  parse: parseCsaf,
};

/** The host of a CSAF publisher namespace (`https://www.redhat.com` → `www.redhat.com`), or the text itself. */
function publisherHost(namespace: string): string {
  try {
    return new URL(namespace).hostname.toLowerCase();
  } catch {
    return namespace.toLowerCase();
  }
}
