import { openDatabase, resolveLocation, type DatabaseLocation, type Db } from '../storage/index.js';

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
