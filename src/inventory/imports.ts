import { BulwarkError } from '../core/errors.js';
import { parseDpkgQueryLine } from '../core/package/deb.js';
import { parseRpmFileName, parseSourceRpm } from '../core/package/nevra.js';
import { parsePurl } from '../core/package/purl.js';
import type { PackageFamily } from '../core/release.js';
import { UNKNOWN_ARCH, type InstalledPackage } from '../core/target.js';
import { releaseFromDistTag } from '../distros/registry.js';
import { parseRpmQa } from './rpm-qa.js';

/**
 * Inventories Bulwark imports (issue #4): `rpm -qa` in RPM_QA_QUERYFORMAT, `dpkg-query -W` in
 * DPKG_QUERY_FORMAT (5 fields, or 6 with the status), Azure Linux manifest lists (one rpm file
 * name per line), and CycloneDX / SPDX JSON SBOMs (packages by purl). Strict: a malformed line
 * or component refuses the file, naming it; half an inventory would hide vulnerable packages.
 */
export type InventoryFormat = 'rpm-qa' | 'dpkg-query' | 'manifest' | 'cyclonedx' | 'spdx';

/** `${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n` */
export const DPKG_QUERY_FORMAT = '${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n';

export interface ParsedInventory {
  format: InventoryFormat;
  family: PackageFamily;
  packages: InstalledPackage[];
  /**
   * What the import left out and why, each naming the record (an SBOM component without a
   * package URL of an rpm or deb package). A line that is not a package is an error instead.
   */
  warnings: string[];
  /**
   * How many records the file lists (lines of rpm -qa, dpkg-query or a manifest; SBOM
   * components other than the document's subject and source packages), kept or not: what
   * `packages` is out of when a scan must say it can judge none of them.
   */
  records: number;
}

/**
 * The format of an inventory file from its content.
 * @example detectInventoryFormat('bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n') // 'rpm-qa'
 */
export function detectInventoryFormat(text: string): InventoryFormat | null {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t.startsWith('{')) {
    if (/"bomFormat"\s*:\s*"CycloneDX"/.test(t)) return 'cyclonedx';
    if (/"spdxVersion"\s*:/.test(t)) return 'spdx';
    return null;
  }
  const line = t.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (line === undefined) return null;
  const fields = line.replace(/\r$/, '').split('\t').length;
  if (fields === 6 && /\.src\.rpm$|\t\(none\)$/.test(line.replace(/\r$/, ''))) return 'rpm-qa';
  if (fields === 6 || fields === 5) return 'dpkg-query';
  if (fields === 1 && /\.rpm$/.test(line.trim())) return 'manifest';
  return null;
}

function countLines(text: string): number {
  return text.split('\n').filter((raw) => raw.trim() !== '' && !raw.trimStart().startsWith('#')).length;
}

function parseDpkg(text: string, file: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const fields = line.split('\t');
    try {
      const r = parseDpkgQueryLine(fields.length === 5 ? `${line}\tii ` : line);
      if (!r.installed) return; // "rc": removed, configuration files only
      out.push({ family: 'deb', name: r.name, epoch: null, version: r.version, release: null, arch: r.arch, sourceName: r.sourceName, sourceVersion: r.sourceVersion });
    } catch (err) {
      throw new BulwarkError('input.invalid', `${file}:${String(i + 1)}: ${(err as Error).message}`, { file, line: i + 1 });
    }
  });
  return out;
}

function parseManifest(text: string, file: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (why: string): BulwarkError => new BulwarkError('input.invalid', `${file}:${String(i + 1)}: ${why}`, { file, line: i + 1 });
    // Every line of a manifest is a package (issue #13): skipping `garbage line here` or a bare
    // name would scan less than the file lists and say nothing.
    if (!line.endsWith('.rpm')) throw fail(`"${line.length > 120 ? `${line.slice(0, 120)}…` : line}" is not an rpm file name (name-version-release.arch.rpm)`);
    try {
      const p = parseRpmFileName(line);
      // A source rpm is not installed anywhere: taken as a binary it became an installed
      // package named like its source (arch "src"), found the source's advisories on a package
      // that may not exist, and hid which binaries it builds.
      if (p.arch === 'src' || p.arch === 'nosrc') throw new Error(`"${line}" is a source rpm, not an installed package; list the binary rpms it builds`);
      // File names never show the epoch (data notes 2.1) nor the source package.
      out.push({ family: 'rpm', name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, sourceName: null, sourceVersion: null });
    } catch (err) {
      throw fail((err as Error).message);
    }
  });
  return out;
}

