import { BulwarkError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Match } from '../matching/match.js';
import { releaseFamily } from '../distros/registry.js';
import { getTarget, listFindings, type Db, type FindingCounts, type StoredTarget } from '../storage/index.js';
import { packageSourceKey, rescan } from './fleet-scan.js';
import { systemClock, type Clock } from './store.js';

export { LIFECYCLE_SOURCE } from './lifecycle-finding.js';
export { packageSourceKey };

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

const NONE: FindingCounts = { opened: 0, kept: 0, reopened: 0, closed: 0 };

/**
 * Matches one target's stored inventory against the stored advisories of its release and
 * records the result: new findings open, vanished ones close (DESIGN.md data flow, step 3),
 * through the one matching path (services/fleet-scan.ts).
 *
 * @example await scanTarget(db, 'web-01')
 */
export async function scanTarget(db: Db, idOrName: string, clock: Clock = systemClock): Promise<ScanReport> {
  const target = await getTarget(db, idOrName);
  if (!target) throw new BulwarkError('usage', `no target named "${idOrName}"`);
  if (target.release === null) throw new BulwarkError('usage', `target "${target.name}" has no release; import its inventory with --release first`);
  if (releaseFamily(target.release) === null) throw new BulwarkError('usage', `target "${target.name}": unknown release "${target.release}"`);
  const r = await rescan(db, { targets: [target.id] }, { clock, sources: true });
  const failure = r.failures[0];
  if (failure !== undefined) throw new BulwarkError('usage', failure.error);
  const active = await listFindings(db, { targetId: target.id, status: ['open', 'no-fix', 'accepted'] });
  return { target, counts: r.counts.get(target.id) ?? NONE, active, packageSources: r.sources.get(target.id) ?? new Map() };
}

/** What `scanAll` did for one target. */
export interface TargetScanCounts {
  targetId: string;
  target: string;
  counts: FindingCounts;
}

/**
 * Scans every target that has an inventory, fleet-wide: each distinct build matched once, a
 * batch of targets per transaction. A target that cannot be scanned (no release) is reported
 * and does not stop the others.
 * @example const { scanned, failures } = await scanAll(db)
 */
export async function scanAll(
  db: Db,
  clock: Clock = systemClock,
): Promise<{ scanned: TargetScanCounts[]; failures: { target: string; error: string }[]; distinctMatched: number }> {
  const r = await rescan(db, {}, { clock });
  return {
    scanned: r.targets.map((t) => ({ targetId: t.id, target: t.name, counts: r.counts.get(t.id) ?? NONE })),
    failures: r.failures,
    distinctMatched: r.distinctMatched,
  };
}
