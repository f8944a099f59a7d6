import type { Advisory } from '../core/advisory.js';
import type { PackageFamily } from '../core/release.js';
import type { InstalledPackage } from '../core/target.js';
import { isKernel, packagesToJudge } from './kernels.js';
import { indexFixes, installedVersion, matchPackage, type FixIndex, type Match } from './match.js';
import { UNKNOWN_STREAMS, type HostStreams } from './applicability.js';

/**
 * Matching a fleet at the cost of its distinct package builds, not hosts x packages (issue
 * #4): hosts built from the same images share almost all their packages, so each distinct
 * (name, epoch, version, release, arch, source) of a release is matched once and the result is
 * shared by every host that has it. An inverted index (package name → distinct builds → hosts)
 * answers "which hosts does this new advisory affect?" by looking only at the builds it names.
 */
function buildKey(p: InstalledPackage): string {
  // An assumed source name makes its findings say so (match.ts): not the same as a given one.
  return `${p.name}\u0000${p.arch}\u0000${installedVersion(p)}\u0000${p.sourceName ?? ''}\u0000${p.sourceVersion ?? ''}\u0000${p.sourceOrigin === 'assumed' ? 'assumed' : ''}`;
}

/**
 * The matches of distinct builds against one release's fixes, each build matched once and
 * remembered under its key (the store's package row id, or the in-memory index's build id):
 * what every stored scan goes through (services/fleet-scan.ts), host by host or fleet-wide.
 */
export class BuildMatcher {
  readonly fixes: FixIndex;
  /** By the host's streams (streamsKey), then by build: a build is matched once per set of enabled streams and channels. */
  private readonly memo = new Map<string, Map<number, Match[]>>();
  /** The streams of the last call and their builds' matches: a target's builds are matched in a row, with one streams object. */
  private last: { streams: HostStreams; byBuild: Map<number, Match[]> } | undefined;
  private count = 0;

  constructor(fixes: FixIndex) {
    this.fixes = fixes;
  }

  /**
   * The matches of one distinct build on hosts with these module streams and channels (computed
   * once per key and set: a fix for another stream, or behind a channel, applies differently).
   */
  matches(key: number, p: InstalledPackage, streams: HostStreams = UNKNOWN_STREAMS): Match[] {
    let byBuild = this.last?.streams === streams ? this.last.byBuild : undefined;
    if (byBuild === undefined) {
      const sk = streamsKey(streams);
      byBuild = this.memo.get(sk);
      if (byBuild === undefined) this.memo.set(sk, (byBuild = new Map<number, Match[]>()));
      this.last = { streams, byBuild };
    }
    let m = byBuild.get(key);
    if (m === undefined) {
      byBuild.set(key, (m = matchPackage(this.fixes, p, streams)));
      this.count++;
    }
    return m;
  }

  /** How many (build, streams) pairs were matched: the distinct builds when hosts share their streams. */
  get matched(): number {
    return this.count;
  }
}

/** One string per set of enabled streams and channels (null, not collected, differs from none). */
function streamsKey(s: HostStreams): string {
  const list = (x: readonly string[] | null): string => (x === null ? '?' : [...x].sort().join(','));
  return `${list(s.modules)}|${list(s.channels)}`;
}

/**
 * One target's matches from its distinct builds: builds in the order the store lists an
 * inventory (name, arch, key), only the running build of an installonly kernel judged, the same
 * (name, arch, version) once; returns the matches and the builds judged.
 * @example judgeTarget(matcher, [{ key: 7, pkg }], '6.6.64.2-1.azl3')
 */
export function judgeTarget(
  matcher: BuildMatcher,
  builds: readonly { key: number; pkg: InstalledPackage }[],
  runningKernel: string | null,
  streams: HostStreams = UNKNOWN_STREAMS,
): { matches: Match[]; judged: InstalledPackage[] } {
  const sorted = [...builds].sort((a, b) =>
    a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : a.pkg.arch < b.pkg.arch ? -1 : a.pkg.arch > b.pkg.arch ? 1 : a.key - b.key,
  );
  const keyOf = new Map<InstalledPackage, number>();
  const pkgs: InstalledPackage[] = [];
  for (const b of sorted) {
    keyOf.set(b.pkg, b.key);
    pkgs.push(b.pkg);
  }
  const judged = packagesToJudge(pkgs, runningKernel);
  // The same package listed twice (an import with duplicates) is matched once. The builds of a
  // (name, arch) are next to each other in this order, so duplicates are looked for only among
  // them, and only once there are two (the versions of a lone build are not even made).
  const matches: Match[] = [];
  let first: InstalledPackage | undefined;
  let versions: Set<string> | undefined;
  for (const p of judged) {
    if (first === undefined || p.name !== first.name || p.arch !== first.arch) {
      first = p;
      versions = undefined;
    } else {
      versions ??= new Set([installedVersion(first)]);
      const v = installedVersion(p);
      if (versions.has(v)) continue;
      versions.add(v);
    }
    for (const m of matcher.matches(keyOf.get(p) ?? -1, p, streams)) matches.push(m);
  }
  return { matches, judged };
}

/**
 * The in-memory fleet: every target's builds held in memory with an inverted index. The store
 * keeps the same index as tables (packages, target_packages) and matches through BuildMatcher
 * and judgeTarget; this one serves the benches' in-memory anchor and the pure tests.
 */