/** A source rpm file name (`perl-5.38.2-509.azl3.src.rpm`) or a bare source name, as its name. */
function sourceNameOf(text: string): string | null {
  const t = text.trim();
  if (t === '') return null;
  if (t.endsWith('.rpm')) return parseSourceRpm(t)?.name ?? null;
  return /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/.test(t) ? t : null;
}

/**
 * One package from a purl (purl-spec PURL-TYPES): pkg:rpm/… (version `V-R`, qualifiers `epoch`,
 * `arch`, `upstream` = the source rpm) or pkg:deb/… (`arch`, `upstream` = source[@version]).
 * A purl of another type, or one without a version, is not a package Bulwark can judge: the
 * reason is returned, and the caller names the component in a warning.
 */
function fromPurl(purl: string, at: string, file: string): InstalledPackage | string {
  let p;
  try {
    p = parsePurl(purl);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${at}: ${(err as Error).message}`, { file });
  }
  if (p.type !== 'rpm' && p.type !== 'deb') return `${purl} is not an rpm or deb package (pkg:${p.type})`;
  if (p.version === null) return `${purl} has no version`;
  // purl-spec: arch=source is a Debian source package; an rpm's source is arch src (or nosrc).
  // Neither is installed: it would be judged as a binary named like its source.
  const arch = p.qualifiers['arch'];
  if ((p.type === 'rpm' && (arch === 'src' || arch === 'nosrc')) || (p.type === 'deb' && arch === 'source')) return `${purl} is a source package (arch=${arch}), not an installed package`;
  if (p.type === 'rpm') {
    const dash = p.version.lastIndexOf('-');
    const version = dash > 0 ? p.version.slice(0, dash) : p.version;
    const release = dash > 0 ? p.version.slice(dash + 1) : null;
    const epochText = p.qualifiers['epoch'];
    const epoch = epochText === undefined ? null : Number(epochText);
    if (epoch !== null && (!/^\d{1,10}$/.test(epochText ?? '') || !Number.isInteger(epoch))) throw new BulwarkError('input.invalid', `${at}: epoch "${epochText ?? ''}" is not a number`, { file });
    const upstream = p.qualifiers['upstream'];
    let sourceName: string | null = null;
    try {
      if (upstream !== undefined) sourceName = sourceNameOf(upstream);
    } catch (err) {
      throw new BulwarkError('input.invalid', `${at}: upstream: ${(err as Error).message}`, { file });
    }
    // No arch= says nothing of the arch: "noarch" here was made up, and outputs showed it.
    return { family: 'rpm', name: p.name, epoch, version, release, arch: p.qualifiers['arch'] ?? UNKNOWN_ARCH, sourceName, sourceVersion: null };
  }
  const upstream = p.qualifiers['upstream'];
  const parts = upstream?.split('@') ?? [];
  // No upstream=: the document may say the source elsewhere (trivy's SrcName); the caller
  // falls back to the binary's own name.
  return { family: 'deb', name: p.name, epoch: null, version: p.version, release: null, arch: p.qualifiers['arch'] ?? UNKNOWN_ARCH, sourceName: parts[0] ?? null, sourceVersion: parts[1] ?? null };
}

type Rec = Record<string, unknown>;
const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

/** How a record is named in a warning: its name and version, or its place in the document. */
function label(rec: Rec, where: string): string {
  const name = str(rec['name']);
  const version = str(rec['version']) ?? str(rec['versionInfo']);
  return name === null ? where : `${where} (${name}${version === null ? '' : ` ${version}`})`;
}

/**
 * CycloneDX properties that name a component's source package: Bulwark's own, syft's, and
 * trivy's (`aquasecurity:trivy:SrcName`; trivy writes no `upstream=`, so a trivy SBOM of a
 * Debian or Ubuntu image lost every source name and libssl3 never met openssl's advisories).
 */
const CDX_SOURCE_PROPERTIES = new Set(['bulwark:package:source', 'syft:metadata:sourceRpm', 'aquasecurity:trivy:SrcName']);

/** A Debian source version from trivy's split properties: `[SrcEpoch:]SrcVersion[-SrcRelease]`. */
function trivyDebSourceVersion(props: ReadonlyMap<string, string>): string | null {
  const version = props.get('aquasecurity:trivy:SrcVersion');
  if (version === undefined || version === '') return null;
  const epoch = props.get('aquasecurity:trivy:SrcEpoch');
  const release = props.get('aquasecurity:trivy:SrcRelease');
  return `${epoch !== undefined && epoch !== '' && epoch !== '0' ? `${epoch}:` : ''}${version}${release !== undefined && release !== '' ? `-${release}` : ''}`;
}

function parseSbom(text: string, file: string, format: 'cyclonedx' | 'spdx'): { packages: InstalledPackage[]; warnings: string[]; records: number; leftOut: Map<string, number> } {
  // Records are named by file:line (as the line formats are) and by their place in the document.
  const newlines: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((newlines[mid] ?? 0) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const pos = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new BulwarkError('input.invalid', `${file}${pos === undefined ? '' : `:${String(lineAt(Number(pos)))}`}: not JSON: ${(err as Error).message}`, { file });
  }
  if (!isRec(doc)) throw new BulwarkError('input.invalid', `${file}: not a JSON object`, { file });
  // A record's line: where its purl, bom-ref, SPDXID or name first appears after the previous
  // record's (records are walked in document order).
  let cursor = 0;
  const at = (rec: unknown, where: string): string => {
    if (isRec(rec))
      for (const key of ['SPDXID', 'bom-ref', 'purl', 'name']) {
        const v = str(rec[key]);
        if (v === null) continue;
        const needle = JSON.stringify(v);
        let i = text.indexOf(needle, cursor);
        if (i < 0) i = text.indexOf(needle);
        if (i < 0) continue;
        cursor = i;
        return `${file}:${String(lineAt(i))}: ${label(rec, where)}`;
      }
    return `${file}: ${isRec(rec) ? label(rec, where) : where}`;
  };
  const packages: InstalledPackage[] = [];
  const warnings: string[] = [];
  // Why components were left out, counted by kind (`pkg:npm`, `without a purl`), for the error
  // when none is left to judge.
  const leftOut = new Map<string, number>();
  let records = 0;
  const take = (purl: string | null, here: string, source: string | null, debSourceVersion: string | null = null): void => {
    records++;
    if (purl === null) {
      warnings.push(`${here}: no package URL (purl); not scanned`);
      leftOut.set('without a purl', (leftOut.get('without a purl') ?? 0) + 1);
      return;
    }
    const p = fromPurl(purl, here, file);
    if (typeof p === 'string') {
      warnings.push(`${here}: ${p}; not scanned`);
      const kind = /\(pkg:([^)]+)\)$/.exec(p)?.[1];
      const why = kind !== undefined ? `pkg:${kind}` : p.endsWith('has no version') ? 'without a version' : 'source packages';
      leftOut.set(why, (leftOut.get(why) ?? 0) + 1);
      return;
    }
    // The document's own statement of the source, when the purl has none; a deb package always
    // has one (dpkg: the binary's own name when it does not say).
    if (p.family === 'rpm') packages.push(p.sourceName === null && source !== null ? { ...p, sourceName: source } : p);
    else if (p.sourceName !== null) packages.push(p);
    else packages.push(source !== null ? { ...p, sourceName: source, sourceVersion: debSourceVersion } : { ...p, sourceName: p.name });
  };
  if (format === 'cyclonedx') {
    const walk = (components: unknown, path: string): void => {
      if (components === undefined) return;
      if (!Array.isArray(components)) throw new BulwarkError('input.invalid', `${file}: ${path} is not an array`, { file });
      components.forEach((c: unknown, i) => {
        const where = `${path}[${String(i)}]`;
        if (!isRec(c)) throw new BulwarkError('input.invalid', `${file}: ${where} is not an object`, { file });
        const here = at(c, where);
        let source: string | null = null;
        const props = new Map<string, string>();
        if (Array.isArray(c['properties']))
          for (const prop of c['properties'] as unknown[])
            if (isRec(prop) && str(prop['name']) !== null && str(prop['value']) !== null) props.set(str(prop['name']) ?? '', str(prop['value']) ?? '');
        if (Array.isArray(c['properties']))
          for (const prop of c['properties'] as unknown[])
            if (isRec(prop) && CDX_SOURCE_PROPERTIES.has(str(prop['name']) ?? '') && str(prop['value']) !== null) {
              try {
                source = sourceNameOf(str(prop['value']) ?? '');
              } catch (err) {
                throw new BulwarkError('input.invalid', `${here}: property ${str(prop['name']) ?? ''}: ${(err as Error).message}`, { file });
              }
            }
        take(str(c['purl']), here, source, trivyDebSourceVersion(props));
        walk(c['components'], `${where}.components`);
      });
    };
    walk(doc['components'], 'components');
  } else {
    const pkgs = doc['packages'];
    if (pkgs !== undefined && !Array.isArray(pkgs)) throw new BulwarkError('input.invalid', `${file}: packages is not an array`, { file });
    const list = (pkgs ?? []) as unknown[];
    // SPDX 2.3 §11: `A GENERATED_FROM B` (or `B GENERATES A`) says binary A was built from B.
    const byId = new Map<string, Rec>();
    for (const p of list) if (isRec(p) && str(p['SPDXID']) !== null) byId.set(str(p['SPDXID']) ?? '', p);
    const builtFrom = new Map<string, Rec>();
    const rels = doc['relationships'];
    if (Array.isArray(rels))
      for (const r of rels as unknown[]) {
        if (!isRec(r)) continue;
        const a = str(r['spdxElementId']);
        const b = str(r['relatedSpdxElement']);
        const type = str(r['relationshipType']);
        if (a === null || b === null) continue;
        if (type === 'GENERATED_FROM' && byId.has(b)) builtFrom.set(a, byId.get(b) as Rec);
        if (type === 'GENERATES' && byId.has(a)) builtFrom.set(b, byId.get(a) as Rec);
      }
    const described = new Set<string>();
    if (Array.isArray(rels)) for (const r of rels as unknown[]) if (isRec(r) && r['relationshipType'] === 'DESCRIBES' && str(r['relatedSpdxElement']) !== null) described.add(str(r['relatedSpdxElement']) ?? '');
    const sources = new Set([...builtFrom.values()]);
    list.forEach((p: unknown, i) => {
      const where = `packages[${String(i)}]`;
      if (!isRec(p)) throw new BulwarkError('input.invalid', `${file}: ${where} is not an object`, { file });
      const here = at(p, where);
      // The document's subject (the image) and source packages are not installed packages.
      if (described.has(str(p['SPDXID']) ?? '\u0000') || sources.has(p)) return;
      const refs = Array.isArray(p['externalRefs']) ? (p['externalRefs'] as unknown[]).filter(isRec) : [];
      const purl = refs.find((r) => r['referenceType'] === 'purl' && typeof r['referenceLocator'] === 'string')?.['referenceLocator'] as string | undefined;
      let source: string | null = null;
      const from = builtFrom.get(str(p['SPDXID']) ?? '');
      try {
        if (from !== undefined) source = sourceNameOf(str(from['name']) ?? '');
        // Bulwark's own SPDX says `built from <source rpm>` (SPDX 2.3 §7.19 sourceInfo).
        const info = /^built from (?:source package )?(\S+)$/.exec(str(p['sourceInfo']) ?? '');
        if (source === null && info?.[1] !== undefined) source = sourceNameOf(info[1]);
      } catch (err) {
        throw new BulwarkError('input.invalid', `${here}: its source package: ${(err as Error).message}`, { file });
      }
      take(purl ?? null, here, source);
    });
  }
  return { packages, warnings, records, leftOut };
}

/**
 * Parses an inventory file in any supported format (detected when not given).
 * @example parseInventory(readFileSync('host.tsv', 'utf8'), 'host.tsv')
 */
export function parseInventory(text: string, file: string, format?: InventoryFormat): ParsedInventory {
  const f = format ?? detectInventoryFormat(text);
  if (f === null) throw new BulwarkError('input.invalid', `${file}: not an inventory Bulwark reads (rpm -qa or dpkg-query in the documented formats, a manifest of .rpm file names, CycloneDX or SPDX JSON)`, { file });
  let packages: InstalledPackage[];
  let warnings: string[] = [];
  let records: number;
  switch (f) {
    case 'rpm-qa':
      packages = parseRpmQa(text, file);
      records = countLines(text);
      break;
    case 'dpkg-query':
      packages = parseDpkg(text, file);
      records = countLines(text);
      break;
    case 'manifest':
      packages = parseManifest(text, file);
      records = countLines(text);
      break;
    case 'cyclonedx':
    case 'spdx':
      ({ packages, warnings, records } = parseSbom(text, file, f));
      break;
  }
  const families = new Set(packages.map((p) => p.family));
  if (families.size > 1) throw new BulwarkError('input.invalid', `${file}: mixes rpm and deb packages`, { file });
  const family: PackageFamily = packages[0]?.family ?? (f === 'dpkg-query' ? 'deb' : 'rpm');
  return { format: f, family, records, ...onceEach(packages, warnings, file) };
}

/**
 * Parses an inventory file a user gives to be scanned, and refuses one with no package it can
 * judge (issue #13): an SBOM of npm packages only, components without a usable purl, a
 * dpkg-query listing of removed packages only, an empty file. Such a scan finds nothing, so a
 * `--fail-on` gate would pass having proved nothing; and stored as a host's inventory it would
 * close the host's findings as fixed. An empty file is refused too: an export that failed
 * (`rpm -qa > f` on a host without rpm, a truncated copy) is far likelier than a Linux host
 * with no packages installed. Only for files a user gives: collectors (SSH, agent, local) call
 * parseInventory, and this does not judge their answers.
 * @example parseInventoryToScan(readFileSync('sbom.json', 'utf8'), 'sbom.json')
 */
export function parseInventoryToScan(text: string, file: string): ParsedInventory {
  const body = text.replace(/^\uFEFF/, '');
  if (countLines(body) === 0) throw new BulwarkError('input.invalid', `${file}: is empty: no packages to scan (an empty inventory is more likely a failed export than a host without packages)`, { file });
  const inv = parseInventory(body, file);
  if (inv.packages.length > 0) return inv;
  if (inv.format === 'cyclonedx' || inv.format === 'spdx') {
    // Parsed again only on this error path, for the counts of what was left out and why.
    const left = [...parseSbom(body, file, inv.format).leftOut].map(([k, n]) => `${String(n)} ${k}`).join(', ');
    throw new BulwarkError('input.invalid', `${file}: 0 of ${String(inv.records)} components are rpm or deb packages Bulwark can judge${left === '' ? '' : ` (${left})`}; a scan of it would prove nothing`, { file });
  }
  throw new BulwarkError('input.invalid', `${file}: 0 of ${String(inv.records)} lines are installed packages; a scan of it would prove nothing`, { file });
}

/**
 * The same package listed twice (a manifest line repeated, an SBOM listing a package under two
 * components) is one installed package: a scan without a database counted it twice ("3
 * packages", 3 source names) where the stored scan of the same file said 2. Each repeat is
 * named in a warning; the same build said to come from two sources is an error.
 */
function onceEach(packages: readonly InstalledPackage[], warnings: string[], file: string): { packages: InstalledPackage[]; warnings: string[] } {
  const seen = new Map<string, InstalledPackage>();
  const repeats = new Map<string, number>();
  for (const p of packages) {
    const key = [p.name, p.epoch ?? '', p.version, p.release ?? '', p.arch].join('\u0000');
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, p);
      continue;
    }
    const shown = `${p.name} ${p.epoch === null ? '' : `${String(p.epoch)}:`}${p.version}${p.release === null ? '' : `-${p.release}`} ${p.arch}`;
    if (first.sourceName !== p.sourceName && first.sourceName !== null && p.sourceName !== null) throw new BulwarkError('input.invalid', `${file}: ${shown} is listed twice, built from ${first.sourceName} and from ${p.sourceName}`, { file });
    if (first.sourceName === null && p.sourceName !== null) seen.set(key, p);
    repeats.set(shown, (repeats.get(shown) ?? 1) + 1);
  }
  const out = [...warnings];
  for (const [shown, n] of repeats) out.push(`${file}: ${shown} is listed ${String(n)} times; counted once`);
  return { packages: [...seen.values()], warnings: out };
}

/** Dist tags that name one release (`.azl3`, src/distros/<id>/ `distTags`) tell the release of an rpm inventory. */
export function releaseFromPackages(packages: readonly InstalledPackage[]): string | null {
  const counts = new Map<string, number>();
  for (const p of packages) {
    const rel = releaseFromDistTag(p.release ?? '');
    if (rel !== null) counts.set(rel, (counts.get(rel) ?? 0) + 1);
  }
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return best === undefined || best[1] * 2 < packages.length ? null : best[0];
}
