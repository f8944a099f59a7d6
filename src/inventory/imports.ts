import { BulwarkError } from '../core/errors.js';
import { parseDpkgQueryLine } from '../core/package/deb.js';
import { parseRpmFileName, parseSourceRpm } from '../core/package/nevra.js';
import { parsePurl } from '../core/package/purl.js';
import type { PackageFamily } from '../core/release.js';
import type { InstalledPackage } from '../core/target.js';
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
    if (!line.endsWith('.rpm')) return; // macro_packages.txt style bare names are not packages
    try {
      const p = parseRpmFileName(line);
      // File names never show the epoch (data notes 2.1) nor the source package.
      out.push({ family: 'rpm', name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, sourceName: null, sourceVersion: null });
    } catch (err) {
      throw new BulwarkError('input.invalid', `${file}:${String(i + 1)}: ${(err as Error).message}`, { file, line: i + 1 });
    }
  });
  return out;
}

/** One package from a purl: pkg:rpm/… (epoch, arch, upstream = source rpm) or pkg:deb/… (arch, upstream = source). */
function fromPurl(purl: string, where: string, file: string): InstalledPackage | null {
  let p;
  try {
    p = parsePurl(purl);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${file}: ${where}: ${(err as Error).message}`, { file });
  }
  if (p.version === null) return null;
  if (p.type === 'rpm') {
    const dash = p.version.lastIndexOf('-');
    const version = dash > 0 ? p.version.slice(0, dash) : p.version;
    const release = dash > 0 ? p.version.slice(dash + 1) : null;
    const epochText = p.qualifiers['epoch'];
    const epoch = epochText === undefined ? null : Number(epochText);
    if (epoch !== null && !Number.isInteger(epoch)) throw new BulwarkError('input.invalid', `${file}: ${where}: epoch "${epochText ?? ''}" is not a number`, { file });
    const upstream = p.qualifiers['upstream'];
    let sourceName: string | null = null;
    if (upstream !== undefined) sourceName = upstream.endsWith('.rpm') ? (parseSourceRpm(upstream)?.name ?? null) : upstream;
    return { family: 'rpm', name: p.name, epoch, version, release, arch: p.qualifiers['arch'] ?? 'noarch', sourceName, sourceVersion: null };
  }
  if (p.type === 'deb') {
    const upstream = p.qualifiers['upstream'];
    const parts = upstream?.split('@') ?? [];
    return { family: 'deb', name: p.name, epoch: null, version: p.version, release: null, arch: p.qualifiers['arch'] ?? 'all', sourceName: parts[0] ?? p.name, sourceVersion: parts[1] ?? null };
  }
  return null; // npm, pypi…: not a distribution package
}

function parseSbom(text: string, file: string, format: 'cyclonedx' | 'spdx'): InstalledPackage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BulwarkError('input.invalid', `${file}: not JSON: ${(err as Error).message}`, { file });
  }
  const purls: [string, string][] = [];
  if (format === 'cyclonedx') {
    const walk = (components: unknown, path: string): void => {
      if (!Array.isArray(components)) return;
      components.forEach((c: unknown, i) => {
        if (typeof c !== 'object' || c === null) return;
        const rec = c as { purl?: unknown; components?: unknown };
        if (typeof rec.purl === 'string') purls.push([rec.purl, `${path}[${String(i)}]`]);
        walk(rec.components, `${path}[${String(i)}].components`);
      });
    };
    walk((doc as { components?: unknown }).components, 'components');
  } else {
    const pkgs = (doc as { packages?: unknown }).packages;
    if (Array.isArray(pkgs))
      pkgs.forEach((p: unknown, i) => {
        const refs = (p as { externalRefs?: unknown } | null)?.externalRefs;
        if (!Array.isArray(refs)) return;
        for (const r of refs as { referenceType?: unknown; referenceLocator?: unknown }[])
          if (r.referenceType === 'purl' && typeof r.referenceLocator === 'string') purls.push([r.referenceLocator, `packages[${String(i)}]`]);
      });
  }
  return purls.map(([purl, where]) => fromPurl(purl, where, file)).filter((x): x is InstalledPackage => x !== null);
}

/**
 * Parses an inventory file in any supported format (detected when not given).
 * @example parseInventory(readFileSync('host.tsv', 'utf8'), 'host.tsv')
 */
export function parseInventory(text: string, file: string, format?: InventoryFormat): ParsedInventory {
  const f = format ?? detectInventoryFormat(text);
  if (f === null) throw new BulwarkError('input.invalid', `${file}: not an inventory Bulwark reads (rpm -qa or dpkg-query in the documented formats, a manifest of .rpm file names, CycloneDX or SPDX JSON)`, { file });
  let packages: InstalledPackage[];
  switch (f) {
    case 'rpm-qa':
      packages = parseRpmQa(text, file);
      break;
    case 'dpkg-query':
      packages = parseDpkg(text, file);
      break;
    case 'manifest':
      packages = parseManifest(text, file);
      break;
    case 'cyclonedx':
    case 'spdx':
      packages = parseSbom(text, file, f);
      break;
  }
  const families = new Set(packages.map((p) => p.family));
  if (families.size > 1) throw new BulwarkError('input.invalid', `${file}: mixes rpm and deb packages`, { file });
  const family: PackageFamily = packages[0]?.family ?? (f === 'dpkg-query' ? 'deb' : 'rpm');
  return { format: f, family, packages };
}

/** Azure Linux / CBL-Mariner dist tags in release strings tell the release of an rpm inventory. */
export function releaseFromPackages(packages: readonly InstalledPackage[]): string | null {
  const counts = new Map<string, number>();
  for (const p of packages) {
    const m = /\.(azl3|cm2|cm1)(?:$|[._+~^])/.exec(p.release ?? '');
    if (m?.[1] !== undefined) {
      const rel = m[1] === 'azl3' ? 'azurelinux:3.0' : m[1] === 'cm2' ? 'mariner:2.0' : 'mariner:1.0';
      counts.set(rel, (counts.get(rel) ?? 0) + 1);
    }
  }
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return best === undefined || best[1] * 2 < packages.length ? null : best[0];
}
