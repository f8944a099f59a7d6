import type { Advisory, Fix, Severity } from '../core/advisory.js';
import type { FindingStatus } from '../core/finding.js';
import { UNKNOWN_ARCH, type InstalledPackage, type SourceOrigin } from '../core/target.js';
import { versionScheme, type VersionScheme } from '../core/version/registry.js';
import type { PackageFamily } from '../core/release.js';
import { fixApplicability, UNKNOWN_STREAMS, type HostStreams } from './applicability.js';

/**
 * The first cut of the matching engine (DESIGN.md data flow, step 3): pure, data in through
 * arguments. It narrows candidates by (package name) with an index built once per call and
 * decides exactly with the release family's version scheme.
 *
 * Rules, each stated because each is a place where peers went wrong:
 * - a fix names a source package (OVAL for Azure Linux) or a binary one; a source fix applies
 *   to every installed binary built from that source;
 * - a fix with an arch applies only to that arch; `noarch` packages match any fix arch, and so
 *   does a package whose arch the inventory did not give (`UNKNOWN_ARCH`): never lose a match;
 * - `fixed`: affected iff introduced-bound holds and installed < fixed (strictly: the fixed
 *   version itself is not vulnerable);
 * - `no-fix-yet` / `will-not-fix`: affected iff within introduced and lastAffected (inclusive);
 * - `not-affected` / `under-investigation`: never a finding;
 * - a source fix matched through a source name that was assumed (the binary's own name, since
 *   the inventory did not say and nothing knew it) says so in `reason`;
 * - a fix whose feed writes a meaningless epoch (`epochUnreliable`: Microsoft's OVAL writes
 *   `0:` for every package) is compared on version-release only when the installed package
 *   has an epoch, and when that changes the verdict the finding says so in `reason`.
 */
export interface MatchInput {
  family: PackageFamily;
  packages: readonly InstalledPackage[];
  advisories: readonly Advisory[];
  release: string;
  /** The host's enabled module streams and subscription channels (applicability.ts); default unknown. */
  streams?: HostStreams;
}

export interface Match {
  advisorySource: string;
  advisoryId: string;
  cves: string[];
  severity: Severity;
  package: string;
  arch: string;
  installed: string;
  fixed: string | null;
  status: Extract<FindingStatus, 'open' | 'no-fix'>;
  /** Why the verdict differs from a literal reading of the feed, or null. */
  reason: string | null;
  /** The installed package's source name and where it came from, when known. */
  packageSource: { name: string; origin: SourceOrigin } | null;
}

/** The version string a package is compared as: rpm `[E:]V-R`, deb the full version. */
export function installedVersion(p: InstalledPackage): string {
  if (p.family === 'deb') return p.version;
  const e = p.epoch === null ? '' : `${p.epoch}:`;
  return p.release === null ? `${e}${p.version}` : `${e}${p.version}-${p.release}`;
}

/** `E:V-R` with its epoch replaced (rpm only; the feed's "0:" is not the package's epoch). */
function withEpoch(evr: string, epoch: number): string {
  return `${String(epoch)}:${evr.replace(/^\d+:/, '')}`;
}

function corrected(fix: Fix, epoch: number): Fix {
  return {
    ...fix,
    fixed: fix.fixed === null ? null : withEpoch(fix.fixed, epoch),
    lastAffected: fix.lastAffected === null ? null : withEpoch(fix.lastAffected, epoch),
    introduced: fix.introduced === null ? null : { ...fix.introduced, version: withEpoch(fix.introduced.version, epoch) },
  };
}

function inRange(scheme: VersionScheme, v: string, fix: Fix): boolean {
  if (fix.introduced !== null) {
    const c = scheme.compare(v, fix.introduced.version);
    if (c < 0 || (c === 0 && !fix.introduced.inclusive)) return false;
  }
  switch (fix.status) {
    case 'fixed':
      return fix.fixed !== null && scheme.compare(v, fix.fixed) < 0;
    case 'no-fix-yet':
    case 'will-not-fix':
      return fix.lastAffected === null || scheme.compare(v, fix.lastAffected) <= 0;
    case 'not-affected':
    case 'under-investigation':
      return false;
  }
}

/** Fixes of one release, indexed by the package name they name (source or binary). */
export interface FixIndex {
  family: PackageFamily;
  release: string;
  byName: Map<string, { advisory: Advisory; fix: Fix }[]>;
}

/**
 * Indexes the fixes of `release` by package name, once per set of advisories.
 * @example const index = indexFixes(advisories, 'azurelinux:3.0', 'rpm')
 */
export function indexFixes(advisories: readonly Advisory[], release: string, family: PackageFamily): FixIndex {
  const byName = new Map<string, { advisory: Advisory; fix: Fix }[]>();
  for (const advisory of advisories) {
    for (const fix of advisory.fixes) {
      if (fix.release !== release) continue;
      const key = `${fix.packageKind}\u0000${fix.package}`;
      let list = byName.get(key);
      if (!list) byName.set(key, (list = []));
      list.push({ advisory, fix });
    }
  }
  return { family, release, byName };
}

/** A package that may match a fix for any arch: noarch, or an arch the inventory did not give. */
function anyArch(arch: string): boolean {
  return arch === 'noarch' || arch === UNKNOWN_ARCH;
}

/**
 * The matches of one installed package. One match per (advisory, package, arch): an advisory
 * may name a package twice (its source and its binary, or two ranges); the first fix that
 * applies decides.
 */
