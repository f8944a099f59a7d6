import { parseReleaseId } from '../core/release.js';
import { canonicalDistro, elFamily } from '../distros/registry.js';

/**
 * What a feed document says about the distribution (and release) it describes, in its own words:
 * an OVAL definition's id namespace and its versions' dist tags, the OVAL generator's product
 * name, an OSV record's ecosystem, a CSAF product stream, an updateinfo `<release>`, a native
 * fix's release. Parsers report each fact through `ParseOptions.identity`; the sync compares
 * them with the source before it writes anything (issue #13: a CBL-Mariner 2.0 file synced into
 * the Azure Linux 3.0 source replaced all its advisories).
 */
export interface IdentityFact {
  /** The distribution id as in release ids (`azurelinux`, `mariner`, `rhel`, `ubuntu`, `almalinux`…). */
  distribution: string;
  /** The release, when the document says it (`mariner:2.0`); null when it names only the distribution. */
  release: string | null;
  /** Where it was read, for the error message: `oval:com.microsoft.cbl-mariner:def:33517: version 0:5.12.11-10.cm2`. */
  evidence: string;
  /**
   * For a mark several distributions share (`.el8`): the distributions it may be, and their major
   * version. It cannot tell Rocky from AlmaLinux, but it does tell either from Azure Linux.
   */
  family?: { distributions: readonly string[]; major: string };
}

/** The RHEL family's dist tag (`.el8`, `.el9_4`, `.el8_10`): every distribution whose descriptor says `elFamily` alike. */
const EL_TAG = /\.el(\d+)(?:_\d+)*(?:$|[.~^+-])/;

/**
 * The family fact of an `.elN` dist tag, or null: not which distribution, but which family and
 * major version (an updateinfo that says nothing else about itself).
 * @example elFamilyFact('12.el8_9', 'RLSA-2024:0001: package openssl') // { distribution: 'el8', … }
 */
export function elFamilyFact(release: string, evidence: string): IdentityFact | null {
  const major = EL_TAG.exec(release)?.[1];
  return major === undefined ? null : { distribution: `el${major}`, release: null, evidence, family: { distributions: elFamily, major } };
}

/** What a source expects: its release, or (for multi-release sources such as OSV dumps) its distributions. */
export interface ExpectedIdentity {
  distributions: readonly string[];
  release: string | null;
  /** Why this is expected, for the message: `the source's release`, `the catalog`, `the last sync`. */
  basis: string;
}

/** A fact as a release id when known, else the distribution. */
function label(f: { distribution: string; release: string | null }): string {
  return f.release ?? f.distribution;
}

/** The distribution part of a release id. @example distributionOf('mariner:2.0') // 'mariner' */
export function distributionOf(release: string): string | null {
  const d = parseReleaseId(release)?.distro;
  if (d === undefined) return null;
  // A distribution written several ways in release ids (a descriptor's aliases): the facts use one spelling.
  return canonicalDistro(d);
}

/** A release id in the spelling facts use. @example canonicalRelease('cbl-mariner:2.0') // 'mariner:2.0' */
export function canonicalRelease(release: string): string {
  const p = parseReleaseId(release);
  return p === null ? release : `${distributionOf(release) ?? p.distro}:${p.version}`;
}

/** A release id as a fact. */
export function releaseFact(release: string, evidence: string): IdentityFact | null {
  const distribution = distributionOf(release);
  return distribution === null ? null : { distribution, release: canonicalRelease(release), evidence };
}

// Which distribution an OVAL id namespace or generator names is each publisher's dialect:
// src/distros/registry.ts (ovalNamespaceDistribution, ovalGeneratorDistribution).
export { ovalGeneratorDistribution, ovalNamespaceDistribution } from '../distros/registry.js';

interface TalliedFact {
  distribution: string;
  release: string | null;
  count: number;
  example: string;
  family?: IdentityFact['family'];
}

/** Facts counted by (distribution, release), keeping the first evidence of each. */
export class IdentityTally {
  private readonly seen = new Map<string, TalliedFact>();

  add(f: IdentityFact): void {
    const key = `${f.distribution}\u0000${f.release ?? ''}`;
    const s = this.seen.get(key);
    if (s === undefined)
      this.seen.set(key, {
        distribution: f.distribution,
        release: f.release,
        count: 1,
        example: f.evidence,
        ...(f.family === undefined ? {} : { family: f.family }),
      });
    else s.count++;
  }

  /** Every distinct fact: those naming a release first, then the most frequent. */
  facts(): TalliedFact[] {
    // Releases first: `mariner:2.0` says more than `mariner`.
    return [...this.seen.values()].sort(
      (a, b) => Number(a.release === null) - Number(b.release === null) || b.count - a.count || label(a).localeCompare(label(b)),
    );
  }

  /** What the document was found to be, as recorded in the source's state for the next sync. */
  summary(): { distributions: string[]; releases: string[] } {
    const f = this.facts();
    return {
      distributions: [...new Set(f.map((x) => x.distribution))].sort(),
      releases: [...new Set(f.flatMap((x) => (x.release === null ? [] : [x.release])))].sort(),
    };
  }
}

/**
 * Why the document does not belong to the source, or null when it does: every fact must name an
 * expected distribution, and, when the source has a release, no fact may name another release.
 * A document that says nothing about itself cannot be checked (the sync warns about it).
 * @example identityMismatch({ distributions: ['azurelinux'], release: 'azurelinux:3.0', basis: "the source's release" }, tally)
 */
export function identityMismatch(expected: ExpectedIdentity, tally: IdentityTally): string | null {
  const facts = tally.facts();
  const want = expected.release ?? expected.distributions.join(' or ');
  const majorOf = (release: string): string | undefined => parseReleaseId(release)?.version.split('.')[0];
  const fits = (f: TalliedFact): boolean =>
    f.family !== undefined
      ? f.family.distributions.some((d) => expected.distributions.includes(d)) && (expected.release === null || majorOf(expected.release) === f.family.major)
      : expected.distributions.includes(f.distribution) && (expected.release === null || f.release === null || f.release === expected.release);
  const wrong = facts.filter((f) => !fits(f));
  if (wrong.length === 0) return null;
  const found = wrong
    .slice(0, 4)
    .map((f) => `${label(f)} (${String(f.count)} time${f.count === 1 ? '' : 's'}, e.g. ${f.example})`)
    .join('; ');
  return `expected ${want} (${expected.basis}), found ${found}${wrong.length > 4 ? ` and ${String(wrong.length - 4)} more` : ''}`;
}

/**
 * Reports the releases an advisory's fixes name, for formats whose records say their release
 * themselves (OSV ecosystems, CSAF product streams, native fixes): once per record and release.
 */
export function reportFixReleases(
  a: { id: string; fixes: readonly { release: string }[] },
  identity: ((f: IdentityFact) => void) | undefined,
  what: string,
): void {
  if (identity === undefined) return;
  for (const r of new Set(a.fixes.map((f) => f.release))) {
    const f = releaseFact(r, `${a.id} names ${r} (${what})`);
    if (f !== null) identity(f);
  }
}
