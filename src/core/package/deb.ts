import { BulwarkError } from '../errors.js';
import { checkDebVersion } from '../version/deb.js';

/**
 * Debian package identity: names, the `Source:` field, and the fixed-format `dpkg-query`
 * output Bulwark's collectors ask for.
 */

/**
 * Debian Policy 5.6.1: package names are at least two characters of lower-case letters,
 * digits, `+`, `-` and `.`, starting with a letter or digit.
 * @example isValidDebPackageName('libssl3t64') // true
 */
export function isValidDebPackageName(name: string): boolean {
  return /^[a-z0-9][a-z0-9+.-]+$/.test(name);
}

/** A Debian architecture name: `amd64`, `arm64`, `all`, `any`, `linux-any`… (dpkg-architecture). */
export function isValidDebArch(arch: string): boolean {
  return /^[a-z0-9][a-z0-9-]*$/.test(arch);
}

export interface DebSource {
  name: string;
  /** null when the `Source:` field has no "(version)": the source version is the binary's. */
  version: string | null;
}

function invalid(what: string, input: string, why: string): BulwarkError {
  const shown = input.length > 200 ? `${input.slice(0, 200)}…` : input;
  return new BulwarkError('package.invalid', `${what} "${shown}": ${why}`, { input: shown });
}

/**
 * Parses a binary package's `Source:` field (Debian Policy 5.6.1): `name` or `name (version)`.
 * @example parseDebSourceField('openssl (3.0.15-1~deb12u1)') // { name: 'openssl', version: '3.0.15-1~deb12u1' }
 */
export function parseDebSourceField(field: string): DebSource {
  const m = /^\s*([^\s(]+)\s*(?:\(\s*([^\s()]+)\s*\))?\s*$/.exec(field);
  if (!m?.[1]) throw invalid('Source field', field, 'expected "name" or "name (version)"');
  const name = m[1];
  if (!isValidDebPackageName(name)) throw invalid('Source field', field, `"${name}" is not a valid package name`);
  const version = m[2] ?? null;
  if (version !== null) {
    const why = checkDebVersion(version);
    if (why !== null) throw invalid('Source field', field, why);
  }
  return { name, version };
}

/**
 * The `dpkg-query --showformat` Bulwark's collectors use: one package per line, fields
 * separated by tabs, in this order. `${source:Package}` and `${source:Version}` (dpkg >=
 * 1.16.2) give the source even when the binary has no explicit Source field.
 */
export const DPKG_QUERY_FORMAT = '${binary:Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\t${db:Status-Abbrev}\\n';

export interface DpkgQueryRecord {
  /** The package name without a `:arch` qualifier (dpkg's binary:Package adds it for Multi-Arch: same). */
  name: string;
  version: string;
  arch: string;
  sourceName: string;
  sourceVersion: string;
  /** dpkg's three-letter status abbreviation, e.g. `ii ` (installed), `rc ` (config files only). */
  status: string;
  /** True when the package is unpacked and configured ('i' in the second column). */
  installed: boolean;
}

/**
 * Parses one line of `dpkg-query -W -f "$DPKG_QUERY_FORMAT"` by field count.
 * @example parseDpkgQueryLine('curl\t7.88.1-10+deb12u8\tamd64\tcurl\t7.88.1-10+deb12u8\tii ')
 */
export function parseDpkgQueryLine(line: string): DpkgQueryRecord {
  const f = line.split('\t');
  if (f.length !== 6) throw invalid('dpkg-query line', line, `expected 6 tab-separated fields, got ${String(f.length)}`);
  const [qualified, version, arch, sourceName, sourceVersion, status] = f as [string, string, string, string, string, string];
  const colon = qualified.indexOf(':');
  const name = colon >= 0 ? qualified.slice(0, colon) : qualified;
  if (!isValidDebPackageName(name)) throw invalid('dpkg-query line', line, `"${name}" is not a valid package name`);
  if (!isValidDebArch(arch)) throw invalid('dpkg-query line', line, `"${arch}" is not a valid architecture`);
  if (version === '') throw invalid('dpkg-query line', line, 'empty version');
  const why = checkDebVersion(version);
  if (why !== null) throw invalid('dpkg-query line', line, why);
  const src = sourceName === '' ? name : sourceName;
  const srcVersion = sourceVersion === '' ? version : sourceVersion;
  if (!isValidDebPackageName(src)) throw invalid('dpkg-query line', line, `"${src}" is not a valid source package name`);
  return { name, version, arch, sourceName: src, sourceVersion: srcVersion, status, installed: status.length >= 2 && status[1] === 'i' };
}
