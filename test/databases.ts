import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATION_LOCK_ID, openDatabase, redactUrl, type Db } from '../src/storage/database.js';
import { inCi } from './needs.js';

/**
 * The databases every storage test runs against: a fresh SQLite file, and a real PostgreSQL
 * in a schema of its own (dropped afterwards), at BULWARK_TEST_DATABASE_URL (scripts/test.sh
 * sets it up). PostgreSQL is required in CI; elsewhere its suite skips with a message when no
 * server answers.
 */
export const TEST_PG_URL = process.env['BULWARK_TEST_DATABASE_URL'] ?? 'postgres://bulwark:bulwark@127.0.0.1:5432/bulwark_test';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  open: () => Promise<Db>;
}

async function pgReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const pgProblem = await pgReachable();
if (pgProblem !== null) {
  const msg = `PostgreSQL at ${redactUrl(TEST_PG_URL)} is not reachable (${pgProblem})`;
  if (inCi()) throw new Error(`${msg}; CI requires it (scripts/setup-test.sh starts it)`);
  console.warn(`skipping the PostgreSQL storage suite: ${msg}; run scripts/setup-test.sh as root`);
}

let counter = 0;

function sqlite(): TestDatabase {
  return {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-test-'));
      const db = await openDatabase({ kind: 'sqlite', path: join(dir, 'bulwark.db') });
      const close = db.close.bind(db);
      return {
        ...db,
        close: async () => {
          await close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function postgres(): TestDatabase {
  return {
    name: 'postgres',
    open: async () => {
      // Test files may share a process (worker threads): a random part keeps schemas apart.
      const schema = `bulwark_t${String(process.pid)}_${String(++counter)}_${randomBytes(4).toString('hex')}`;
      // Kysely's migrator introspects every schema's tables, which fails when another test
      // process drops its schema at that moment: schemas are created and dropped under the lock
      // every migration takes (MIGRATION_LOCK_ID).
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        await admin.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        await admin.query(`create schema ${schema}`);
      } finally {
        await admin.end();
      }
      const db = await openDatabase({ kind: 'postgres', url: TEST_PG_URL, schema });
      const close = db.close.bind(db);
      return {
        ...db,
        close: async () => {
          await close();
          const c = new pg.Client({ connectionString: TEST_PG_URL });
          await c.connect();
          try {
            await c.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
            await c.query(`drop schema ${schema} cascade`);
          } finally {
            await c.end();
          }
        },
      };
    },
  };
}

/** The databases to run a suite on: `describe.each(testDatabases())('… on $name', …)`. */
export function testDatabases(): TestDatabase[] {
  return pgProblem === null ? [sqlite(), postgres()] : [sqlite()];
}

/** True when the test PostgreSQL answers (suites that need it skip otherwise, and fail in CI). */
export const pgAvailable = pgProblem === null;

/**
 * A fresh schema on the test PostgreSQL for processes of their own (e.g. several `bulwark serve`):
 * `url` carries it as `?schema=`, which Bulwark reads.
 */
export async function freshPgSchema(): Promise<{ schema: string; url: string; drop: () => Promise<void> }> {
  const schema = `bulwark_x${String(process.pid)}_${randomBytes(4).toString('hex')}`;
  const run = async (q: string): Promise<void> => {
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    try {
      await c.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await run(`create schema ${schema}`);
  const u = new URL(TEST_PG_URL);
  u.searchParams.set('schema', schema);
  return { schema, url: u.toString(), drop: () => run(`drop schema ${schema} cascade`) };
}
