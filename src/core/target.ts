import { BulwarkError } from './errors.js';
import type { PackageFamily, ReleaseId } from './release.js';

/**
 * A target is anything with an inventory (DESIGN.md "target"): a host or an image.
 */
export type TargetKind = 'host' | 'image';

export interface Target {
  id: string;
  name: string;
  kind: TargetKind;
  /** vm, bare-metal, wsl, container, vm-disk, wsl-rootfs … free text, for reports. */
  platform: string | null;
  release: ReleaseId | null;
  arch: string | null;
  /** How to reach it, e.g. `ssh://root@10.0.0.5:22`; null for imports and images. */
  address: string | null;
  tags: string[];
  createdAt: string;
}

/** A host's name: typed on command lines, part of API paths (`/api/v1/hosts/NAME`) and of reports. */
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * Refuses a name `hosts add` would refuse, wherever a host is named (an import, a scan, a bulk
 * import): `scan --name ''`, `../x` or a name holding a newline or a terminal escape were
 * stored, and such a host could not be reached through the API or picked out on the command line.
 * @example checkHostName('web-01')
 */
export function checkHostName(name: string): void {
  if (!HOST_NAME.test(name)) throw new BulwarkError('usage', `${JSON.stringify(name)} is not a host name (letters, digits, ".", "_", "-")`, { name });
}

/**
 * An image's name is freer (a built image is `azl3-base@3`, a scanned root is named after its
 * directory, an imported one may carry a registry reference), but never empty or blank and never
 * holding a control character (a newline or a terminal escape would forge lines in listings and logs).
 * @example checkImageName('azl3-base@3')
 */
export function checkImageName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.trim() === '' || name.length > 253 || /[\u0000-\u001f\u007f]/.test(name))
    throw new BulwarkError('usage', `${JSON.stringify(name)} is not an image name (not blank, no control characters)`, { name });
}

/**
 * The arch of a package whose input did not say it: an SBOM purl without `arch=` (issue #13),
 * or rpm's own `%{ARCH}` of a package without one (gpg-pubkey). rpm prints "(none)" for a
 * missing tag, so both read the same in storage, where arch is part of a package's identity and
 * never null. Matching treats it as `noarch` is treated (it may match a fix for any arch: an
 * unknown arch must not lose a match); outputs show no arch for it (see `knownArch`).
 */
export const UNKNOWN_ARCH = '(none)';

/**
 * The arch an output may claim: null when the input gave none (`UNKNOWN_ARCH`) or the finding
 * is release-wide (`-`).
 * @example knownArch('x86_64') // 'x86_64'
 * @example knownArch(UNKNOWN_ARCH) // null
 */
export function knownArch(arch: string | null): string | null {
  return arch === null || arch === UNKNOWN_ARCH || arch === '' || arch === '-' ? null : arch;
}

/**
 * One installed package as an inventory reports it. For rpm, `epoch` is null when the
 * package has none (rpm's %{EPOCHNUM} prints 0 then; both compare equal to 0). For deb,
 * `version` is the full Debian version string and `epoch`/`release` are null.
 */
export interface InstalledPackage {
  family: PackageFamily;
  name: string;
  epoch: number | null;
  version: string;
  release: string | null;
  arch: string;
  /** Source package name (rpm %{SOURCERPM} name, dpkg source:Package); null when unknown. */
  sourceName: string | null;
  /** Source package version when it differs from the binary's (dpkg source:Version). */
  sourceVersion: string | null;
  /**
   * Where `sourceName` came from when the inventory did not say it (issue #13); absent or
   * `given` when the inventory carried it (rpm -qa SOURCERPM, dpkg, a purl's `upstream`).
   */
  sourceOrigin?: SourceOrigin;
}

/**
 * How a package's source name is known: `given` by the inventory; else resolved from a
 * snapshotted `repository`'s primary.xml (same name, version and release), `learned` from an
 * earlier inventory of the release that carried it, or the `shipped` per-release map; else
 * `assumed` to be the binary's own name (true for most rpms, and said so on every finding).
 */
export type SourceOrigin = 'given' | 'repository' | 'learned' | 'shipped' | 'assumed';

/**
 * What a host has enabled beside its packages (issue #16 items 7, 8): its dnf module streams
 * (`nodejs:20`) and its subscription channels ("Ubuntu Pro (esm-infra)"); null where the
 * collector did not learn it.
 */
export interface TargetStreams {
  modules: string[] | null;
  channels: string[] | null;
}

/**
 * A live patch the host has for its running kernel (issue #15): a kpatch module (Azure Linux's
 * `livepatch-<kernel>` packages, RHEL's kpatch-patch) or Canonical Livepatch's patch set.
 * - `active`: loaded and enabled in the running kernel (kpatch `[enabled]`, sysfs `enabled` 1,
 *   Canonical `State: applied`); only an active one mitigates anything;
 * - `cves`: the CVE ids it fixes, as the tool (Canonical's `Fixes`) or its package (the
 *   `*CVE-…` lines of an Azure Linux livepatch package's description) says; empty when neither says.
 */
export interface LivePatch {
  tool: 'kpatch' | 'canonical-livepatch';
  /** The kpatch module name, or `livepatch <version>` for Canonical's patch set. */
  name: string;
  /** The state as the tool words it: `enabled`, `disabled`, `enabling...`, `applied`, `apply-failed`… */
  state: string;
  active: boolean;
  /** The package that ships it (`livepatch-6.6.57.1-6.azl3-1.0.0-1.azl3`), when known. */
  package: string | null;
  cves: string[];
}

/** A point-in-time inventory of a target (DESIGN.md data flow, step 2). */
export interface InventorySnapshot {
  targetId: string;
  collectedAt: string;
  release: ReleaseId | null;
  arch: string | null;
  runningKernel: string | null;
  rebootRequired: boolean | null;
  packages: InstalledPackage[];
  /** Absent: not collected (an import, an agent report); stored as unknown. */
  streams?: TargetStreams;
  /** Live patches of the running kernel; absent or null: not collected (an import, an image). */
  livePatches?: LivePatch[] | null;
}
