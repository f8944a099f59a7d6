import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';

/**
 * The package-manager commands a patch run executes on a host (issue #5): argv arrays only,
 * with package names and versions validated first — they come from feeds, and although argv
 * needs no shell quoting, a name starting with "-" would still be read as an option.
 *
 * dnf (4 and 5) and tdnf take `name-[epoch:]version-release` to mean exactly that build;
 * apt takes `name=version`. The precheck is each manager's dry run: `--assumeno` (dnf, tdnf)
 * resolves the transaction and stops, `apt-get -s` simulates it.
 */
export type PackageManager = 'dnf' | 'tdnf' | 'apt';

export interface Target {
  name: string;
  /** rpm: `[E:]V-R`; deb: the Debian version. */
  version: string;
  arch?: string | null;
}

const RPM_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const RPM_EVR = /^(\d+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+$/;
const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const DEB_VERSION = /^(\d+:)?[A-Za-z0-9.+~-]+$/;
const ARCH = /^[A-Za-z0-9_]+$/;

function checked(pm: PackageManager, t: Target): string {
  const deb = pm === 'apt';
  if (!(deb ? DEB_NAME : RPM_NAME).test(t.name)) throw new BulwarkError('input.invalid', `"${t.name}" is not a package name ${pm} is given`);
  if (!(deb ? DEB_VERSION : RPM_EVR).test(t.version)) throw new BulwarkError('input.invalid', `"${t.version}" is not a version ${pm} is given for ${t.name}`);
  if (t.arch !== undefined && t.arch !== null && !ARCH.test(t.arch)) throw new BulwarkError('input.invalid', `"${t.arch}" is not an architecture`);
  if (deb) return `${t.name}${t.arch === undefined || t.arch === null ? '' : `:${t.arch}`}=${t.version}`;
  // dnf reads "name-epoch:version-release[.arch]"; an explicit 0 epoch is accepted and exact.
  return `${t.name}-${t.version}${t.arch === undefined || t.arch === null ? '' : `.${t.arch}`}`;
}

export interface CommandOptions {
  /** Run against another root (tests, images): dnf/tdnf --installroot. */
  installroot?: string;
  /** Extra leading arguments the host needs (e.g. `--setopt=…`, `--repofrompath=…`), validated by the caller. */
  extra?: readonly string[];
}

/**
 * Arguments that make dnf or tdnf use one repository only (a policy's content-view source);
 * apt has no per-command equivalent, so its hosts are pointed at the view in their sources.
 * @example sourceArgv('dnf', 'bulwark-azl3-prod') // ['--disablerepo=*', '--enablerepo=bulwark-azl3-prod']
 */
export function sourceArgv(pm: PackageManager, repoId: string | null | undefined): string[] {
  if (repoId === null || repoId === undefined || pm === 'apt') return [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/.test(repoId)) throw new BulwarkError('input.invalid', `"${repoId}" is not a repository id`);
  return ['--disablerepo=*', `--enablerepo=${repoId}`];
}

/**
 * What refreshes the host's view of its repositories before a precheck, when its manager does not
 * do it on its own: apt reads only the lists `apt-get update` last fetched (dnf and tdnf refresh
 * expired metadata themselves).
 */
export function refreshArgv(pm: PackageManager, o: CommandOptions = {}): string[] | null {
  return pm === 'apt' ? ['apt-get', ...(o.extra ?? []), '-q', 'update'] : null;
}

/**
 * The dry run that proves the update can be done, without doing it.
 * @example precheckArgv('dnf', [{ name: 'openssl', version: '1:3.3.5-5.azl3' }])
 */
export function precheckArgv(pm: PackageManager, targets: readonly Target[], o: CommandOptions = {}): string[] {
  if (targets.length === 0) throw new BulwarkError('usage', 'nothing to update');
  const specs = targets.map((t) => checked(pm, t));
  switch (pm) {
    case 'dnf':
    case 'tdnf':
      return [pm, ...(o.installroot === undefined ? [] : [`--installroot=${o.installroot}`]), ...(o.extra ?? []), '--assumeno', 'install', ...specs];
    case 'apt':
      return ['apt-get', ...(o.extra ?? []), '-s', '-q', 'install', '--only-upgrade', '--no-install-recommends', ...specs];
  }
}

/**
 * The update of exactly these packages to exactly these versions.
 * @example updateArgv('tdnf', [{ name: 'curl', version: '8.11.1-3.azl3' }])
 */
export function updateArgv(pm: PackageManager, targets: readonly Target[], o: CommandOptions = {}): string[] {
  if (targets.length === 0) throw new BulwarkError('usage', 'nothing to update');
  const specs = targets.map((t) => checked(pm, t));
  switch (pm) {
    case 'dnf':
    case 'tdnf':
      return [pm, ...(o.installroot === undefined ? [] : [`--installroot=${o.installroot}`]), ...(o.extra ?? []), '-y', 'install', ...specs];
    case 'apt':
      // Keep the admin's configuration files; never prompt (DEBIAN_FRONTEND=noninteractive is set by the runner).
      return ['apt-get', ...(o.extra ?? []), '-y', '-q', '-o', 'Dpkg::Options::=--force-confold', 'install', '--only-upgrade', '--no-install-recommends', ...specs];
  }
}

/**
 * What lists the versions a host's repositories offer for `names`. Debian archives keep only a
 * suite's newest build, and Fedora's updates repository only the newest update, so an advisory's
 * fixed version is often superseded by the time a host is patched, and an exact install of it
 * finds nothing. apt-cache show (apt) and repoquery (dnf 4 and 5) list what is offered; tdnf,
 * on Azure Linux 2.0 and 3.0, whose repositories keep every build, is given the planned version.
 */
export function availableArgv(pm: PackageManager, names: readonly string[], o: CommandOptions = {}): string[] | null {
  if (names.length === 0 || pm === 'tdnf') return null;
  const deb = pm === 'apt';
  for (const n of names) if (!(deb ? DEB_NAME : RPM_NAME).test(n)) throw new BulwarkError('input.invalid', `"${n}" is not a package name ${pm} is given`);
  if (deb) return ['apt-cache', ...(o.extra ?? []), 'show', ...names];
  // The format ends in a backslash and an n, not a line break (an agent task word holds none):
  // dnf5 reads it as the line's end; dnf 4 too, adding its own (blank lines, skipped).
  return ['dnf', ...(o.installroot === undefined ? [] : [`--installroot=${o.installroot}`]), ...(o.extra ?? []), '-q', 'repoquery', '--qf', '%{name} %{epoch}:%{version}-%{release}\\n', '--', ...names];
}

export interface AvailableVersion {
  version: string;
  /** The version of its source (`Source: name (version)`), else its own: Debian fixes name source versions. */
  source: string;
}

/** The versions `apt-cache show` (apt) or `repoquery` (dnf) lists, by package. */
export function readAvailable(pm: PackageManager, stdout: string): Map<string, AvailableVersion[]> {
  const out = new Map<string, AvailableVersion[]>();
  const add = (name: string, v: AvailableVersion): void => {
    const list = out.get(name) ?? [];
    if (!list.some((x) => x.version === v.version)) list.push(v);
    out.set(name, list);
  };
  if (pm !== 'apt') {
    for (const line of stdout.split('\n')) {
      const m = /^(\S+) (\d+:\S+)$/.exec(line.trim());
      if (m !== null && RPM_EVR.test(m[2] ?? '')) add(m[1] ?? '', { version: m[2] ?? '', source: m[2] ?? '' });
    }
    return out;
  }
  for (const para of stdout.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(para)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(para)?.[1];
    if (name === undefined || version === undefined || !DEB_VERSION.test(version)) continue;
    add(name, { version, source: /^Source:\s*\S+\s+\(([^)\s]+)\)\s*$/m.exec(para)?.[1] ?? version });
  }
  return out;
}