export class FleetIndex {
  readonly release: string;
  readonly family: PackageFamily;
  /** Distinct builds, by id. */
  readonly builds: InstalledPackage[] = [];
  private readonly ids = new Map<string, number>();
  /** Inventories loaded from the store share package objects (one row per build): skip re-keying them. */
  private readonly seen = new WeakMap<InstalledPackage, number>();
  /** Package name (binary and source) → build ids. */
  private readonly byName = new Map<string, number[]>();
  /** Build id → the targets holding it. */
  private readonly holders: string[][] = [];
  /** Target → its build ids. */
  readonly targets = new Map<string, number[]>();

  constructor(release: string, family: PackageFamily) {
    this.release = release;
    this.family = family;
  }

  private readonly kernels = new Map<string, string>();

  /** The running kernel a target was added with, or null. */
  runningKernel(targetId: string): string | null {
    return this.kernels.get(targetId) ?? null;
  }

  /** Adds (or replaces) a target's inventory. */
  add(targetId: string, packages: readonly InstalledPackage[], runningKernel: string | null = null): void {
    if (this.targets.has(targetId)) this.remove(targetId);
    if (runningKernel !== null) this.kernels.set(targetId, runningKernel);
    const mine: number[] = [];
    for (const p of packages) {
      let id = this.seen.get(p);
      if (id === undefined) {
        const k = buildKey(p);
        id = this.ids.get(k);
        if (id !== undefined) this.seen.set(p, id);
      }
      if (id === undefined) {
        const k = buildKey(p);
        id = this.builds.length;
        this.ids.set(k, id);
        this.seen.set(p, id);
        this.builds.push(p);
        this.holders.push([]);
        for (const n of p.sourceName === null || p.sourceName === p.name ? [p.name] : [p.name, p.sourceName]) {
          let l = this.byName.get(n);
          if (l === undefined) this.byName.set(n, (l = []));
          l.push(id);
        }
      }
      mine.push(id);
      this.holders[id]?.push(targetId);
    }
    this.targets.set(targetId, mine);
  }

  remove(targetId: string): void {
    for (const id of this.targets.get(targetId) ?? []) {
      const h = this.holders[id];
      if (h === undefined) continue;
      const i = h.indexOf(targetId);
      if (i >= 0) h.splice(i, 1);
    }
    this.targets.delete(targetId);
    this.kernels.delete(targetId);
  }

  /** Build ids whose binary or source name some fix of these advisories names. */
  candidates(advisories: readonly Advisory[]): number[] {
    const out = new Set<number>();
    for (const a of advisories) for (const f of a.fixes) if (f.release === this.release) for (const id of this.byName.get(f.package) ?? []) out.add(id);
    return [...out];
  }

  holdersOf(buildId: number): readonly string[] {
    return this.holders[buildId] ?? [];
  }
}

/**
 * Matches every target of the index against the advisories: each distinct build once.
 * @example const { byTarget, distinctMatched } = matchFleet(index, advisories)
 */
export function matchFleet(index: FleetIndex, advisories: readonly Advisory[]): { byTarget: Map<string, Match[]>; distinctMatched: number } {
  const matcher = new BuildMatcher(indexFixes(advisories, index.release, index.family));
  const byTarget = new Map<string, Match[]>();
  for (const [target, ids] of index.targets) {
    const builds = ids.map((id) => ({ key: id, pkg: index.builds[id] as InstalledPackage }));
    byTarget.set(target, judgeTarget(matcher, builds, index.runningKernel(target)).matches);
  }
  return { byTarget, distinctMatched: matcher.matched };
}

/**
 * The targets a new or changed advisory affects, looking only at the builds it names. The same
 * rules as judgeTarget: a kernel build is left out where the target runs another build of it
 * (installonly kernels), and a build listed twice is matched once.
 * @example affectedTargets(index, [newAdvisory]) // Map { 'web-01' => [Match…] }
 */
export function affectedTargets(index: FleetIndex, advisories: readonly Advisory[]): Map<string, Match[]> {
  const fixes = indexFixes(advisories, index.release, index.family);
  const hit = new Map<number, Match[]>();
  const byTarget = new Map<string, Set<number>>();
  for (const id of index.candidates(advisories)) {
    const b = index.builds[id];
    if (b === undefined) continue;
    const ms = matchPackage(fixes, b);
    if (ms.length === 0) continue;
    hit.set(id, ms);
    for (const t of index.holdersOf(id)) {
      let l = byTarget.get(t);
      if (l === undefined) byTarget.set(t, (l = new Set()));
      l.add(id);
    }
  }
  const out = new Map<string, Match[]>();
  for (const [t, ids] of byTarget) {
    const kernel = index.runningKernel(t);
    let judged: Set<InstalledPackage> | null = null;
    if (kernel !== null && [...ids].some((id) => isKernel(index.builds[id] as InstalledPackage))) {
      const all = (index.targets.get(t) ?? []).map((id) => index.builds[id] as InstalledPackage);
      judged = new Set(packagesToJudge(all, kernel));
    }
    const seen = new Set<string>();
    const ms: Match[] = [];
    for (const id of ids) {
      const b = index.builds[id] as InstalledPackage;
      if (judged !== null && !judged.has(b)) continue;
      const k = `${b.name}\u0000${b.arch}\u0000${installedVersion(b)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      ms.push(...(hit.get(id) ?? []));
    }
    if (ms.length > 0) out.set(t, ms);
  }
  return out;
}