export function matchPackage(index: FixIndex, p: InstalledPackage, streams: HostStreams = UNKNOWN_STREAMS): Match[] {
  const scheme = versionScheme(index.family);
  const installed = installedVersion(p);
  const bin = index.byName.get(`binary\u0000${p.name}`);
  const src = p.sourceName === null ? undefined : index.byName.get(`source\u0000${p.sourceName}`);
  if (bin === undefined && src === undefined) return [];
  const candidates = [...(bin ?? []), ...(src ?? [])];
  const out: Match[] = [];
  const seen = new Map<string, number>();
  for (const { advisory, fix } of candidates) {
    if (fix.arch !== null && fix.arch !== p.arch && !anyArch(p.arch)) continue;
    // A module stream the host has not enabled is another package line: not this host's fix.
    const applies = fixApplicability(fix, streams);
    if (applies.kind === 'other-stream') continue;
    // Debian and Ubuntu fix source packages at source versions; a binary can carry a
    // different version (binNMU "+b1", or its own upstream version), so the source's is compared.
    const v = fix.packageKind === 'source' && p.family === 'deb' && p.sourceVersion !== null ? p.sourceVersion : installed;
    let reason: string | null = null;
    let effective = fix;
    let affected = inRange(scheme, v, fix);
    if (fix.epochUnreliable === true && index.family === 'rpm' && p.epoch !== null && p.epoch > 0) {
      const fixedUp = corrected(fix, p.epoch);
      const again = inRange(scheme, v, fixedUp);
      if (again !== affected)
        reason = `the feed writes epoch 0 for ${p.sourceName ?? p.name}, whose epoch is ${String(p.epoch)}: compared version-release only (${fixedUp.fixed ?? fixedUp.lastAffected ?? 'no fix'})`;
      affected = again;
      effective = fixedUp;
    }
    if (!affected) continue;
    // A source name nobody gave nor knew: the binary's own name was tried (issue #13); say so.
    if (fix.packageKind === 'source' && p.sourceOrigin === 'assumed') {
      const assumed = `source package assumed to be ${p.sourceName ?? p.name} (the inventory does not say and no repository, earlier inventory or shipped map knows ${p.name})`;
      reason = reason === null ? assumed : `${reason}; ${assumed}`;
    }
    // A fix only a subscription channel ships, on a host without it: affected, no fix it can get.
    const outOfReach = applies.kind === 'needs-channel' && fix.status === 'fixed';
    if (outOfReach) {
      const needs = `fix needs ${applies.channel}, not enabled on this host (${effective.fixed ?? ''})`;
      reason = reason === null ? needs : `${needs}; ${reason}`;
    }
    const match: Match = {
      advisorySource: advisory.source,
      advisoryId: advisory.id,
      cves: advisory.cves,
      severity: advisory.severity,
      package: p.name,
      arch: p.arch,
      installed,
      fixed: effective.status === 'fixed' && !outOfReach ? effective.fixed : null,
      status: fix.status === 'fixed' && !outOfReach ? 'open' : 'no-fix',
      reason,
      packageSource: p.sourceName === null ? null : { name: p.sourceName, origin: p.sourceOrigin ?? 'given' },
    };
    const key = `${advisory.source}\u0000${advisory.id}`;
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, out.length);
      out.push(match);
    } else if (!outOfReach && match.status === 'open' && out[at]?.status === 'no-fix' && out[at].reason?.startsWith('fix needs ') === true) {
      // A fix anyone can install beats one behind a channel, whichever the feed listed first.
      out[at] = match;
    }
  }
  return out;
}

/**
 * Every (advisory, installed package) pair where the package is affected.
 * @example matchPackages({ family: 'rpm', release: 'azurelinux:3.0', packages, advisories })
 */
export function matchPackages(input: MatchInput): Match[] {
  const index = indexFixes(input.advisories, input.release, input.family);
  // The same package listed twice (an import with duplicates) is matched once.
  const seen = new Set<string>();
  const out: Match[] = [];
  for (const p of input.packages) {
    const k = `${p.name}\u0000${p.arch}\u0000${installedVersion(p)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(...matchPackage(index, p, input.streams));
  }
  return out;
}

/** A vendor's statement that an installed package is not affected by an advisory. */
export interface NotAffected {
  advisory: Advisory;
  package: string;
  arch: string;
  installed: string;
}

/**
 * The advisories whose fixes for the index's release state that an installed package is not
 * affected (a CSAF VEX `known_not_affected`, an OVAL definition Microsoft marks "not
 * applicable"), by the binary's name or its source's, for the VEX report's `not_affected`.
 * @example vendorNotAffected(indexFixes(advisories, 'rhel:9', 'rpm'), packages)
 */
export function vendorNotAffected(index: FixIndex, packages: readonly InstalledPackage[]): NotAffected[] {
  const out: NotAffected[] = [];
  const seen = new Set<string>();
  for (const p of packages) {
    const candidates = [
      ...(index.byName.get(`binary\u0000${p.name}`) ?? []),
      ...(p.sourceName === null ? [] : (index.byName.get(`source\u0000${p.sourceName}`) ?? [])),
    ];
    for (const { advisory, fix } of candidates) {
      if (fix.status !== 'not-affected') continue;
      if (fix.arch !== null && fix.arch !== p.arch && !anyArch(p.arch)) continue;
      const installed = installedVersion(p);
      const key = `${advisory.source}\u0000${advisory.id}\u0000${p.name}\u0000${p.arch}\u0000${installed}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ advisory, package: p.name, arch: p.arch, installed });
    }
  }
  return out;
}
