import { BulwarkError } from '../core/errors.js';

/**
 * The database errors an operator can act on, as BulwarkErrors with a stable code (the CLI's
 * exit code and the API's status follow from it); null for anything else, which stays an
 * internal error. Looks through `cause` chains, since drivers and Kysely wrap what they throw.
 *
 * - busy: SQLite's SQLITE_BUSY / SQLITE_LOCKED after the busy timeout (another process writes
 *   the same file: a second sync, `bulwark serve`), PostgreSQL's lock_not_available (55P03),
 *   deadlock_detected (40P01) and serialization_failure (40001): `storage.conflict`, retry later.
 * - full: SQLITE_FULL (the disk, or the max_page_count limit), PostgreSQL's disk_full (53100),
 *   ENOSPC and EDQUOT from the file system: `storage.full`. The transaction was rolled back, so
 *   nothing of the change is stored.
 * @example const e = storageErrorOf(err); if (e !== null) throw e;
 */
export function storageErrorOf(err: unknown): BulwarkError | null {
  for (let e: unknown = err, depth = 0; e !== null && e !== undefined && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BulwarkError) return null;
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const message = e instanceof Error ? e.message : typeof (e as { message?: unknown }).message === 'string' ? (e as { message: string }).message : code;
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
      return new BulwarkError(
        'storage.conflict',
        'the database is busy: another process (a feed sync, bulwark serve) kept it locked for longer than the busy timeout (BULWARK_SQLITE_BUSY_TIMEOUT_MS); nothing was changed, try again',
        { reason: code },
        { cause: err },
      );
    }
    if (code === '55P03' || code === '40P01' || code === '40001') {
      return new BulwarkError(
        'storage.conflict',
        `the database refused the change because another session held what it needed (${message}); nothing was changed, try again`,
        { reason: code },
        { cause: err },
      );
    }
    if (code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === 'EDQUOT') {
      return new BulwarkError(
        'storage.full',
        `the disk or the database is full (${code}): free space and try again; nothing of this change was stored`,
        { reason: code },
        { cause: err },
      );
    }
  }
  return null;
}
