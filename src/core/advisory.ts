import type { OvalCriteria } from './oval.js';
import type { ReleaseId } from './release.js';

/**
 * The normalised advisory model (DESIGN.md "advisory" and "fix"). Every feed format
 * (OVAL, OSV, CSAF VEX, updateinfo) is parsed into this shape.
 */
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'none' | 'unknown';

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'none', 'unknown'];

/** Rank for sorting and thresholds: critical = 5 … unknown = 0. */
export function severityRank(s: Severity): number {
  switch (s) {
    case 'critical':
      return 5;
    case 'high':
      return 4;
    case 'medium':
      return 3;
    case 'low':
      return 2;
    case 'none':
      return 1;
    case 'unknown':
      return 0;
  }
}

/**
 * What a feed says about one package in one release:
 * - `fixed`: versions below `fixed` (and at or above `introduced`, when given) are affected;
 * - `no-fix-yet`: affected, no fix published (`lastAffected` may bound it from above, inclusive);
 * - `will-not-fix`: affected, the vendor will not fix it;
 * - `not-affected`: the vendor states this package is not affected;
 * - `under-investigation`: the vendor has not decided.
 */
export type FixStatus = 'fixed' | 'no-fix-yet' | 'will-not-fix' | 'not-affected' | 'under-investigation';

/** What an advisory is about; vulnerability feeds (OVAL, OSV, VEX) are all `security`. */
export type AdvisoryKind = 'security' | 'bugfix' | 'enhancement' | 'other';

export interface VersionBound {
  version: string;
  inclusive: boolean;
}

export interface Fix {
  release: ReleaseId;
  /** Package name as the feed gives it. */
  package: string;
  /** Whether `package` names a source package (OVAL for Azure Linux, OSV Debian) or a binary one. */
  packageKind: 'source' | 'binary';
  /** null: every arch. */
  arch: string | null;
  status: FixStatus;
  /** Exclusive upper bound: the first fixed version (rpm EVR or deb version). */
  fixed: string | null;
  /** Inclusive upper bound when no fix exists (OVAL "less than or equal", OSV last_affected). */
  lastAffected: string | null;
  /** Lower bound of the affected range (OSV introduced, OVAL "greater than"). */
  introduced: VersionBound | null;
  /**
   * Modular stream the fix belongs to, `name:stream` (RHEL 8 AppStream modules, AlmaLinux/Rocky
   * `.module_el8…` builds); absent or null for ordinary packages.
   */
  module?: string | null;
  /**
   * A subscription channel the fix ships only in (Ubuntu Pro's esm-infra / esm-apps), as the
   * distribution names it ("Ubuntu Pro (esm-infra)"); absent or null when anyone can install it.
   * Only hosts with that channel enabled can install it: others are affected with no fix they can
   * get (src/matching/applicability.ts).
   */
  channel?: string | null;
  /** updateinfo `reboot_suggested` for this package; absent when the feed does not say. */
  rebootSuggested?: boolean;
  /**
   * The feed writes epoch 0 whatever the package's real epoch (Microsoft's Azure Linux /
   * CBL-Mariner OVAL, data notes 1.4-2): the matcher compares version-release only when the
   * installed package has an epoch, and records that correction on the finding.
   */
  epochUnreliable?: boolean;
}

export interface Reference {
  type: 'cve' | 'advisory' | 'bugzilla' | 'web' | 'package' | 'other';
  id: string | null;
  url: string | null;
}

/** A CVSS v4.0 rating as a feed gives it: the vector and its score (the feed's or computed). */
export interface CvssV4 {
  vector: string;
  score: number;
}

export interface Advisory {
  /** Feed source id, e.g. `azurelinux-3.0-oval`. Together with `id` the identity. */
  source: string;
  /** The feed's own id: an OVAL definition id, an OSV id, an RHSA, an updateinfo id. */
  id: string;
  /** Absent means `security`. */
  kind?: AdvisoryKind;
  title: string;
  description: string;
  severity: Severity;
  /** CVSS v3.x base score and vector (never a v4.0 one: that is `cvssV4`). */
  cvssScore: number | null;
  cvssVector: string | null;
  /** CVSS v4.0 vector and score (src/core/cvss4.ts) when the feed gives one; absent when not. */
  cvssV4?: CvssV4;
  cves: string[];
  references: Reference[];
  /** ISO 8601 timestamps. */
  publishedAt: string | null;
  updatedAt: string | null;
  /** Parser id and version that produced this record, e.g. `oval@1`. */
  parser: string;
  fixes: Fix[];
  /** For OVAL definitions: the criteria tree as written, for literal (`--oval-strict`) evaluation. */
  oval?: OvalCriteria;
}

/**
 * One advisory from two records with the same identity (a feed that files the same advisory
 * twice with different content): the union of fixes, CVEs and references, the higher severity
 * and score, the earliest publication and the latest update. Nothing either record says is lost.
 * @example mergeAdvisories(a, b).fixes.length >= Math.max(a.fixes.length, b.fixes.length)
 */
export function mergeAdvisories(a: Advisory, b: Advisory): Advisory {
  const uniq = <T>(xs: readonly T[]): T[] => {
    const seen = new Set<string>();
    return xs.filter((x) => {
      const k = JSON.stringify(x);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  };
  const minIso = (x: string | null, y: string | null): string | null => (x === null ? y : y === null ? x : x < y ? x : y);
  const maxIso = (x: string | null, y: string | null): string | null => (x === null ? y : y === null ? x : x > y ? x : y);
  const higher = severityRank(b.severity) > severityRank(a.severity) ? b : a;
  const scored = (b.cvssScore ?? -1) > (a.cvssScore ?? -1) ? b : a;
  const scoredV4 = (b.cvssV4?.score ?? -1) > (a.cvssV4?.score ?? -1) ? b : a;
  const merged: Advisory = {
    ...a,
    severity: higher.severity,
    cvssScore: scored.cvssScore,
    cvssVector: scored.cvssVector,
    ...(scoredV4.cvssV4 === undefined ? {} : { cvssV4: scoredV4.cvssV4 }),
    cves: [...new Set([...a.cves, ...b.cves])].sort(),
    references: uniq([...a.references, ...b.references]),
    publishedAt: minIso(a.publishedAt, b.publishedAt),
    updatedAt: maxIso(a.updatedAt, b.updatedAt),
    fixes: uniq([...a.fixes, ...b.fixes]),
  };
  return merged;
}
