import type { Advisory, AdvisoryKind, Fix, Reference, Severity } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import { versionScheme } from '../../core/version/registry.js';
import { child, childrenNamed, childText, xmlRecords, type XmlElement } from '../../lib/xml.js';
import { normaliseDate } from '../dates.js';
import type { FeedInput, FeedParser, ParseOptions } from '../types.js';
import { elFamilyFact, releaseFact, type IdentityFact } from '../identity.js';
import { CVSS_NONE, CVSS_RATINGS, mergeVocabularies, severityFromWord } from '../../core/severity.js';
import { releaseFromDistTag, releaseFromUpdateinfoText, severityWords } from '../../distros/registry.js';

/**
 * rpm-md `updateinfo.xml` (the `updateinfo` member of a repository's repomd.xml), as
 * createrepo_c writes it (src/xml_dump_updateinfo.c) and libdnf / dnf5 read it
 * (libdnf/repo/solvable/... advisory; libsolv ext/repo_updateinfoxml.c): one `<update>` per
 * advisory with its type, severity, dates, references and the exact NEVRAs that fix it
 * (`<pkglist><collection><package name epoch version release arch src>`), module streams
 * and `reboot_suggested`.
 *
 * Real-world quirks handled: dates as a `date` attribute or as element text, as
 * `YYYY-MM-DD[ HH:MM:SS]` or unix seconds; `<description>` given twice; empty `<pkglist/>`;
 * booleans as True/true/1; a missing epoch meaning 0.
 *
 * `arch="src"` entries name the source rpm an update was built from. dnf never applies them to
 * installed binaries (libdnf matches an advisory package to an installed one by name and arch,
 * and no installed package has arch `src`), so they are not fixes here either: read as "every
 * binary of this source is fixed at the source's version", they judged a sub-package with a
 * version of its own (perl-Carp 4:1.54-510 "fixed in" perl's 4:5.38.2-510). The binaries
 * listed beside them carry the fix.
 */
export const id = 'updateinfo';
export const displayName = 'rpm-md updateinfo.xml';
export const version = 2;
const PARSER = `${id}@${String(version)}`;
const CVE = /^CVE-\d{4}-\d{4,}$/;

/** CVSS's words with "None", and the words of the publishers that write updateinfo (src/distros/). */
export const SEVERITY_WORDS = mergeVocabularies(CVSS_RATINGS, CVSS_NONE, severityWords(id));

function mapSeverity(s: string | null): Severity {
  // Fedora's "Unspecified", an absent element, anything else: unknown.
  return severityFromWord(s, SEVERITY_WORDS) ?? 'unknown';
}

function mapKind(t: string | undefined): AdvisoryKind {
  switch (t?.toLowerCase()) {
    case 'security':
      return 'security';
    case 'bugfix':
      return 'bugfix';
    case 'enhancement':
    case 'newpackage':
    case 'feature':
      return 'enhancement';
    default:
      return 'other';
  }
}

/** `<issued date="…"/>` or `<issued>…</issued>`; dates, date-times or unix seconds. */
function dateOf(el: XmlElement | undefined): string | null {
  if (el === undefined) return null;
  const raw = (el.attrs.date ?? el.text).trim();
  if (/^\d{9,11}$/.test(raw)) return new Date(Number(raw) * 1000).toISOString();
  return normaliseDate(raw);
}

function truthy(s: string | null): boolean {
  return s !== null && /^(true|1|yes)$/i.test(s);
}

/**
 * The release an update is for when the source does not say: from `<release>` text
 * ("Rocky Linux 8", "Fedora 41", "Azure Linux 3.0"; each descriptor's `updateinfoRelease`).
 * Package dist tags are not used: `.el9` is RHEL, AlmaLinux, Rocky and others alike.
 * @example releaseFromText('Rocky Linux 8') // 'rocky:8'
 */
export function releaseFromText(text: string | null): string | null {
  return text === null ? null : releaseFromUpdateinfoText(text.trim());
}

function reference(r: XmlElement): Reference {
  const type = (r.attrs.type ?? '').toLowerCase();
  const rid = r.attrs.id?.trim() ?? null;
  return {
    type: type === 'cve' ? 'cve' : type === 'bugzilla' ? 'bugzilla' : type === 'self' ? 'advisory' : 'other',
    id: rid === '' ? null : rid,
    url: r.attrs.href ?? null,
  };
}

