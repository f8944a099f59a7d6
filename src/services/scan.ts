import { BulwarkError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Match } from '../matching/match.js';
import { releaseFamily } from '../distros/registry.js';
import {
  countActiveFindings,
  getTarget,
  listFindings,
  type Db,
  type FindingCounts,
  type SavedInventory,
  type ScanTargetRow,
  type StoredBuild,
  type StoredTarget,
  type Tx,
} from '../storage/index.js';
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
  const active = await listFindings(db, { targetId: target.id, status: ['open', 'no-fix', 'mitigated', 'accepted'] });
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

/**
 * Matches again what an inventory save changed (issue #14): only the binary names whose builds
 * the target gained or lost, when its release and running kernel stayed; the whole target
 * otherwise (a new target, a new release or kernel, or a report with no package change, which
 * an agent sends at least daily for what time alone changes). Returns the counts and how many
 * findings are active after it, and how many distinct builds were matched. `known`: the target
 * as stored now and the builds of the changed names it holds, when the caller has them (an
 * agent report stored as a difference): not read again.
 * @example await scanChanged(db, target.id, saved, { release: 'azurelinux:3.0', runningKernel: null })
 */
export async function scanChanged(
  db: Db | Tx,
  targetId: string,
  saved: Pick<SavedInventory, 'changedNames' | 'before' | 'livePatchesChanged'>,
  after: { release: string; runningKernel: string | null },
  clock: Clock = systemClock,
  known?: { target: ScanTargetRow; held: readonly StoredBuild[] },
): Promise<{ counts: FindingCounts; active: number; matched: number }> {
  const whole =
    saved.changedNames.length === 0 ||
    saved.before.release !== after.release ||
    saved.before.runningKernel !== after.runningKernel ||
    saved.livePatchesChanged === true;
  const r = await rescan(db, whole ? { targets: [targetId] } : { targets: [targetId], packages: saved.changedNames }, {
    clock,
    ...(known === undefined || known.target.id !== targetId ? {} : { known: { target: known.target, held: whole ? undefined : known.held } }),
  });
  const failure = r.failures[0];
  if (failure !== undefined) throw new BulwarkError('usage', failure.error);
  return { counts: r.counts.get(targetId) ?? NONE, active: await countActiveFindings(db, targetId), matched: r.distinctMatched };
}