/**
 * The versions to install: the planned one where the host's repositories have it, else the
 * lowest they have whose source version reaches it (the fix superseded by a later build); a
 * package with neither keeps its planned version, which the precheck then reports missing.
 */
export function resolveTargets(targets: readonly Target[], available: ReadonlyMap<string, readonly AvailableVersion[]>, compare: (a: string, b: string) => number): { targets: Target[]; changed: string[] } {
  const changed: string[] = [];
  const out = targets.map((t) => {
    const offered = available.get(t.name) ?? [];
    if (offered.some((x) => x.version === t.version)) return t;
    // The same version written another way (rpm: with or without a 0 epoch): the repository's spelling.
    const same = offered.find((x) => compare(x.version, t.version) === 0);
    if (same !== undefined) return { ...t, version: same.version };
    const later = offered.filter((x) => compare(x.source, t.version) >= 0).sort((a, b) => compare(a.version, b.version))[0];
    if (later === undefined) return t;
    changed.push(`${t.name} ${later.version} (the planned ${t.version} is no longer offered)`);
    return { ...t, version: later.version };
  });
  return { targets: out, changed };
}

export interface PrecheckResult {
  ok: boolean;
  /** Packages the manager reports it cannot find at the requested version. */
  missing: string[];
  message: string;
}

