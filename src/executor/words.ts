import { BulwarkError } from '../core/errors.js';
import type { CommandOptions, PackageManager, PackageVersion, Target } from './types.js';

/**
 * The words package managers are given, checked before they are: names, versions, globs and
 * repository ids come from feeds, policies and hosts, and a word starting with "-" would be read
 * as an option even in an argv.
 */
export const RPM_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
export const RPM_EVR = /^(\d+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+$/;
export const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
export const DEB_VERSION = /^(\d+:)?[A-Za-z0-9.+~-]+$/;
const ARCH = /^[A-Za-z0-9_]+$/;
const EXCLUDE_GLOB = /^[A-Za-z0-9_+*?][A-Za-z0-9_.+*?~^-]{0,199}$/;
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

const endsInRpm = (word: string): boolean => /\.rpm$/i.test(word);

function checkArch(t: Target): void {
  if (t.arch !== undefined && t.arch !== null && !ARCH.test(t.arch)) throw new BulwarkError('input.invalid', `"${t.arch}" is not an architecture`);
}

/** `name-[epoch:]version-release[.arch]`, which dnf, dnf5 and tdnf read as exactly that build. */
export function rpmSpec(pm: PackageManager, t: Target): string {
  if (!RPM_NAME.test(t.name)) throw new BulwarkError('input.invalid', `"${t.name}" is not a package name ${pm} is given`);
  if (!RPM_EVR.test(t.version)) throw new BulwarkError('input.invalid', `"${t.version}" is not a version ${pm} is given for ${t.name}`);
  checkArch(t);
  // An explicit 0 epoch is accepted and exact.
  const spec = `${t.name}-${t.version}${t.arch === undefined || t.arch === null ? '' : `.${t.arch}`}`;
  // A word ending in ".rpm" is installed as a local file of that name, not the package from a
  // repository (the agent's rpm_spec and image definitions refuse it too).
  if (endsInRpm(spec)) throw new BulwarkError('input.invalid', `"${spec}" ends in ".rpm": ${pm} would read it as a local file, not a package of that version`);
  return spec;
}

/** `name[:arch]=version`, which apt reads as exactly that version. */
export function debSpec(t: Target): string {
  if (!DEB_NAME.test(t.name)) throw new BulwarkError('input.invalid', `"${t.name}" is not a package name apt is given`);
  if (!DEB_VERSION.test(t.version)) throw new BulwarkError('input.invalid', `"${t.version}" is not a version apt is given for ${t.name}`);
  checkArch(t);
  return `${t.name}${t.arch === undefined || t.arch === null ? '' : `:${t.arch}`}=${t.version}`;
}

/** Package names for an rpm query, checked. */
export function rpmNames(pm: PackageManager, names: readonly string[]): readonly string[] {
  for (const n of names) if (!RPM_NAME.test(n) || endsInRpm(n)) throw new BulwarkError('input.invalid', `"${n}" is not a package name ${pm} is given`);
  return names;
}

export function debNames(names: readonly string[]): readonly string[] {
  for (const n of names) if (!DEB_NAME.test(n)) throw new BulwarkError('input.invalid', `"${n}" is not a package name apt is given`);
  return names;
}

/** `--exclude=GLOB` words (dnf, dnf5, tdnf). */
export function excludeArgv(pm: PackageManager, o: CommandOptions): string[] {
  return (o.exclude ?? []).map((g) => {
    if (!EXCLUDE_GLOB.test(g)) throw new BulwarkError('input.invalid', `"${g}" is not a package glob ${pm} is given to exclude`);
    return `--exclude=${g}`;
  });
}

/** A repository id, checked. */
export function repoId(id: string): string {
  if (!REPO_ID.test(id)) throw new BulwarkError('input.invalid', `"${id}" is not a repository id`);
  return id;
}

/** `--installroot=ROOT` when one is given. */
export function installrootArgv(o: CommandOptions): string[] {
  return o.installroot === undefined ? [] : [`--installroot=${o.installroot}`];
}

export function nothingToUpdate(targets: readonly unknown[]): void {
  if (targets.length === 0) throw new BulwarkError('usage', 'nothing to update');
}

/** The exact builds a rollback installs (`name-E:V-R`), checked as update targets are. */
export function restoreSpecs(pm: PackageManager, versions: readonly PackageVersion[]): string[] {
  if (versions.length === 0) throw new BulwarkError('usage', 'nothing to restore');
  return versions.map((v) => rpmSpec(pm, { name: v.name, version: v.version }));
}

/** `rpm -ql` of installed packages (dnf, dnf5, tdnf), in the installroot when there is one. */
export function rpmFilesArgv(pm: PackageManager, names: readonly string[], o: CommandOptions): string[] {
  return ['rpm', ...(o.installroot === undefined ? [] : [`--root=${o.installroot}`]), '-ql', '--', ...rpmNames(pm, names)];
}

/** A transaction id of a manager's history, checked (it becomes a word of `history undo`). */
export function transactionId(id: number): string {
  if (!Number.isSafeInteger(id) || id < 1) throw new BulwarkError('input.invalid', `${String(id)} is not a transaction id`);
  return String(id);
}
