import { BulwarkError } from '../core/errors.js';
import type { PackageFamily } from '../core/release.js';
import type { InstalledPackage } from '../core/target.js';
import { DPKG_QUERY_FORMAT, parseDpkg } from './formats/dpkg-query.js';
import { parseManifest } from './formats/manifest.js';
import { parseSbom } from './formats/sbom.js';
import { releaseFromDistTag } from '../distros/registry.js';
import { parseRpmQa, RPM_QA_QUERYFORMAT } from './rpm-qa.js';
import { parseNevra } from '../core/package/nevra.js';

/**
 * Inventories Bulwark imports (issue #4): `rpm -qa` in RPM_QA_QUERYFORMAT, `dpkg-query -W` in
 * DPKG_QUERY_FORMAT (5 fields, or 6 with the status), Azure Linux manifest lists (one rpm file
 * name per line), and CycloneDX / SPDX JSON SBOMs (packages by purl). Strict: a malformed line
 * or component refuses the file, naming it; half an inventory would hide vulnerable packages.
 * Each form has its reader: rpm-qa.ts, formats/dpkg-query.ts, formats/manifest.ts and
 * formats/sbom.ts (formats/cyclonedx.ts, formats/spdx.ts, packages by formats/purl.ts).
 */
export type InventoryFormat = 'rpm-qa' | 'dpkg-query' | 'manifest' | 'cyclonedx' | 'spdx';

export { DPKG_QUERY_FORMAT } from './formats/dpkg-query.js';

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
  // Trailing spaces (an edited file) do not hide the form: rpm-qa.ts reads them as rpm's own lines.
  const fields = line.replace(/\r$/, '').split('\t').length;
  if (fields === 6 && /\.src\.rpm$|\t\(none\)$/.test(line.replace(/[ \r]+$/, ''))) return 'rpm-qa';
  if (fields === 6 || fields === 5) return 'dpkg-query';
  if (fields === 1 && /\.rpm$/.test(line.trim())) return 'manifest';
  return null;
}

/**
 * What a file Bulwark does not read looks like, when it is a common export in another form, and
 * the command that exports what Bulwark needs: plain `rpm -qa` prints no epoch and no source
 * package (an epoch-1 package read as epoch 0 is "vulnerable" to every fix of epoch 1), and
 * `dpkg-query -W` / `dpkg -l` print no source package (Debian and Ubuntu advisories name sources).
 */
function exportHint(text: string): string {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const first = lines[0] ?? '';
  const rpm = `; export it with: rpm -qa --queryformat '${RPM_QA_QUERYFORMAT}'`;
  const dpkg = `; export it with: dpkg-query -W -f='${DPKG_QUERY_FORMAT}'`;
  if (/^Desired=|^\|\|\/ Name|^ii {2}/.test(first)) return `. It looks like \`dpkg -l\` output, which names no source package${dpkg}`;
  if (first.split('\t').length === 2) return `. It looks like \`dpkg-query -W\` output in its default format (package and version only)${dpkg}`;
  if (/^\S+$/.test(first) && !first.endsWith('.rpm')) {
    try {
      parseNevra(first);
      return `. It looks like plain \`rpm -qa\` output (name-version-release.arch), which shows no epoch and no source package${rpm}`;
    } catch {
      if (/^gpg-pubkey-[0-9a-f]+-[0-9a-f]+$/.test(first)) return `. It looks like plain \`rpm -qa\` output${rpm}`;
    }
  }
  if (/^installed packages$/i.test(first) || /^[^\s.]\S*\.[\w-]+\s+(?:\d+:)?[^\s:]+-[^\s]+\s+@?\S+$/.test(first))
    return `. It looks like \`dnf list --installed\` (or \`yum list installed\`) output, which names no source package${rpm}`;
  // Anything else (another tool's listing, fields in another order): the line that was read, and both commands.
  if (first === '' || first.startsWith('{')) return '';
  const shown = JSON.stringify(first.length > 120 ? `${first.slice(0, 120)}…` : first);
  return `. Its first line, ${shown}, is none of these; export an rpm host's packages with: rpm -qa --queryformat '${RPM_QA_QUERYFORMAT}', a Debian or Ubuntu host's with: dpkg-query -W -f='${DPKG_QUERY_FORMAT}'`;
}

