import { BulwarkError } from '../core/errors.js';
import { defaultPackageManager } from '../distros/registry.js';
import { apt } from './apt/index.js';
import { dnf } from './dnf/index.js';
import { dnf5 } from './dnf5/index.js';
import { tdnf } from './tdnf/index.js';
import type { PackageManager, PackageManagerModule } from './types.js';

/**
 * The package-manager modules, by id. Adding one (zypper) is a folder beside these and a line
 * here; registry.test.ts checks this list against the folders.
 */
export const PACKAGE_MANAGERS: Readonly<Record<PackageManager, PackageManagerModule>> = { dnf, dnf5, tdnf, apt };

export const PACKAGE_MANAGER_IDS = Object.keys(PACKAGE_MANAGERS) as PackageManager[];

export function isPackageManager(s: string | null | undefined): s is PackageManager {
  return s !== null && s !== undefined && Object.hasOwn(PACKAGE_MANAGERS, s);
}

/** The module of a package manager. */
export function packageManager(id: PackageManager): PackageManagerModule {
  return PACKAGE_MANAGERS[id];
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

/** The version part of a release id (`3.0` of `azurelinux:3.0`), which tdnf is given as --releasever. */
export function releaseVersion(release: string | null): string | undefined {
  const v = release?.split(':')[1];
  return v !== undefined && /^[A-Za-z0-9._-]{1,32}$/.test(v) ? v : undefined;
}

export type { PackageManager, PackageManagerModule } from './types.js';
