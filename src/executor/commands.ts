import { BulwarkError } from '../core/errors.js';
import { globPattern } from '../core/glob.js';
import { defaultPackageManager } from '../distros/registry.js';

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
  /** A version glob (on `V-R`, or the Debian version without its epoch) any other build chosen must match. */
  pin?: string;
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
  const spec = `${t.name}-${t.version}${t.arch === undefined || t.arch === null ? '' : `.${t.arch}`}`;
  // dnf and tdnf install a word ending in ".rpm" as a local file of that name, not the package
  // from a repository (the agent's rpm_spec and image definitions refuse it too).
  if (endsInRpm(spec)) throw new BulwarkError('input.invalid', `"${spec}" ends in ".rpm": ${pm} would read it as a local file, not a package of that version`);
  return spec;
}

const endsInRpm = (word: string): boolean => /\.rpm$/i.test(word);

export interface CommandOptions {
  /** Run against another root (tests, images): dnf/tdnf --installroot. */
  installroot?: string;
  /** Extra leading arguments the host needs (e.g. `--setopt=…`, `--repofrompath=…`), validated by the caller. */
  extra?: readonly string[];
  /** Package globs the transaction must not touch (a policy's excludes): dnf and tdnf --exclude; apt's dry run is read for them. */
  exclude?: readonly string[];
}

const EXCLUDE_GLOB = /^[A-Za-z0-9_+*?][A-Za-z0-9_.+*?~^-]{0,199}$/;

/** `--exclude=GLOB` words for dnf and tdnf. */
function excludeArgv(pm: PackageManager, o: CommandOptions): string[] {
  if (pm === 'apt') return [];
  return (o.exclude ?? []).map((g) => {
    if (!EXCLUDE_GLOB.test(g)) throw new BulwarkError('input.invalid', `"${g}" is not a package glob ${pm} is given to exclude`);
    return `--exclude=${g}`;
  });
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
      return [
        pm,
        ...(o.installroot === undefined ? [] : [`--installroot=${o.installroot}`]),
        ...(o.extra ?? []),
        ...excludeArgv(pm, o),
        '--assumeno',
        'install',
        ...specs,
      ];
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
      return [
        pm,
        ...(o.installroot === undefined ? [] : [`--installroot=${o.installroot}`]),
        ...(o.extra ?? []),
        ...excludeArgv(pm, o),
        '-y',
        'install',
        ...specs,
      ];
    case 'apt':
      // Keep the admin's configuration files; never prompt (DEBIAN_FRONTEND=noninteractive is set by the runner).
      return [
        'apt-get',
        ...(o.extra ?? []),
        '-y',
        '-q',
        '-o',
        'Dpkg::Options::=--force-confold',
        'install',
        '--only-upgrade',
        '--no-install-recommends',
        ...specs,
      ];
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
  return queryArgv(pm, names, o, 'offered');
}

/** What lists the versions installed on the host (apt-cache policy, dnf repoquery --installed); null for tdnf. */
export function installedArgv(pm: PackageManager, names: readonly string[], o: CommandOptions = {}): string[] | null {
  return queryArgv(pm, names, o, 'installed');
}

function queryArgv(pm: PackageManager, names: readonly string[], o: CommandOptions, what: 'offered' | 'installed'): string[] | null {
  if (names.length === 0 || pm === 'tdnf') return null;
  const deb = pm === 'apt';
  for (const n of names)
    if (!(deb ? DEB_NAME : RPM_NAME).test(n) || (!deb && endsInRpm(n))) throw new BulwarkError('input.invalid', `"${n}" is not a package name ${pm} is given`);
  if (deb) return ['apt-cache', ...(o.extra ?? []), what === 'offered' ? 'show' : 'policy', ...names];
  // The format ends in a backslash and an n, not a line break (an agent task word holds none):
  // dnf5 reads it as the line's end; dnf 4 too, adding its own (blank lines, skipped).
  return [
    'dnf',
    ...(o.installroot === undefined ? [] : [`--installroot=${o.installroot}`]),
    ...(o.extra ?? []),
    '-q',
    'repoquery',
    ...(what === 'installed' ? ['--installed'] : []),
    '--qf',
    '%{name} %{epoch}:%{version}-%{release}\\n',
    '--',
    ...names,
  ];
}

