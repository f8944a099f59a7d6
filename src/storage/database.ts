import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type MigrationResultSet,
  type SqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
import pg from 'pg';
import { BulwarkError } from '../core/errors.js';
import { storageErrorOf } from './errors.js';
import { pgTimestamp } from './pg-timestamp.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import type { Dialect } from './dialect.js';

export type { Dialect } from './dialect.js';

/** Where the database lives: a SQLite file (the default) or a PostgreSQL URL. */
export type DatabaseLocation =
  | { kind: 'sqlite'; path: string; busyTimeoutMs?: number; /** An existing file, opened read-only (the API's read workers). */ readOnly?: boolean }
  | { kind: 'postgres'; url: string; schema?: string };

/** How long a SQLite write waits for another process's write to end before it gives up (storage.conflict). */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * An open database, as services hold it. It carries no query builder: services hand it (or the
 * `Tx` that `transaction` gives) to the repository functions of src/storage/repositories, which
 * alone write SQL (issue #19: services receive repositories, not Kysely).
 */
export interface Db {
  readonly dialect: Dialect;
  /** A description safe to print: the SQLite path, or the PostgreSQL URL without its password. */
  readonly description: string;
  /** PostgreSQL schema the connection's search_path is set to, when not the default. */
  readonly schema?: string;
  close(): Promise<void>;
}

/** An open transaction, as `transaction` hands it to its callback: pass it where a Db goes. */
export interface Tx {
  readonly dialect: Dialect;
  readonly inTransaction: true;
}

/** A Kysely handle, the database or a transaction on it: storage-internal, never given to services. */
export type Query = Kysely<Database>;

/**
 * What a repository function runs on: the database, an open transaction, or (inside storage,
 * one repository function calling another) the Kysely handle it already unwrapped.
 */
export type Executor = Db | Tx | Query;

/**
 * The Kysely handle behind each Db and Tx, under a symbol this module keeps to itself: nothing outside
 * storage can name it, and a copy of a Db (`{ ...db, close }`, as the test harness makes) still carries it.
 */
const KYSELY: unique symbol = Symbol('bulwark.kysely');

/** The Kysely handle behind `on` (storage-internal: repository functions start with it). */
export function kx(on: Executor): Query {
  if (on instanceof Kysely) return on;
  const k = (on as { [KYSELY]?: Query })[KYSELY];
  if (k === undefined) throw new BulwarkError('internal', 'not an open Bulwark database handle');
  return k;
}

/**
 * The Kysely handle behind a Db, for TESTS that inspect or corrupt rows directly (and the
 * storage's own tooling). Application code never calls it: a lint rule forbids it outside
 * src/storage and test files.
 */
export function rawKysely(db: Db | Tx): Query {
  return kx(db);
}

export function handle<T extends Db | Tx>(h: T, k: Query, sqlite?: BetterSqlite3.Database): T {
  return Object.assign(h, { [KYSELY]: k }, sqlite === undefined ? {} : { [SQLITE]: sqlite });
}

const SQLITE: unique symbol = Symbol('bulwark.sqlite');

/** The better-sqlite3 handle of a SQLite Db or Tx, under SQLITE (storage-internal: bulk writes run its statements inside a Tx). */
export const sqliteOf = (on: Executor): BetterSqlite3.Database | undefined =>
  on instanceof Kysely ? undefined : (on as { [SQLITE]?: BetterSqlite3.Database })[SQLITE];

/**
 * Runs a read query on SQLite with its rows as arrays (better-sqlite3's raw mode, the columns in
 * the order selected): half the cost of a row object built by the driver, for the few queries
 * that read hundreds of thousands of rows (streamed reports). It holds Kysely's connection while
 * it runs, as Kysely's own queries do, so it never reads inside another caller's transaction.
 * Null on PostgreSQL or inside a transaction: run the query through Kysely then.
 * @example const rows = await sqliteArrays(db, query.compile()) ?? (await query.execute()).map(Object.values)
 */
export async function sqliteArrays(on: Executor, query: CompiledQuery): Promise<unknown[][] | null> {
  const sqlite = sqliteOf(on);
  if (sqlite === undefined || (on as Partial<Tx>).inTransaction === true) return null;
  return kx(on)
    .connection()
    .execute(() =>
      Promise.resolve(
        sqlite
          .prepare(query.sql)
          .raw(true)
          .all(...query.parameters),
      ),
    ) as Promise<unknown[][]>;
}

/**
 * The default SQLite file: `$XDG_DATA_HOME/bulwark/bulwark.db`, else
 * `~/.local/share/bulwark/bulwark.db` (XDG Base Directory specification).
 */
export function defaultSqlitePath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_DATA_HOME'];
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(homedir(), '.local', 'share');
  return join(base, 'bulwark', 'bulwark.db');
}

