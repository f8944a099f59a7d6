import { readFile } from 'node:fs/promises';
import { BulwarkError } from '../core/errors.js';
import { parseRepomd, type Repomd } from '../repos/rpmmd.js';
import { listSnapshotRows, type RepoRow, type SnapshotRow } from '../storage/index.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { objectPath } from './object-store.js';
import { systemClock, type Clock, type Db } from './store.js';

export interface SyncOptions {
  objectsDir: string;
  clock?: Clock;
  /** Take older metadata than the last snapshot's (a deliberate rollback); audited. */
  allowRollback?: boolean;
  actor?: Actor;
}

/** The newest `<timestamp>` of a repomd.xml's entries (seconds since the epoch), or null. */
export function newestTimestamp(md: Repomd): number | null {
  const ts = md.entries.map((e) => e.timestamp).filter((t): t is number => t !== null && Number.isFinite(t));
  return ts.length === 0 ? null : Math.max(...ts);
}

const when = (seconds: number | null): string => (seconds === null ? 'no timestamps' : `timestamps up to ${new Date(seconds * 1000).toISOString()}`);

/**
 * Anti-rollback (issue #21, item 1): the last snapshot's revision and timestamps are the floor.
 * Old metadata stays validly signed for ever: whoever holds a copy could otherwise serve it
 * again and take back every fix published since (TUF's "rollback attack",
 * https://theupdateframework.github.io/specification/latest/#detailed-client-workflow 5.3.5).
 * The same metadata as the last snapshot is no error, but it is reported: "not advanced since"
 * the day it was first taken, and the source's age goes on counting from then. Metadata the
 * repository had before (an earlier snapshot's), or an older revision or older timestamps, is
 * refused unless the operator allows the rollback, which is audited.
 */
export async function freshness(
  db: Db,
  repo: RepoRow,
  snapshot: string,
  got: { revision: string | null; newest: number | null },
  o: SyncOptions,
): Promise<{ notAdvancedSince: string | null; rolledBack: boolean }> {
  const snaps = await listSnapshotRows(db, repo.id);
  const last = snaps[0];
  if (last === undefined) return { notAdvancedSince: null, rolledBack: false };
  if (last.id === snapshot) return { notAdvancedSince: last.createdAt, rolledBack: false };
  const refusal = await rollbackReason(o.objectsDir, repo, last, snapshot, snaps, got);
  if (refusal === null) return { notAdvancedSince: null, rolledBack: false };
  if (o.allowRollback !== true)
    throw new BulwarkError('input.invalid', `repository ${repo.id}: ${refusal}: refusing a rollback (give --allow-rollback to take it anyway)`, {
      repo: repo.id,
      lastSnapshot: last.id,
    });
  await recordAudit(db, o.actor ?? SYSTEM, 'repo.rollback', repo.id, { snapshot, replaces: last.id, reason: refusal }, o.clock ?? systemClock);
  return { notAdvancedSince: null, rolledBack: true };
}

async function rollbackReason(
  objectsDir: string,
  repo: RepoRow,
  last: SnapshotRow,
  snapshot: string,
  snaps: readonly SnapshotRow[],
  got: { revision: string | null; newest: number | null },
): Promise<string | null> {
  const earlier = snaps.find((x) => x.id === snapshot);
  if (earlier !== undefined)
    return `this is the metadata of an earlier snapshot (${snapshot.slice(0, 16)}, taken ${earlier.createdAt}, revision ${earlier.revision ?? '(none)'}), older than the last one (${last.id.slice(0, 16)}, revision ${last.revision ?? '(none)'})`;
  if (repo.kind === 'deb') {
    if (last.revision !== null && got.revision !== null && Date.parse(got.revision) < Date.parse(last.revision))
      return `the Release is dated ${got.revision}, before the last snapshot's (${last.revision})`;
    return null;
  }
  const num = (r: string | null): number | null => (r !== null && /^\d{1,18}$/.test(r) ? Number(r) : null);
  const [mine, theirs] = [num(got.revision), num(last.revision)];
  let lastNewest: number | null = null;
  const repomdFile = last.files.find((f) => f.type === 'repomd');
  if (repomdFile !== undefined) {
    try {
      lastNewest = newestTimestamp(
        await parseRepomd(await readFile(objectPath(objectsDir, repomdFile.sha256)), `snapshot ${last.id.slice(0, 16)}: repomd.xml`),
      );
    } catch {
      // the stored copy is gone (pruned by hand): the revision alone is the floor
    }
  }
  const both = `revision ${got.revision ?? '(none)'}, ${when(got.newest)}; the last snapshot (${last.id.slice(0, 16)}) has revision ${last.revision ?? '(none)'}, ${when(lastNewest)}`;
  if (mine !== null && theirs !== null && mine < theirs) return `repomd.xml has an older revision than the last snapshot (${both})`;
  if (got.newest !== null && lastNewest !== null && got.newest < lastNewest) return `repomd.xml has older timestamps than the last snapshot (${both})`;
  return null;
}
