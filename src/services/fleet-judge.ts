import type { InstalledPackage } from '../core/target.js';
import { judgeTarget, type BuildMatcher } from '../matching/fleet.js';
import { mitigateByLivePatches, type JudgedMatch } from '../matching/livepatch.js';
import { installedVersion } from '../matching/match.js';
import type { InstalledBuild, ResolvedFinding, ScanTargetRow } from '../storage/index.js';

export const advisoryKey = (source: string, id: string): string => `${source}\u0000${id}`;

/**
 * One target's findings from the builds it holds (within a scope): judged through the matcher
 * (each build matched once), live patches applied, each finding's source package, and the builds
 * judged. `release` (a whole scan) adds the release itself to the builds present.
 */
export function judgeHeld(
  matcher: BuildMatcher,
  held: readonly { key: number; pkg: InstalledPackage }[],
  t: Pick<ScanTargetRow, 'runningKernel' | 'streams' | 'livePatches'>,
  pkOf: ReadonlyMap<string, number>,
  eol: ResolvedFinding | null,
  release: string | null,
): { current: ResolvedFinding[]; present: InstalledBuild[]; matches: JudgedMatch[] } {
  const judgedTarget = judgeTarget(matcher, held, t.runningKernel, t.streams);
  const { judged } = judgedTarget;
  // A running kernel's finding a loaded live patch fixes is mitigated (matching/livepatch.ts).
  const matches = mitigateByLivePatches(judgedTarget.matches, judged, t.runningKernel, t.livePatches);
  // Each binary's source package on this host, stored with its findings (issue #17): the least
  // source name among the host's builds of that binary, else the binary itself.
  const sourceOf = new Map<string, string>();
  for (const h of held) {
    const s = h.pkg.sourceName;
    const was = sourceOf.get(h.pkg.name);
    if (s !== null && (was === undefined || s < was)) sourceOf.set(h.pkg.name, s);
  }
  const current: ResolvedFinding[] = [];
  for (const m of matches) {
    const pk = pkOf.get(advisoryKey(m.advisorySource, m.advisoryId));
    if (pk === undefined) continue;
    current.push({
      advisorySource: m.advisorySource,
      advisoryId: m.advisoryId,
      advisoryPk: pk,
      package: m.package,
      arch: m.arch,
      installed: m.installed,
      fixed: m.fixed,
      severity: m.severity,
      status: m.status,
      reason: m.reason,
      sourcePackage: sourceOf.get(m.package) ?? m.package,
    });
  }
  if (eol !== null) current.push({ ...eol, sourcePackage: eol.package });
  // The builds the host has now: a finding closes as `fixed` only when its build is not among them.
  // Made when first read: a scan reads them only for stored findings no longer found (an initial
  // load has none, and would make 6 M of them at 10,000 hosts).
  let present: InstalledBuild[] | undefined;
  return {
    current,
    get present(): InstalledBuild[] {
      if (present === undefined) {
        present = judged.map((p) => ({ package: p.name, arch: p.arch, installed: installedVersion(p) }));
        if (release !== null) present.push({ package: '(release)', arch: '-', installed: release });
      }
      return present;
    },
    matches,
  };
}
