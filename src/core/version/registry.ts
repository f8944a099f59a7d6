import type { PackageFamily } from '../release.js';
import { checkDebVersion, compareDebVersions } from './deb.js';
import { checkRpmEvr, compareRpmEvr } from './rpm.js';

/**
 * A version scheme: how a package family orders its versions. Matching, planning and the
 * CLI pick a scheme by the release's family and never compare versions any other way.
 */
export interface VersionScheme {
  id: PackageFamily;
  displayName: string;
  /** Where the algorithm comes from. */
  reference: string;
  /** -1, 0 or 1. Inputs must have passed `check`. */
  compare(a: string, b: string): number;
  /** Why `v` is not a comparable version of this scheme, or null. */
  check(v: string): string | null;
}

export const rpmScheme: VersionScheme = {
  id: 'rpm',
  displayName: 'rpm EVR',
  reference: 'librpm rpmio/rpmvercmp.c rpmvercmp(), rpmio/rpmver.c rpmverParse()/rpmverCmp()',
  compare: compareRpmEvr,
  check: checkRpmEvr,
};

export const debScheme: VersionScheme = {
  id: 'deb',
  displayName: 'Debian version',
  reference: 'dpkg lib/dpkg/version.c verrevcmp()/dpkg_version_compare(), lib/dpkg/parsehelp.c parseversion()',
  compare: compareDebVersions,
  check: checkDebVersion,
};

export const versionSchemes: Readonly<Record<PackageFamily, VersionScheme>> = { rpm: rpmScheme, deb: debScheme };

/**
 * The scheme of a package family.
 * @example versionScheme('rpm').compare('1.0-1', '1.0-2') // -1
 */
export function versionScheme(family: PackageFamily): VersionScheme {
  return versionSchemes[family];
}

/** Type guard for CLI and config input. */
export function isPackageFamily(s: string): s is PackageFamily {
  return s === 'rpm' || s === 'deb';
}
