import { BulwarkError } from '../errors.js';

/**
 * Package URLs (purl, https://github.com/package-url/purl-spec, PURL-SPECIFICATION.rst and
 * PURL-TYPES.rst): `pkg:type/namespace/name@version?qualifiers#subpath`. SBOMs, OSV and CSAF
 * name packages this way.
 *
 * - rpm: `pkg:rpm/<vendor>/<name>@<version>-<release>?arch=<arch>&epoch=<n>&distro=<id>`; the
 *   epoch is a qualifier, never part of the version.
 * - deb: `pkg:deb/<vendor>/<name>@<version>?arch=<arch>&distro=<codename>`; the version is the
 *   full Debian version, epoch included.
 */
export interface Purl {
  type: string;
  namespace: string | null;
  name: string;
  version: string | null;
  /** Sorted by key when printed. Keys are lower-case. */
  qualifiers: Record<string, string>;
  subpath: string | null;
}

function invalid(input: string, why: string): BulwarkError {
  const shown = input.length > 200 ? `${input.slice(0, 200)}…` : input;
  return new BulwarkError('package.invalid', `package URL "${shown}": ${why}`, { input: shown });
}

// The spec: percent-encode everything outside unreserved characters, but ':' need not be
// (and canonical purls leave it: `pkg:deb/debian/libc6@2:2.36-9`). encodeURIComponent leaves
// A-Z a-z 0-9 - _ . ! ~ * ' ( ) unencoded; the spec wants only A-Z a-z 0-9 . - _ ~ left.
function encode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%3A/g, ':');
}

function decode(input: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(input, `bad percent-encoding in "${s}"`);
  }
}

/**
 * Prints a purl in canonical form: type and namespace as given (rpm and deb are lower-case
 * by convention), qualifiers sorted, empty qualifier values dropped.
 * @example formatPurl({ type: 'deb', namespace: 'debian', name: 'curl', version: '7.88.1-10', qualifiers: { arch: 'amd64' }, subpath: null })
 *   // 'pkg:deb/debian/curl@7.88.1-10?arch=amd64'
 */
export function formatPurl(p: Purl): string {
  let s = `pkg:${p.type.toLowerCase()}/`;
  if (p.namespace !== null && p.namespace !== '') s += `${p.namespace.split('/').map(encode).join('/')}/`;
  s += encode(p.name);
  if (p.version !== null) s += `@${encode(p.version)}`;
  const keys = Object.keys(p.qualifiers)
    .filter((k) => p.qualifiers[k] !== '')
    .sort();
  if (keys.length > 0) s += `?${keys.map((k) => `${k.toLowerCase()}=${encode(p.qualifiers[k] ?? '')}`).join('&')}`;
  if (p.subpath !== null && p.subpath !== '') s += `#${p.subpath.split('/').map(encode).join('/')}`;
  return s;
}

/**
 * Parses a purl, following the spec's parsing steps right to left (subpath, qualifiers,
 * scheme, type, version, name, namespace).
 * @example parsePurl('pkg:rpm/azurelinux/openssl@3.3.5-5.azl3?arch=x86_64&epoch=1')
 */
export function parsePurl(input: string): Purl {
  let rest = input;
  let subpath: string | null = null;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    const sp = rest
      .slice(hash + 1)
      .split('/')
      .filter((seg) => seg !== '' && seg !== '.' && seg !== '..')
      .map((seg) => decode(input, seg));
    subpath = sp.length > 0 ? sp.join('/') : null;
    rest = rest.slice(0, hash);
  }
  const qualifiers: Record<string, string> = {};
  const q = rest.indexOf('?');
  if (q >= 0) {
    for (const pair of rest.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw invalid(input, `qualifier "${pair}" has no key=value`);
      const key = pair.slice(0, eq).toLowerCase();
      if (!/^[a-z._-][a-z0-9._-]*$/.test(key)) throw invalid(input, `bad qualifier key "${key}"`);
      if (key in qualifiers) throw invalid(input, `qualifier "${key}" given twice`);
      const value = decode(input, pair.slice(eq + 1));
      if (value !== '') qualifiers[key] = value;
    }
    rest = rest.slice(0, q);
  }
  if (!rest.toLowerCase().startsWith('pkg:')) throw invalid(input, 'does not start with "pkg:"');
  rest = rest.slice(4).replace(/^\/+/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid(input, 'no type');
  const type = rest.slice(0, slash).toLowerCase();
  if (!/^[a-z.+-][a-z0-9.+-]*$/.test(type)) throw invalid(input, `bad type "${type}"`);
  rest = rest.slice(slash + 1).replace(/\/+$/, '');
  let version: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    version = decode(input, rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  const segs = rest.split('/').filter((seg) => seg !== '');
  const rawName = segs.pop();
  if (rawName === undefined) throw invalid(input, 'no name');
  const name = decode(input, rawName);
  if (name === '') throw invalid(input, 'empty name');
  const namespace = segs.length > 0 ? segs.map((seg) => decode(input, seg)).join('/') : null;
  return { type, namespace, name, version: version === '' ? null : version, qualifiers, subpath };
}

/**
 * The purl of an rpm package (purl-spec types/rpm-definition.json): namespace the lower-cased
 * vendor, version `V-R`, the epoch as a qualifier when the package has one (never in the
 * version), `arch`, `distro`; `upstream` names the source rpm (file name or name), as syft and
 * trivy write it. `vendor` is e.g. `azurelinux`, `fedora`, `redhat`; `distro` e.g. `azurelinux-3.0`.
 * @example rpmPurl({ name: 'openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'x86_64' }, 'azurelinux', 'azurelinux-3.0')
 *   // 'pkg:rpm/azurelinux/openssl@3.3.5-5.azl3?arch=x86_64&distro=azurelinux-3.0&epoch=1'
 */
export function rpmPurl(
  p: { name: string; epoch: number | null; version: string; release: string | null; arch: string | null; upstream?: string },
  vendor: string,
  distro?: string,
): string {
  const qualifiers: Record<string, string> = {};
  if (p.arch !== null) qualifiers['arch'] = p.arch;
  if (p.epoch !== null && p.epoch !== 0) qualifiers['epoch'] = String(p.epoch);
  if (distro !== undefined) qualifiers['distro'] = distro;
  if (p.upstream !== undefined) qualifiers['upstream'] = p.upstream;
  const version = p.release === null ? p.version : `${p.version}-${p.release}`;
  return formatPurl({ type: 'rpm', namespace: vendor.toLowerCase(), name: p.name, version, qualifiers, subpath: null });
}

/**
 * The purl of a Debian package (purl-spec types/deb-definition.json): namespace and name
 * lower-cased, `version` the full Debian version (epoch included), `arch`, `distro`; `upstream`
 * the source package (`name` or `name@version`) when it differs from the binary.
 * @example debPurl({ name: 'curl', version: '7.88.1-10+deb12u8', arch: 'amd64' }, 'debian', 'debian-12')
 *   // 'pkg:deb/debian/curl@7.88.1-10%2Bdeb12u8?arch=amd64&distro=debian-12'
 */
export function debPurl(p: { name: string; version: string; arch: string | null; upstream?: string }, vendor: string, distro?: string): string {
  const qualifiers: Record<string, string> = {};
  if (p.arch !== null) qualifiers['arch'] = p.arch;
  if (distro !== undefined) qualifiers['distro'] = distro;
  if (p.upstream !== undefined) qualifiers['upstream'] = p.upstream;
  return formatPurl({ type: 'deb', namespace: vendor.toLowerCase(), name: p.name.toLowerCase(), version: p.version, qualifiers, subpath: null });
}