/**
 * Reads a precheck's outcome. dnf and tdnf with `--assumeno` exit 1 after printing the
 * transaction ("Operation aborted"), and also 1 when a package is missing ("No match for
 * argument" / "No package … available"): the text tells them apart. apt-get -s exits 0 on success.
 */
export function readPrecheck(pm: PackageManager, exitCode: number | null, stdout: string, stderr: string): PrecheckResult {
  const text = `${stdout}\n${stderr}`;
  const missing = [
    ...text.matchAll(/No match for argument:\s*(\S+)/g),
    ...text.matchAll(/No package (\S+) available/g),
    ...text.matchAll(/Version '([^']+)' for '([^']+)' was not found/g),
    ...text.matchAll(/E: Unable to locate package (\S+)/g),
  ].map((m) => (m[2] !== undefined ? `${m[2]}=${m[1] ?? ''}` : (m[1] ?? '')));
  if (missing.length > 0) return { ok: false, missing, message: `not available: ${missing.join(', ')}` };
  if (pm === 'apt') return exitCode === 0 ? { ok: true, missing, message: 'apt-get -s resolved the upgrade' } : { ok: false, missing, message: text.trim().split('\n').slice(-3).join(' ') };
  if (/Operation aborted|Exiting on user command|Transaction Summary|Nothing to do/i.test(text) && !/Error:/i.test(text.replace(/Error: Operation aborted\.?/i, ''))) return { ok: true, missing, message: /Nothing to do/i.test(text) ? 'already at the planned versions' : 'the transaction resolves' };
  return { ok: exitCode === 0, missing, message: text.trim().split('\n').slice(-3).join(' ') };
}

/**
 * The release's own package manager: tdnf on Azure Linux 2.0/3.0 and CBL-Mariner, dnf (dnf5) on
 * Azure Linux 4.0, dnf on Fedora and the RHEL family, apt on Debian and Ubuntu.
 * @example managerFor('azurelinux:3.0') // 'tdnf'
 */
export function managerFor(release: string | null): PackageManager {
  const parsed = release === null ? null : parseReleaseId(release);
  switch (parsed?.distro) {
    case 'azurelinux':
      // Azure Linux 4.0 moved to dnf5; 2.0 and 3.0 ship tdnf.
      return Number.parseInt(parsed.version, 10) >= 4 ? 'dnf' : 'tdnf';
    case 'mariner':
    case 'cbl-mariner':
      return 'tdnf';
    case 'debian':
    case 'ubuntu':
      return 'apt';
    case 'fedora':
    case 'rhel':
    case 'almalinux':
    case 'rocky':
    case 'centos':
    case 'ol':
      return 'dnf';
    default:
      throw new BulwarkError('usage', `no package manager known for release "${release ?? '?'}"`);
  }
}

