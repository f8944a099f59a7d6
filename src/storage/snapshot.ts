import { sql } from 'kysely';
import { handle, kx, openDatabase, sqliteOf, type Db, type Executor } from './database.js';
import { pump } from './pump.js';

/**
 * Reads of one snapshot of the store: what a streamed report reads in several queries (the
 * counts of its groups, the advisories' facts, then its rows page by page) agrees, whatever is
 * written meanwhile (a scan, an agent's report, a sync). Without it, a row could belong to a group
 * that was not counted, or to one already written, and the total said before the rows
 * (X-Total-Count) would disagree with them.
 * - PostgreSQL: one connection of the pool, in one REPEATABLE READ READ ONLY transaction, for
 *   every query of the reader (findingPages declares its cursor in that transaction).
 * - SQLite: a read-only connection of its own, in one read transaction (one WAL snapshot). Not
 *   the store's connection: in `bulwark serve` every request shares it, and a BEGIN on it would
 *   take the other requests' writes into the report's transaction.
 * In a transaction already, or on an in-memory or temporary SQLite store (no second connection
 * sees it), the reader runs on the handle as it is. A SQLite snapshot held for a long report keeps
 * the WAL from being checkpointed past it until the report ends (as any reader does).
 */

const SNAPSHOT: unique symbol = Symbol('bulwark.snapshot');

/** Whether `on` reads one snapshot (a handle readSnapshot gave, or a transaction). */
export function inSnapshot(on: Executor): boolean {
  return (on as { [SNAPSHOT]?: true })[SNAPSHOT] === true || (on as { inTransaction?: true }).inTransaction === true;
}

/** Whether `on` is a PostgreSQL snapshot's connection (findingPages declares its cursor on it, in its transaction). */
export function pgSnapshot(on: Executor): boolean {
  return (on as { [SNAPSHOT]?: true })[SNAPSHOT] === true && (on as Partial<Db>).dialect === 'postgres';
}

/**
 * Runs `read` on a handle that reads one snapshot of `db` (see above); the snapshot ends with it.
 * @example const total = await readSnapshot(db, async (s) => (await countOf(s)) + (await rowsOf(s)).length)
 */
export async function readSnapshot<T>(db: Db, read: (s: Db) => Promise<T>): Promise<T> {
  if (inSnapshot(db)) return read(db);
  const own = (s: Db): Db => Object.assign(s, { [SNAPSHOT]: true as const });
  if (db.dialect === 'postgres')
    return kx(db)
      .connection()
      .execute(async (conn) => {
        await sql`start transaction isolation level repeatable read, read only`.execute(conn);
        try {
          const out = await read(
            own(
              handle(
                { dialect: db.dialect, description: db.description, ...(db.schema !== undefined ? { schema: db.schema } : {}), close: () => Promise.resolve() },
                conn,
              ),
            ),
          );
          await sql`commit`.execute(conn);
          return out;
        } catch (err) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw err;
        }
      });
  const sqlite = sqliteOf(db);
  if (sqlite === undefined || sqlite.memory || sqlite.name === '') return read(db);
  const ro = await openDatabase(
    { kind: 'sqlite', path: sqlite.name, readOnly: true, busyTimeoutMs: sqlite.pragma('busy_timeout', { simple: true }) as number },
    { migrate: false },
  );
  try {
    const c = sqliteOf(ro);
    // A deferred BEGIN takes its snapshot at its first read: taken here, before the reader's first query.
    c?.exec('begin');
    c?.prepare('select count(*) from sqlite_schema').get();
    try {
      return await read(own({ ...ro }));
    } finally {
      if (c?.inTransaction === true) c.exec('commit');
    }
  } finally {
    await ro.close();
  }
}

/**
 * The items of `read` over one snapshot of `db` (readSnapshot), as a stream: the snapshot lasts
 * until the stream ends or its reader stops.
 * @example for await (const b of snapshotStream(db, (s) => batchesOf(s))) …
 */
export async function* snapshotStream<T>(db: Db, read: (s: Db) => AsyncIterable<T>): AsyncGenerator<T> {
  if (inSnapshot(db)) {
    yield* read(db);
    return;
  }
  yield* pump<T>((emit) =>
    readSnapshot(db, async (s) => {
      for await (const x of read(s)) if (!(await emit(x))) return;
    }),
  );
}