function convert(u: XmlElement, opts: ParseOptions): { advisory: Advisory | null; warnings: string[]; record: string | null } {
  const warnings: string[] = [];
  const uid = childText(u, 'id');
  if (uid === null) return { advisory: null, warnings: [`<update> at line ${String(u.line)} has no <id>; skipped`], record: null };
  if (uid.includes('\u0000')) return { advisory: null, warnings: ['id contains a NUL character; skipped'], record: null };
  const references = childrenNamed(child(u, 'references') ?? u, 'reference').map(reference);
  const cves = new Set<string>();
  for (const r of references) {
    if (r.type !== 'cve') continue;
    for (const candidate of [r.id ?? '', ...(r.url?.match(/CVE-\d{4}-\d{4,}/g) ?? [])]) if (CVE.test(candidate)) cves.add(candidate);
  }
  const releaseText = childText(u, 'release');
  const said = releaseFromText(releaseText);
  if (said !== null) {
    const f = releaseFact(said, `${uid}: <release>${releaseText ?? ''}</release>`);
    if (f !== null) opts.identity?.(f);
  }
  const release = opts.release ?? said;
  const fixes: Fix[] = [];
  const seen = new Set<string>();
  const pkglist = child(u, 'pkglist');
  const collections = pkglist === undefined ? [] : childrenNamed(pkglist, 'collection');
  const packages = collections.flatMap((c) => childrenNamed(c, 'package').map((p) => ({ c, p })));
  // Without <release>, a collection's <name> ("Azure Linux 3.0") or an unambiguous dist tag
  // (`.azl3`, `.cm2`; not `.el9`, which several distributions share) still says what this is.
  if (said === null && opts.identity !== undefined) {
    let fact: IdentityFact | null = null;
    for (const c of collections) {
      const n = childText(c, 'name');
      const r = releaseFromText(n);
      if (r !== null && (fact = releaseFact(r, `${uid}: <collection><name>${n ?? ''}</name>`)) !== null) break;
    }
    if (fact === null)
      for (const { p } of packages) {
        const r = releaseFromDistTag(p.attrs.release ?? '');
        if (r !== null && (fact = releaseFact(r, `${uid}: package ${p.attrs.name ?? ''}-${p.attrs.version ?? ''}-${p.attrs.release ?? ''}`)) !== null) break;
      }
    // Last, `.el8`: which of RHEL, AlmaLinux or Rocky is not said, but that it is none of
    // Azure Linux, Fedora or another major version is (a Rocky 8 updateinfo without <release>
    // was stored as Azure Linux 3.0 advisories with a warning).
    if (fact === null)
      for (const { p } of packages)
        if ((fact = elFamilyFact(p.attrs.release ?? '', `${uid}: package ${p.attrs.name ?? ''}-${p.attrs.version ?? ''}-${p.attrs.release ?? ''}`)) !== null)
          break;
    if (fact !== null) opts.identity(fact);
  }
  const binaries = packages.filter(({ p }) => p.attrs.arch !== 'src');
  if (packages.length === 0) warnings.push('no packages in <pkglist>: the advisory names no fixed build');
  else if (binaries.length === 0)
    warnings.push('only source packages (arch="src") in <pkglist>: dnf applies none of them to installed binaries, so the advisory names no fixed build');
  else if (release === null) warnings.push('the release is unknown (no <release> text Bulwark recognises; give the source a release); fixes skipped');
  else {
    const scheme = versionScheme('rpm');
    for (const { c, p } of binaries) {
      const { name, epoch, version: ver, release: rel, arch } = p.attrs;
      if (name === undefined || ver === undefined || rel === undefined || arch === undefined || name === '' || ver === '' || rel === '' || arch === '') {
        warnings.push(`${name ?? '<package>'} at line ${String(p.line)}: no name, version, release or arch; skipped`);
        continue;
      }
      const e = epoch === undefined || epoch === '' ? '0' : epoch;
      if (!/^\d+$/.test(e)) {
        warnings.push(`${name}: epoch "${e}" is not a number; skipped`);
        continue;
      }
      const evr = `${e}:${ver}-${rel}`;
      const why = [name, ver, rel, arch].some((x) => x.includes('\u0000')) ? 'contains a NUL character' : scheme.check(evr);
      if (why !== null) {
        warnings.push(`${name}: version "${evr}": ${why}; skipped`);
        continue;
      }
      const mod = child(c, 'module');
      const fix: Fix = {
        release,
        package: name,
        packageKind: 'binary',
        arch,
        status: 'fixed',
        fixed: evr,
        lastAffected: null,
        introduced: null,
      };
      if (mod?.attrs.name !== undefined && mod.attrs.stream !== undefined) fix.module = `${mod.attrs.name}:${mod.attrs.stream}`;
      const reboot = childText(p, 'reboot_suggested');
      if (reboot !== null) fix.rebootSuggested = truthy(reboot);
      const key = JSON.stringify(fix);
      if (!seen.has(key)) {
        seen.add(key);
        fixes.push(fix);
      }
    }
  }
  const publishedAt = dateOf(child(u, 'issued'));
  return {
    record: uid,
    warnings,
    advisory: {
      source: opts.source,
      id: uid,
      kind: mapKind(u.attrs.type),
      title: childText(u, 'title') ?? uid,
      // The first <description> wins: Rocky's generator has been seen to write it twice.
      description: childText(u, 'description') ?? childText(u, 'summary') ?? '',
      severity: mapSeverity(childText(u, 'severity')),
      cvssScore: null,
      cvssVector: null,
      cves: [...cves].sort(),
      references,
      publishedAt,
      updatedAt: dateOf(child(u, 'updated')) ?? publishedAt,
      parser: PARSER,
      fixes,
    },
  };
}

/**
 * Parses one updateinfo.xml document, one advisory per `<update>`, streaming.
 * @example for await (const a of parseUpdateinfo(bytes, { source: 'rocky-8-baseos', name: f, warn })) …
 */
export async function* parseUpdateinfo(input: FeedInput, opts: ParseOptions): AsyncGenerator<Advisory> {
  const select = (p: readonly string[]): boolean => {
    if (p.length === 1 && p[0] !== 'updates')
      throw new BulwarkError('input.invalid', `${opts.name}: not an updateinfo document (root element <${p[0] ?? ''}>)`, { file: opts.name });
    return p.length === 2 && p[1] === 'update';
  };
  for await (const { element } of xmlRecords(input, { name: opts.name, select })) {
    const { advisory, warnings, record } = convert(element, opts);
    for (const w of warnings) opts.warn({ record, message: `${opts.name}: ${w}` });
    if (advisory !== null) yield advisory;
  }
}

export const updateinfoParser: FeedParser = {
  id,
  displayName,
  version,
  specs: [
    'https://github.com/rpm-software-management/createrepo_c/blob/master/src/xml_dump_updateinfo.c',
    'https://github.com/openSUSE/libsolv/blob/master/ext/repo_updateinfoxml.c',
  ],
  parse: parseUpdateinfo,
};
