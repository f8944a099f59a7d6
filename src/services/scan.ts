import { BulwarkError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { releaseFamily } from '../distros/registry.js';
import type { Advisory } from '../core/advisory.js';
import { lifecycleStatus } from '../lifecycle/catalog.js';
import { packagesToJudge } from '../matching/kernels.js';
import { installedVersion, matchPackages, type Match } from '../matching/match.js';
import {
  getTarget,
  listFindings,
  listTargets,
  loadAdvisories,
  loadInventory,
  recordFindings,
  transaction,
  upsertAdvisories,
  type Db,
  type FindingCounts,
  type StoredTarget,
} from '../storage/index.js';
import { systemClock, type Clock } from './store.js';

/** The advisory source of end-of-support findings. */
export const LIFECYCLE_SOURCE = 'bulwark-lifecycle';

export interface ScanReport {
  target: StoredTarget;
  counts: FindingCounts;
  /** The target's findings after the scan that are not closed (open, no-fix, accepted). */
  active: Finding[];
  /**
   * Each match's installed package source and where it came from (given, resolved, learned,
   * assumed), by `packageSourceKey`, as a scan with `--feed` reports it: the findings table
   * does not keep it.
   */
  packageSources: ReadonlyMap<string, Match['packageSource']>;
}

/** The key of a finding in `ScanReport.packageSources`. */
export function packageSourceKey(f: { advisorySource: string; advisoryId: string; package: string; arch: string }): string {
  return [f.advisorySource, f.advisoryId, f.package, f.arch].join('\u0000');
}

/**
 * Matches one target's stored inventory against the stored advisories of its release and
 * records the result: new findings open, vanished ones close (DESIGN.md data flow, step 3).
 *
 * @example await scanTarget(db, 'web-01')
 */
export async function scanTarget(db: Db, idOrName: string, clock: Clock = systemClock): Promise<ScanReport> {
  const target = await getTarget(db, idOrName);
  if (!target) throw new BulwarkError('usage', `no target named "${idOrName}"`);
  if (target.release === null) throw new BulwarkError('usage', `target "${target.name}" has no release; import its inventory with --release first`);
  const family = releaseFamily(target.release);
  if (family === null) throw new BulwarkError('usage', `target "${target.name}": unknown release "${target.release}"`);
  const release = target.release;
  const now = clock().toISOString();
  return transaction(db, async (tx) => {
    const packages = await loadInventory(tx, target.id);
    const names = new Set<string>();
    for (const p of packages) {
      names.add(p.name);
      if (p.sourceName !== null) names.add(p.sourceName);
    }
    const advisories = await loadAdvisories(tx, { release, packages: [...names] });
    // Only the running build of an installonly kernel is exposed (when the collector knows it).
    const judged = packagesToJudge(packages, target.runningKernel);
    // Module streams and subscription channels the host has enabled decide which fixes apply (matching/applicability.ts).
    const matches = matchPackages({ family, release, packages: judged, advisories, streams: target.streams });
    // The builds the host has now: a finding closes as `fixed` only when its build is not among them.
    const builds = [
      ...judged.map((p) => ({ package: p.name, arch: p.arch, installed: installedVersion(p) })),
      { package: '(release)', arch: '-', installed: release },
    ];
    const findings = matches.map((m) => ({
      advisorySource: m.advisorySource,
      advisoryId: m.advisoryId,
      package: m.package,
      arch: m.arch,
      installed: m.installed,
      fixed: m.fixed,
      severity: m.severity,
      status: m.status,
      reason: m.reason,
    }));
    // A release past its end of security support is itself a finding (issue #4).
    const life = lifecycleStatus(release, clock());
    if ((life.state === 'end-of-life' || life.state === 'extended-only') && life.facts !== null) {
      const f = life.facts;
      const eol: Advisory = {
        source: LIFECYCLE_SOURCE,
        id: `EOL-${release}`,
        kind: 'security',
        title: `${f.name} is past the end of its security support (${f.endOfSecuritySupport ?? '?'})`,
        description: `${f.name}: end of security support ${f.endOfSecuritySupport ?? '?'}${f.endOfExtendedSupport === null ? '' : `, end of extended support ${f.endOfExtendedSupport}`}. Sources: ${f.sources.join(', ')}`,
        severity: life.state === 'end-of-life' ? 'high' : 'medium',
        cvssScore: null,
        cvssVector: null,
        cves: [],
        references: f.sources.map((u) => ({ type: 'web' as const, id: null, url: u })),
        publishedAt: f.endOfSecuritySupport === null ? null : `${f.endOfSecuritySupport}T23:59:59.000Z`,
        updatedAt: null,
        parser: 'lifecycle@1',
        fixes: [],
      };
      await upsertAdvisories(tx, [eol], now);
      findings.push({
        advisorySource: LIFECYCLE_SOURCE,
        advisoryId: eol.id,
        package: '(release)',
        arch: '-',
        installed: release,
        fixed: null,
        severity: eol.severity,
        status: 'no-fix',
        reason:
          life.state === 'end-of-life' ? 'no vendor security updates any more' : `only extended (paid or LTS) support until ${f.endOfExtendedSupport ?? '?'}`,
      });
    }
    const counts = await recordFindings(tx, target.id, findings, builds, now);
    const active = await listFindings(tx, { targetId: target.id, status: ['open', 'no-fix', 'accepted'] });
    return { target, counts, active, packageSources: new Map(matches.map((m) => [packageSourceKey(m), m.packageSource])) };
  });
}

/** Scans every target that has an inventory; one target's failure does not stop the others. */
export async function scanAll(db: Db, clock: Clock = systemClock): Promise<{ reports: ScanReport[]; failures: { target: string; error: string }[] }> {
  const reports: ScanReport[] = [];
  const failures: { target: string; error: string }[] = [];
  for (const t of await listTargets(db)) {
    if (t.inventoryAt === null) continue;
    try {
      reports.push(await scanTarget(db, t.id, clock));
    } catch (err) {
      failures.push({ target: t.name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { reports, failures };
}