/**
 * Chooses the database from the command line and environment: `--db PATH` wins, then
 * `BULWARK_DATABASE_URL` (postgres://… or sqlite:PATH), then the default SQLite file.
 */
export function resolveLocation(opts: { dbPath?: string | undefined; env?: NodeJS.ProcessEnv }): DatabaseLocation {
  const env = opts.env ?? process.env;
  const wait = env['BULWARK_SQLITE_BUSY_TIMEOUT_MS'];
  if (wait !== undefined && wait !== '' && !/^\d{1,7}$/.test(wait))
    throw new BulwarkError('config.invalid', `BULWARK_SQLITE_BUSY_TIMEOUT_MS must be a number of milliseconds (0 to 9999999), not "${wait}"`, {
      variable: 'BULWARK_SQLITE_BUSY_TIMEOUT_MS',
    });
  const busy = wait === undefined || wait === '' ? {} : { busyTimeoutMs: Number(wait) };
  if (opts.dbPath !== undefined && opts.dbPath !== '') return { kind: 'sqlite', path: opts.dbPath, ...busy };
  const url = env['BULWARK_DATABASE_URL'];
  if (url !== undefined && url !== '') {
    if (/^postgres(ql)?:\/\//.test(url)) {
      // `?schema=NAME` keeps Bulwark's tables in a schema of their own (several instances or
      // tenants in one database); it is ours, not a libpq parameter, so it is taken off the URL.
      // A URL that does not parse is the operator's configuration error (exit 3), not an
      // internal one; it is not echoed, as it may hold the password.
      if (!URL.canParse(url))
        throw new BulwarkError('config.invalid', 'BULWARK_DATABASE_URL is not a URL (postgres://user:password@host:port/database)', {
          variable: 'BULWARK_DATABASE_URL',
        });
      const u = new URL(url);
      const schema = u.searchParams.get('schema');
      if (schema === null) return { kind: 'postgres', url };
      u.searchParams.delete('schema');
      return { kind: 'postgres', url: u.toString(), schema };
    }
    if (url.startsWith('sqlite:')) {
      // Only the default location's directory is created; a mistyped directory in the URL is an
      // error, not a new directory holding an empty database (as --db).
      const path = url.slice('sqlite:'.length);
      if (path !== ':memory:' && !existsSync(dirname(path)))
        throw new BulwarkError(
          'config.invalid',
          `BULWARK_DATABASE_URL: the directory ${dirname(path)} does not exist (create it first: bulwark creates only its default directory)`,
          { variable: 'BULWARK_DATABASE_URL' },
        );
      return { kind: 'sqlite', path, ...busy };
    }
    throw new BulwarkError('config.invalid', 'BULWARK_DATABASE_URL must start with postgres:// or sqlite:', { variable: 'BULWARK_DATABASE_URL' });
  }
  return { kind: 'sqlite', path: defaultSqlitePath(env), ...busy };
}

/** The URL with any password replaced, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

let pgParsersSet = false;
function setPgTypeParsers(): void {
  if (pgParsersSet) return;
  pgParsersSet = true;
  // int8 (bigserial ids, counts) as numbers: ids stay far below 2^53.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  // timestamptz as ISO 8601 UTC strings, the same text SQLite stores.
  pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, pgTimestamp);
}

/**
 * Opens (and migrates to the latest schema) the database at `location`.
 *
 * @example const db = await openDatabase({ kind: 'sqlite', path: '/tmp/b.db' });
 */
