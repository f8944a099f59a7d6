import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { Migrator, sql } from 'kysely';
import { BulwarkError } from '../core/errors.js';
import { kx, underMigrationLock, type Db, type DatabaseLocation } from './database.js';
import { migrationProvider } from './migrations/index.js';

const run = promisify(execFile);

/** Which migrations the database has and which it lacks (`bulwark doctor`); opened with `migrate: false`. */
export async function migrationStatus(db: Db): Promise<{ applied: string[]; pending: string[]; unknown: string[] }> {
  const list = await underMigrationLock(db, (k) =>
    new Migrator({
      db: k,
      provider: migrationProvider(db.dialect),
      allowUnorderedMigrations: true,
      ...(db.schema !== undefined ? { migrationTableSchema: db.schema } : {}),
    }).getMigrations(),
  );
  const known = new Set(list.map((m) => m.name));
  let stored: string[] = [];
  try {
    const table = db.schema !== undefined ? sql.table(`${db.schema}.kysely_migration`) : sql.table('kysely_migration');
    stored = (await sql<{ name: string }>`select name from ${table}`.execute(kx(db))).rows.map((r) => r.name);
  } catch {
    stored = [];
  }
  return {
    applied: list.filter((m) => m.executedAt !== undefined).map((m) => m.name),
    pending: list.filter((m) => m.executedAt === undefined).map((m) => m.name),
    // Applied by a newer Bulwark than this one: downgrades are not supported.
    unknown: stored.filter((n) => !known.has(n)),
  };
}

/** The database server's clock (PostgreSQL) or null (SQLite runs on this machine's). */
export async function databaseClock(db: Db): Promise<Date | null> {
  if (db.dialect === 'sqlite') return null;
  const r = await sql<{ now: string }>`select now() as now`.execute(kx(db));
  const v = r.rows[0]?.now;
  return v === undefined ? null : new Date(v);
}

/** The newest time the store recorded (audit, runs, findings), to see a clock that went back. */
export async function newestRecordedTime(db: Db): Promise<string | null> {
  const r = await sql<{ at: string | null }>`select max(at) as at from audit`.execute(kx(db));
  return r.rows[0]?.at ?? null;
}

/**
 * A consistent copy of the database while it is in use: SQLite's online backup API (pages copied
 * in steps, every write meanwhile restarting the copy of what changed), or `pg_dump --format=custom`
 * of the connection's database (or its schema), one snapshot in one transaction.
 * @example await backupDatabase({ kind: 'sqlite', path: '/var/lib/bulwark/bulwark.db' }, '/backup/bulwark.db')
 */
export async function backupDatabase(location: DatabaseLocation, target: string): Promise<void> {
  if (location.kind === 'sqlite') {
    const source = new BetterSqlite3(location.path, { readonly: true, fileMustExist: true });
    try {
      source.pragma(`busy_timeout = ${String(location.busyTimeoutMs ?? 5000)}`);
      await source.backup(target);
    } finally {
      source.close();
    }
    return;
  }
  const args = [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${target}`,
    ...(location.schema !== undefined ? [`--schema=${location.schema}`] : []),
  ];
  await pgTool('pg_dump', args, location.url);
}

/**
 * Restores what backupDatabase wrote into an empty database: the SQLite file is copied into place
 * (refused if one exists); PostgreSQL gets pg_restore into the connection's database, whose
 * Bulwark tables must not exist yet. With a schema, the dump's schema name is the backup's own;
 * `schema` renames nothing (pg_restore cannot), so restore into a database, or the same schema name.
 */
export async function restoreDatabase(location: DatabaseLocation, source: string): Promise<void> {
  if (location.kind === 'sqlite') {
    const { copyFileSync, constants } = await import('node:fs');
    try {
      copyFileSync(source, location.path, constants.COPYFILE_EXCL);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new BulwarkError('usage', `${location.path} exists: restore only into a new database (move the old one away first)`, { path: location.path });
      throw err;
    }
    return;
  }
  await pgTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', source], location.url);
}

/** Runs a PostgreSQL client tool on `url`; the password goes in PGPASSWORD, not in argv where `ps` shows it. */
async function pgTool(tool: 'pg_dump' | 'pg_restore', args: string[], url: string): Promise<void> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  try {
    await run(tool, [...args, `--dbname=${u.toString()}`], {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, ...(password !== '' ? { PGPASSWORD: password } : {}) },
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new BulwarkError('config.invalid', `${tool} is not installed (apt-get install postgresql-client)`, { tool });
    // The URL (with its password) is in the arguments, not in what the tool says.
    throw new BulwarkError(
      'storage.unavailable',
      `${tool} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(0, 3).join('; ')}`,
      { tool },
      { cause: err },
    );
  }
}
