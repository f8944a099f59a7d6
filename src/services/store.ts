import { openDatabase, resolveLocation, startCheckpointer, type Checkpointer, type DatabaseLocation, type Db } from '../storage/index.js';

export type { Db } from '../storage/index.js';
/** Database errors an operator can act on (busy, full) as BulwarkErrors, for the CLI and the API. */
export { storageErrorOf } from '../storage/index.js';

/**
 * Opens the configured database (`--db PATH`, else BULWARK_DATABASE_URL, else the default
 * SQLite file), migrated to the latest schema.
 * @example const db = await openStore({ dbPath: undefined }); try { … } finally { await db.close(); }
 */
export function openStore(opts: { dbPath?: string | undefined; env?: NodeJS.ProcessEnv }): Promise<Db> {
  return openDatabase(resolveLocation(opts));
}

/** The service layer's clock: injected so tests and replays control "now". */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

export type { DatabaseLocation } from '../storage/index.js';
/** Where the configured database is (`--db PATH`, else BULWARK_DATABASE_URL, else the default SQLite file), without opening it. */
export function storeLocation(opts: { dbPath?: string | undefined; env?: NodeJS.ProcessEnv }): DatabaseLocation {
  return resolveLocation(opts);
}

/**
 * `bulwark serve`'s WAL checkpoints in a worker thread (storage/checkpointer.ts), on a SQLite
 * file; null on PostgreSQL or in memory. Closed before `db`.
 * @example const cp = checkpointerForStore(db, { dbPath: undefined }); … await cp?.close();
 */
export function checkpointerForStore(
  db: Db,
  opts: { dbPath?: string | undefined; env?: NodeJS.ProcessEnv; onError?: (message: string) => void },
): Checkpointer | null {
  const at = resolveLocation(opts);
  if (at.kind !== 'sqlite') return null;
  return startCheckpointer(db, at.path, opts.onError === undefined ? {} : { onError: opts.onError });
}
