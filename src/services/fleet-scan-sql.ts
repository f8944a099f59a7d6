import { releaseFamily } from '../distros/registry.js';
import { BuildMatcher } from '../matching/fleet.js';
import { indexFixes } from '../matching/match.js';
import type { InstalledPackage } from '../core/target.js';
import {
  buildsNamed,
  findingPackagesOn,
  inventoryReleases,
  jsonList,
  livePatchList,
  loadAdvisoriesWithPks,
  scanTargetsInRelease,
  withScopeSession,
  type Db,
  type InstalledBuild,
  type SignatureFinding,
} from '../storage/index.js';
import { advisoryKey, judgeHeld } from './fleet-judge.js';

/**
 * A feed sync's re-scan on PostgreSQL (issue #14): the changed advisories' distinct builds are
 * matched once, the touched targets are grouped in SQL by what the scope sees of them (their
 * in-scope builds, running kernel, streams, channels, live patches: storage findings-scope-pg.ts),
 * each group is judged once by the same code as a host's scan (judgeHeld), and the findings are
 * written for all the group's targets at once as set operations, a range of targets per
 * transaction. Its findings equal rescan's per-target path (test: fleet-scan-sql.test.ts); the
 * per-target counts are not gathered (`looked` says how many targets were looked at).
 */
export async function rescanAdvisoriesInSql(
  db: Db,
  advisoryPks: readonly number[],
  now: Date,
  batch?: number,
): Promise<{ looked: number; distinctMatched: number; failures: { target: string; error: string }[] }> {
  const result = { looked: 0, distinctMatched: 0, failures: [] as { target: string; error: string }[] };
  const at = now.toISOString();
  const size = Math.max(1, batch ?? 10_000);
  for (const { release } of await inventoryReleases(db)) {
    if (release === null || releaseFamily(release) === null) {
      for (const t of await scanTargetsInRelease(db, release))
        result.failures.push({
          target: t.name,
          error:
            release === null
              ? `target "${t.name}" has no release; import its inventory with --release first`
              : `target "${t.name}": unknown release "${release}"`,
        });
      continue;
    }
    const family = releaseFamily(release);
    if (family === null) continue;
    const advisories = await loadAdvisoriesWithPks(db, { release, pks: advisoryPks });
    // As rescan's plan: the builds the advisories name (binary or source), every build of those
    // binary names, and of the packages of findings already on the advisories.
    const fixNames = new Set<string>();
    for (const a of advisories) for (const f of a.advisory.fixes) if (f.release === release) fixNames.add(f.package);
    const named = await buildsNamed(db, [...fixNames], { bySource: true });
    const names = new Set(named.map((b) => b.pkg.name));
    for (const n of await findingPackagesOn(db, advisoryPks)) names.add(n);
    const builds = new Map<number, InstalledPackage>();
    for (const b of await buildsNamed(db, [...names])) builds.set(b.pk, b.pkg);
    const pkOf = new Map(advisories.map((a) => [advisoryKey(a.advisory.source, a.advisory.id), a.pk]));
    const matcher = new BuildMatcher(
      indexFixes(
        advisories.map((a) => a.advisory),
        release,
        family,
      ),
    );
    await withScopeSession(db, async (s) => {
      const { signatures, targets } = await s.signatures({
        release,
        buildPks: [...builds.keys()],
        candidatePks: named.map((b) => b.pk),
        advisoryPks,
      });
      if (targets === 0) return;
      const found: SignatureFinding[] = [];
      const present: (InstalledBuild & { sig: number })[] = [];
      for (const g of signatures) {
        const held: { key: number; pkg: InstalledPackage }[] = [];
        for (const pk of g.buildPks) {
          const pkg = builds.get(pk);
          if (pkg !== undefined) held.push({ key: pk, pkg });
        }
        const target = {
          runningKernel: g.runningKernel,
          streams: { modules: jsonList(g.moduleStreams), channels: jsonList(g.channels) },
          livePatches: livePatchList(g.livePatches),
        };
        const j = judgeHeld(matcher, held, target, pkOf, null, null);
        // The same identity twice: the first one stands (as writeFindingSets does).
        const seen = new Set<string>();
        for (const f of j.current) {
          const id = `${String(f.advisoryPk)}\u0000${f.package}\u0000${f.arch}`;
          if (seen.has(id)) continue;
          seen.add(id);
          found.push({ ...f, sig: g.sig });
        }
        const judged = new Set<string>();
        for (const b of j.present) {
          const id = `${b.package}\u0000${b.arch}\u0000${b.installed}`;
          if (judged.has(id)) continue;
          judged.add(id);
          present.push({ ...b, sig: g.sig });
        }
      }
      await s.putFindings(found, present, advisoryPks);
      for (let from = 0; from < targets; from += size) await s.writeRange(from, Math.min(targets, from + size), at);
      result.looked += targets;
    });
    result.distinctMatched += matcher.matched;
  }
  return result;
}