/** The installed versions `apt-cache policy` (apt) or `repoquery --installed` (dnf) lists, by package. */
export function readInstalled(pm: PackageManager, stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (pm !== 'apt') {
    for (const [name, list] of readAvailable(pm, stdout))
      out.set(
        name,
        list.map((x) => x.version),
      );
    return out;
  }
  let name: string | null = null;
  for (const line of stdout.split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head !== null) {
      name = (head[1] ?? '').replace(/:[A-Za-z0-9_]+$/, '');
      continue;
    }
    const installed = /^\s+Installed:\s*(\S+)\s*$/.exec(line)?.[1];
    if (name !== null && installed !== undefined && installed !== '(none)' && DEB_VERSION.test(installed)) out.set(name, [...(out.get(name) ?? []), installed]);
  }
  return out;
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
 * The versions to install. A package already at or above its planned version (updated since
 * the scan) is left alone: never downgraded. Otherwise the planned version where the host's
 * repositories offer it, else the lowest offered build that reaches it (the fix superseded by a
 * later build), newer than what is installed and within the policy's pin; a package with none
 * keeps its planned version, which the precheck then reports missing.
 *
 * `basis`: what the planned version is. `fix` — an advisory's fixed version, which for Debian
 * names the source's version, so a build is compared by its source's version (libldb2 by samba's);
 * `build` — a build a content view publishes, compared as it is.
 */
export function resolveTargets(
  targets: readonly Target[],
  available: ReadonlyMap<string, readonly AvailableVersion[]>,
  compare: (a: string, b: string) => number,
  o: { installed?: ReadonlyMap<string, readonly string[]>; basis?: 'fix' | 'build' } = {},
): { targets: Target[]; changed: string[]; current: string[] } {
  const changed: string[] = [];
  const current: string[] = [];
  const out: Target[] = [];
  for (const t of targets) {
    const offered = available.get(t.name) ?? [];
    const sourceOf = (v: string): string => (o.basis === 'build' ? v : (offered.find((x) => x.version === v)?.source ?? v));
    const installed = [...(o.installed?.get(t.name) ?? [])].sort(compare).at(-1);
    if (installed !== undefined && compare(sourceOf(installed), t.version) >= 0) {
      current.push(`${t.name} ${installed} (at or above the planned ${t.version})`);
      continue;
    }
    if (offered.some((x) => x.version === t.version)) {
      out.push(t);
      continue;
    }
    // The same version written another way (rpm: with or without a 0 epoch): the repository's spelling.
    const same = offered.find((x) => compare(x.version, t.version) === 0);
    if (same !== undefined) {
      out.push({ ...t, version: same.version });
      continue;
    }
    const pin = t.pin === undefined ? null : globPattern(t.pin);
    const later = offered
      .filter((x) => compare(o.basis === 'build' ? x.version : x.source, t.version) >= 0)
      .filter((x) => installed === undefined || compare(x.version, installed) > 0)
      .filter((x) => pin === null || pin.test(x.version.replace(/^\d+:/, '')))
      .sort((a, b) => compare(a.version, b.version))[0];
    if (later === undefined) {
      out.push(t);
      continue;
    }
    changed.push(`${t.name} ${later.version} (the planned ${t.version} is no longer offered)`);
    out.push({ ...t, version: later.version });
  }
  return { targets: out, changed, current };
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
export function readPrecheck(
  pm: PackageManager,
  exitCode: number | null,
  stdout: string,
  stderr: string,
  o: { exclude?: readonly string[] } = {},
): PrecheckResult {
  const text = `${stdout}\n${stderr}`;
  // A policy's excluded packages stay as they are, dependencies of the update too: apt has no
  // exclude option, so its dry run's "Inst" lines are read; dnf and tdnf were given --exclude.
  const excluded = (o.exclude ?? []).map(globPattern);
  const touched =
    pm === 'apt'
      ? [...text.matchAll(/^Inst (\S+)/gm)].map((m) => m[1] ?? '').filter((n) => excluded.some((re) => re.test(n.replace(/:[A-Za-z0-9_]+$/, ''))))
      : [];
  if (touched.length > 0) return { ok: false, missing: [], message: `the update would also change excluded package(s): ${touched.join(', ')}` };
  if (pm !== 'apt' && /filtered out by exclude filtering|excluded by/i.test(text) && exitCode !== 0)
    return {
      ok: false,
      missing: [],
      message: `the update needs a package the policy excludes: ${text
        .trim()
        .split('\n')
        .filter((l) => /exclude/i.test(l))
        .slice(0, 3)
        .join(' ')}`,
    };
  const missing = [
    ...text.matchAll(/No match for argument:\s*(\S+)/g),
    ...text.matchAll(/No package (\S+) available/g),
    ...text.matchAll(/Version '([^']+)' for '([^']+)' was not found/g),
    ...text.matchAll(/E: Unable to locate package (\S+)/g),
  ].map((m) => (m[2] !== undefined ? `${m[2]}=${m[1] ?? ''}` : (m[1] ?? '')));
  if (missing.length > 0) return { ok: false, missing, message: `not available: ${missing.join(', ')}` };
  // A run never downgrades (a package updated past the plan is left out before this; here is the
  // last guard): dnf and tdnf list "Downgrading:", apt says "will be DOWNGRADED".
  if (/^\s*Downgrading:/m.test(text) || /will be DOWNGRADED/.test(text))
    return { ok: false, missing, message: 'the transaction would downgrade a package: refused' };
  if (pm === 'apt')
    return exitCode === 0
      ? { ok: true, missing, message: 'apt-get -s resolved the upgrade' }
      : { ok: false, missing, message: text.trim().split('\n').slice(-3).join(' ') };
  if (
    /Operation aborted|Exiting on user command|Transaction Summary|Nothing to do/i.test(text) &&
    !/Error:/i.test(text.replace(/Error: Operation aborted\.?/i, ''))
  )
    return { ok: true, missing, message: /Nothing to do/i.test(text) ? 'already at the planned versions' : 'the transaction resolves' };
  return { ok: exitCode === 0, missing, message: text.trim().split('\n').slice(-3).join(' ') };
}

/**
 * The release's own package manager, as its distribution's descriptor says (src/distros/).
 * @example managerFor('ubuntu:24.04') // 'apt'
 */
export function managerFor(release: string | null): PackageManager {
  const pm = defaultPackageManager(release);
  if (pm === null) throw new BulwarkError('usage', `no package manager known for release "${release ?? '?'}"`);
  return pm;
}