export async function openDatabase(location: DatabaseLocation, opts: { migrate?: boolean } = {}): Promise<Db> {
  let db: Db;
  if (location.kind === 'sqlite') {
    let sqlite: BetterSqlite3.Database;
    try {
      const ro = location.readOnly === true;
      if (location.path !== ':memory:' && !ro) mkdirSync(dirname(location.path), { recursive: true });
      sqlite = new BetterSqlite3(location.path, ro ? { readonly: true, fileMustExist: true } : {});
      // busy_timeout: a second process waits, not fails (set first: switching to WAL may wait
      // too); WAL: readers never block the writer.
      sqlite.pragma(`busy_timeout = ${String(location.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)}`);
      if (!ro) sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('synchronous = NORMAL');
    } catch (err) {
      throw new BulwarkError(
        'storage.unavailable',
        `cannot open SQLite database ${location.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { path: location.path },
        { cause: err },
      );
    }
    const kysely = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: keptStatements(sqlite) }, sqlite) });
    db = handle({ dialect: 'sqlite', description: location.path, close: () => kysely.destroy() }, kysely, sqlite);
  } else {
    setPgTypeParsers();
    const pool = new pg.Pool({
      connectionString: location.url,
      max: 10,
      connectionTimeoutMillis: 10_000,
      ...(location.schema !== undefined ? { options: `-c search_path=${quotePgIdent(location.schema)}` } : {}),
    });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const description = redactUrl(location.url);
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await kysely.destroy();
      throw new BulwarkError(
        'storage.unavailable',
        `cannot connect to PostgreSQL at ${description}: ${(err as Error).message}`,
        { url: description },
        { cause: err },
      );
    }
    db = handle(
      { dialect: 'postgres', description, ...(location.schema !== undefined ? { schema: location.schema } : {}), close: () => kysely.destroy() },
      kysely,
    );
  }
  if (opts.migrate !== false) {
    try {
      await migrateToLatest(db);
    } catch (err) {
      await db.close();
      throw err;
    }
  }
  return db;
}

/**
 * Prepared statements kept by their SQL text (issue #14): Kysely's SQLite driver prepares every
 * query anew, which was a seventh of an agent report's time; the same few hundred statements
 * run again and again. A statement still being iterated (a streamed query) is busy and is not
 * handed out twice: a fresh one is prepared beside it. Bounded; forgotten wholesale when full.
 */
function keptStatements(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const kept = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      kept.clear();
      sqlite.close();
    },
    prepare: (text: string) => {
      const hit = kept.get(text);
      if (hit !== undefined && !hit.busy) return hit;
      const stmt = sqlite.prepare(text);
      if (hit === undefined && text.length <= 20_000) {
        if (kept.size >= 2000) kept.clear();
        kept.set(text, stmt);
      }
      return stmt;
    },
  };
}

/**
 * SQLite transactions that take the write lock when they begin (BEGIN IMMEDIATE). A deferred
 * BEGIN reads first and asks for the lock at its first write; when another process wrote
 * meanwhile, SQLite answers SQLITE_BUSY at once without calling the busy handler (the snapshot
 * is stale), so two syncs, or a sync beside `bulwark serve`, failed instead of waiting. And a
 * transaction SQLite already rolled back itself (SQLITE_FULL, an I/O error) is not rolled back
 * again: that second error ("cannot rollback - no transaction is active") hid the first.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: BetterSqlite3.Database,
  ) {
    super(config);
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.sqlite.inTransaction) await super.rollbackTransaction(connection);
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly sqlite: BetterSqlite3.Database,
  ) {
    super(config);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config, this.sqlite);
  }
}

function quotePgIdent(s: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new BulwarkError('config.invalid', `bad PostgreSQL schema name "${s}"`);
  return s;
}

/**
 * PostgreSQL advisory lock held while migrating, and by anything that creates or drops schemas
 * in the same database (the test harness). Kysely's migrator introspects the tables of every
 * schema, which fails if another session drops a schema at that moment; several `bulwark serve`
 * processes starting together also migrate one at a time this way.
 */
export const MIGRATION_LOCK_ID = 4_242_001;

/**
 * Runs `fn` on one connection holding MIGRATION_LOCK_ID (PostgreSQL), or on the database as it is
 * (SQLite). Anything that lets Kysely introspect (the migrator, `migrationStatus`, `introspectSchema`) goes through here.
 */
export function underMigrationLock<T>(db: Db, fn: (k: Kysely<Database>) => Promise<T>): Promise<T> {
  if (db.dialect !== 'postgres') return fn(kx(db));
  return kx(db)
    .connection()
    .execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
      try {
        return await fn(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
      }
    });
}

/** Applies every pending migration; a failed one is rolled back and reported by name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  // Kysely looks for its migration tables in every schema unless told which one; with several
  // schemas in one database (tests, tenants) it would find another schema's table and skip
  // creating its own.
  // Unordered: each branch is given its own migration numbers and branches merge in any order,
  // so a database made on one branch (0034, 0037) lacks a lower number merged later (0030);
  // Kysely would refuse it as "corrupted" (test/upgrade.test.ts loads such databases).
  const run = (k: Kysely<Database>): Promise<MigrationResultSet> =>
    new Migrator({
      db: k,
      provider: migrationProvider(db.dialect),
      allowUnorderedMigrations: true,
      ...(db.schema !== undefined ? { migrationTableSchema: db.schema } : {}),
    }).migrateToLatest();
  const outcome = await underMigrationLock(db, run);
  const { error, results } = outcome;
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    // A full disk or a busy database is said as such, whichever step met it.
    const known = storageErrorOf(error);
    if (known !== null) throw known;
    throw new BulwarkError(
      'storage.unavailable',
      `database migration ${failed} failed on ${db.description}: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      { migration: failed },
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Runs `fn` in one transaction: all of it is stored, or none of it. Given an open transaction, `fn` runs in it.
 * @example await transaction(db, async (tx) => { await upsertAdvisories(tx, list, now); });
 */
export function transaction<T>(db: Db | Tx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if ('inTransaction' in db) return fn(db);
  return kx(db)
    .transaction()
    .execute((t) => fn(handle({ dialect: db.dialect, inTransaction: true }, t, sqliteOf(db))));
}