function countLines(text: string): number {
  return text.split('\n').filter((raw) => raw.trim() !== '' && !raw.trimStart().startsWith('#')).length;
}

/**
 * Parses an inventory file in any supported format (detected when not given).
 * @example parseInventory(readFileSync('host.tsv', 'utf8'), 'host.tsv')
 */
export function parseInventory(text: string, file: string, format?: InventoryFormat): ParsedInventory {
  const f = format ?? detectInventoryFormat(text);
  if (f === null)
    throw new BulwarkError(
      'input.invalid',
      `${file}: not an inventory Bulwark reads (rpm -qa or dpkg-query in the documented formats, a manifest of .rpm file names, CycloneDX or SPDX JSON)${exportHint(text)}`,
      { file },
    );
  let packages: InstalledPackage[];
  let warnings: string[] = [];
  let records: number;
  switch (f) {
    case 'rpm-qa':
      packages = parseRpmQa(text, file);
      // Every line countLines counts is a package here (parseRpmQa refuses any other): the same count.
      records = packages.length;
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
  // rpm -qa lines hold no NUL (parseRpmQa refuses one): no key of onceEach is ambiguous, and
  // the distinct ones are told by name first (issue #14: 600 keys built per agent report).
  if (f === 'rpm-qa' && allDistinct(packages)) return { format: f, family, records, packages, warnings };
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
  if (countLines(body) === 0)
    throw new BulwarkError(
      'input.invalid',
      `${file}: is empty: no packages to scan (an empty inventory is more likely a failed export than a host without packages)`,
      { file },
    );
  const inv = parseInventory(body, file);
  if (inv.packages.length > 0) return inv;
  if (inv.format === 'cyclonedx' || inv.format === 'spdx') {
    // Parsed again only on this error path, for the counts of what was left out and why.
    const left = [...parseSbom(body, file, inv.format).leftOut].map(([k, n]) => `${String(n)} ${k}`).join(', ');
    throw new BulwarkError(
      'input.invalid',
      `${file}: 0 of ${String(inv.records)} components are rpm or deb packages Bulwark can judge${left === '' ? '' : ` (${left})`}; a scan of it would prove nothing`,
      { file },
    );
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
    const key = `${p.name}\u0000${String(p.epoch ?? '')}\u0000${p.version}\u0000${p.release ?? ''}\u0000${p.arch}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, p);
      continue;
    }
    const shown = `${p.name} ${p.epoch === null ? '' : `${String(p.epoch)}:`}${p.version}${p.release === null ? '' : `-${p.release}`} ${p.arch}`;
    if (first.sourceName !== p.sourceName && first.sourceName !== null && p.sourceName !== null)
      throw new BulwarkError('input.invalid', `${file}: ${shown} is listed twice, built from ${first.sourceName} and from ${p.sourceName}`, { file });
    if (first.sourceName === null && p.sourceName !== null) seen.set(key, p);
    repeats.set(shown, (repeats.get(shown) ?? 1) + 1);
  }
  const out = [...warnings];
  for (const [shown, n] of repeats) out.push(`${file}: ${shown} is listed ${String(n)} times; counted once`);
  return { packages: [...seen.values()], warnings: out };
}

/**
 * No two packages share name, epoch, version, release and arch (onceEach would keep them all, in
 * order, with no warning). Names first: a build is compared with the others of its name only.
 */
function allDistinct(packages: readonly InstalledPackage[]): boolean {
  const byName = new Map<string, InstalledPackage | InstalledPackage[]>();
  for (const p of packages) {
    const was = byName.get(p.name);
    if (was === undefined) {
      byName.set(p.name, p);
      continue;
    }
    const list = Array.isArray(was) ? was : [was];
    for (const q of list) if (q.epoch === p.epoch && q.version === p.version && (q.release ?? '') === (p.release ?? '') && q.arch === p.arch) return false;
    list.push(p);
    if (list !== was) byName.set(p.name, list);
  }
  return true;
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
