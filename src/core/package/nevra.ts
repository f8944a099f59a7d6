import { BulwarkError } from '../errors.js';

/**
 * rpm package identity (DESIGN.md "EVR / NEVRA"). rpm itself never parses a NEVRA string: it
 * stores NAME, EPOCH, VERSION, RELEASE and ARCH as separate header tags and only prints them
 * joined. Parsing therefore follows what the printed forms allow, from the right, because a
 * name may contain '-' and '.' but a version and a release may not contain '-' (rpmbuild
 * refuses "Illegal char '-'" in both) and an arch contains neither '-' nor '.'.
 */
export interface Nevra {
  name: string;
  /** null when the package has no epoch (rpm's %{EPOCH} is "(none)"; compares as 0). */
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
}

/** The largest epoch we accept: rpm stores it as a 32-bit unsigned header integer. */
const MAX_EPOCH = 0xffff_ffff;

function invalid(input: string, why: string): BulwarkError {
  return new BulwarkError('package.invalid', `"${truncate(input)}": ${why}`, { input: truncate(input) });
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function parseEpoch(input: string, text: string): number {
  // rpm prints the epoch in decimal; a sign, spaces or a fraction are not rpm's.
  if (!/^[0-9]+$/.test(text)) throw invalid(input, `epoch "${text}" is not a decimal number`);
  const n = Number(text);
  if (text.length > 10 || n > MAX_EPOCH) throw invalid(input, `epoch ${text} is larger than rpm's 32-bit epoch`);
  return n;
}

function checkPart(input: string, what: string, value: string): void {
  if (value === '') throw invalid(input, `empty ${what}`);
  // Whitespace and control characters never occur in rpm header strings that rpmbuild accepts.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw invalid(input, `${what} contains whitespace or a control character`);
  }
}

/**
 * Splits `name-version-release` (no arch) from the right; the version may carry `epoch:`.
 * Used by the NEVRA and file-name parsers.
 */
function splitNvr(input: string, nvr: string): { name: string; epoch: number | null; version: string; release: string } {
  const relDash = nvr.lastIndexOf('-');
  if (relDash <= 0) throw invalid(input, 'expected name-version-release');
  const verDash = nvr.lastIndexOf('-', relDash - 1);
  if (verDash <= 0) throw invalid(input, 'expected name-version-release');
  const name = nvr.slice(0, verDash);
  let version = nvr.slice(verDash + 1, relDash);
  const release = nvr.slice(relDash + 1);
  let epoch: number | null = null;
  const colon = version.indexOf(':');
  if (colon >= 0) {
    epoch = parseEpoch(input, version.slice(0, colon));
    version = version.slice(colon + 1);
  }
  checkPart(input, 'name', name);
  checkPart(input, 'version', version);
  checkPart(input, 'release', release);
  if (version.includes(':')) throw invalid(input, 'version contains more than one ":"');
  return { name, epoch, version, release };
}

/**
 * Parses `name-[epoch:]version-release.arch`, the form `rpm -q` and dnf print, and also the
 * yum form `epoch:name-version-release.arch`.
 *
 * @example parseNevra('openssl-1:3.3.5-5.azl3.x86_64')
 *   // { name: 'openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'x86_64' }
 */
export function parseNevra(input: string): Nevra {
  const dot = input.lastIndexOf('.');
  if (dot <= 0 || dot === input.length - 1) throw invalid(input, 'expected name-[epoch:]version-release.arch');
  const arch = input.slice(dot + 1);
  if (arch.includes('-')) throw invalid(input, 'expected name-[epoch:]version-release.arch');
  checkPart(input, 'arch', arch);
  let nvr = input.slice(0, dot);
  let leadingEpoch: number | null = null;
  // yum's E:N-V-R.A. rpmbuild refuses ':' in a Name, so a leading "digits:" is an epoch.
  const m = /^([0-9]+):/.exec(nvr);
  if (m?.[1] !== undefined) {
    leadingEpoch = parseEpoch(input, m[1]);
    nvr = nvr.slice(m[0].length);
  }
  const p = splitNvr(input, nvr);
  if (leadingEpoch !== null && p.epoch !== null) throw invalid(input, 'two epochs');
  return { ...p, epoch: leadingEpoch ?? p.epoch, arch };
}

/**
 * Prints `name-[epoch:]version-release.arch`; the epoch only when the package has one.
 * @example formatNevra({ name: 'bash', epoch: null, version: '5.2.15', release: '3.azl3', arch: 'x86_64' })
 *   // 'bash-5.2.15-3.azl3.x86_64'
 */
export function formatNevra(p: Nevra): string {
  const e = p.epoch === null ? '' : `${String(p.epoch)}:`;
  return `${p.name}-${e}${p.version}-${p.release}.${p.arch}`;
}

/** The EVR of a package as `[E:]V-R`, the string `compareRpmEvr` takes. */
export function formatEvr(p: Pick<Nevra, 'epoch' | 'version' | 'release'>): string {
  const e = p.epoch === null ? '' : `${String(p.epoch)}:`;
  return `${e}${p.version}-${p.release}`;
}

/**
 * Parses an rpm file name `name-version-release.arch.rpm` (rpm's default %{_build_name_fmt}
 * without the directory). File names never carry the epoch: `epoch` is always null, and the
 * real epoch must come from the package header or repository metadata.
 *
 * @example parseRpmFileName('acl-2.3.1-2.azl3.x86_64.rpm')
 *   // { name: 'acl', epoch: null, version: '2.3.1', release: '2.azl3', arch: 'x86_64' }
 */
export function parseRpmFileName(input: string): Nevra {
  const base = input.slice(input.lastIndexOf('/') + 1);
  if (!base.endsWith('.rpm')) throw invalid(input, 'an rpm file name ends in ".rpm"');
  const p = parseNevra(base.slice(0, -4));
  if (p.epoch !== null) throw invalid(input, 'an rpm file name has no epoch');
  return p;
}

/**
 * Prints an rpm file name: `name-version-release.arch.rpm` (the epoch is never part of it).
 * @example formatRpmFileName({ name: 'acl', epoch: 0, version: '2.3.1', release: '2.azl3', arch: 'x86_64' })
 *   // 'acl-2.3.1-2.azl3.x86_64.rpm'
 */
export function formatRpmFileName(p: Nevra): string {
  return `${p.name}-${p.version}-${p.release}.${p.arch}.rpm`;
}

/** A source package as `%{SOURCERPM}` names it. */
export interface SourceRpm {
  name: string;
  version: string;
  release: string;
  /** `src`, or `nosrc` for packages built without shipping their sources. */
  arch: 'src' | 'nosrc';
}

/**
 * Parses rpm's `%{SOURCERPM}` tag, e.g. `openssl-3.3.5-5.azl3.src.rpm`. Returns null for
 * `(none)` and the empty string: source packages themselves and gpg-pubkey have no SOURCERPM.
 *
 * @example parseSourceRpm('glibc-2.38-10.azl3.src.rpm') // { name: 'glibc', version: '2.38', release: '10.azl3', arch: 'src' }
 */
export function parseSourceRpm(input: string): SourceRpm | null {
  if (input === '' || input === '(none)') return null;
  const p = parseRpmFileName(input);
  if (p.arch !== 'src' && p.arch !== 'nosrc') throw invalid(input, `a source rpm's arch is src or nosrc, not "${p.arch}"`);
  return { name: p.name, version: p.version, release: p.release, arch: p.arch };
}
