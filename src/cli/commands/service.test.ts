import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../services/store.js';
import { runCli } from '../../../test/cli.js';
import { freshPgSchema, pgAvailable, TEST_PG_URL } from '../../../test/databases.js';
import { dumpStore } from '../../../test/store-dump.js';
import { MIGRATION_LOCK_ID } from '../../storage/database.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-service-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every table, the audit log included: a restore must give back all of it. */
async function dumpOf(env: NodeJS.ProcessEnv, dbPath?: string): Promise<Record<string, string[]>> {
  const db = await openStore({ dbPath, env });
  try {
    return await dumpStore(db, []);
  } finally {
    await db.close();
  }
}

function objectFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => `${join(e.parentPath, e.name).slice(root.length)}:${readFileSync(join(e.parentPath, e.name), 'utf8')}`)
    .sort();
}

describe('backup and restore on SQLite', () => {
  it('restores into an empty directory the same findings, advisories, runs and audit, and the objects', async () => {
    const src = join(dir, 'live');
    mkdirSync(join(src, 'objects', 'ab'), { recursive: true });
    writeFileSync(join(src, 'objects', 'ab', 'cdef'), 'an object\n');
    const db = join(src, 'bulwark.db');
    const env = { BULWARK_DATABASE_URL: '' };
    expect((await runCli(['--db', db, 'demo'], env)).code).toBe(0);
    expect((await runCli(['--db', db, 'tokens', 'create', '--name', 'backup-test', '--role', 'viewer'], env)).code).toBe(0);
    // Online: another connection holds the database open, its last writes still in the WAL.
    const live = await openStore({ dbPath: db, env });
    try {
      const before = await dumpStore(live, []);
      for (const t of ['findings', 'advisories', 'audit', 'targets']) expect(before[t]?.length ?? 0, t).toBeGreaterThan(0);
      const out = join(dir, 'backup-1');
      const b = await runCli(['--db', db, 'backup', '--output', out], env);
      expect(b.err).toBe('');
      expect(b.code).toBe(0);
      expect(b.out).toMatch(/sqlite database \(\d+ migrations\), 1 objects \(10 bytes\)/);

      const fresh = join(dir, 'restored');
      mkdirSync(fresh);
      const r = await runCli(['--db', join(fresh, 'bulwark.db'), 'restore', '--input', out], env);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(await dumpOf(env, join(fresh, 'bulwark.db'))).toEqual(before);
      expect(objectFiles(join(fresh, 'objects'))).toEqual(objectFiles(join(src, 'objects')));

      // Never over an existing store, never into a backup directory in use, never from an unfinished backup.
      const again = await runCli(['--db', join(fresh, 'bulwark.db'), 'restore', '--input', out], env);
      expect(again.code).toBe(2);
      expect(again.err).toMatch(/restore only into a new installation|restore only into a new database/);
      expect((await runCli(['--db', db, 'backup', '--output', out], env)).err).toMatch(/is not empty/);
      mkdirSync(join(dir, 'half'));
      writeFileSync(join(dir, 'half', 'bulwark.db'), '');
      expect((await runCli(['--db', join(dir, 'other.db'), 'restore', '--input', join(dir, 'half')], env)).err).toMatch(/not a finished Bulwark backup/);
    } finally {
      await live.close();
    }
  });
});

describe.skipIf(!pgAvailable)('backup and restore on PostgreSQL', () => {
  it('pg_dump, the schema dropped, pg_restore: the same rows and objects', async () => {
    const { url, schema, drop } = await freshPgSchema();
    const objects = join(dir, 'pg-objects');
    mkdirSync(join(objects, '01'), { recursive: true });
    writeFileSync(join(objects, '01', '23'), 'pg object\n');
    const env = { BULWARK_DATABASE_URL: url, BULWARK_OBJECTS_DIR: objects };
    try {
      expect((await runCli(['demo'], env)).code).toBe(0);
      const before = await dumpOf(env);
      const out = join(dir, 'pg-backup');
      const b = await runCli(['backup', '--output', out], env);
      expect(b.err).toBe('');
      expect(b.out).toMatch(/postgres database/);
      // The database is lost: the schema and the object store go.
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      try {
        await c.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        await c.query(`drop schema ${schema} cascade`);
      } finally {
        await c.end();
      }
      rmSync(objects, { recursive: true });
      const r = await runCli(['restore', '--input', out], env);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(await dumpOf(env)).toEqual(before);
      expect(readFileSync(join(objects, '01', '23'), 'utf8')).toBe('pg object\n');
      // Into a database that has Bulwark's tables: refused.
      rmSync(objects, { recursive: true });
      expect((await runCli(['restore', '--input', out], env)).err).toMatch(/already holds a Bulwark database/);
    } finally {
      await drop().catch(() => undefined);
    }
  });
});

describe('config check', () => {
  it('says which setting comes from the file and which from the environment, and exits 3 on a bad file', async () => {
    const f = join(dir, 'check.yaml');
    writeFileSync(f, 'server:\n  listen: 127.0.0.1:9001\n  public_url: https://bulwark.example\n');
    const r = await runCli(['--config', f, 'config', 'check', '--json'], { BULWARK_PUBLIC_URL: 'https://other.example' });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { file: string; settings: { env: string; from: string; value: string }[] };
    expect(out.file).toBe(f);
    expect(out.settings).toContainEqual({ env: 'BULWARK_LISTEN', from: 'file', value: '127.0.0.1:9001' });
    expect(out.settings).toContainEqual({ env: 'BULWARK_PUBLIC_URL', from: 'environment', value: 'https://other.example' });
    writeFileSync(f, 'server:\n  listen: nowhere\n');
    const bad = await runCli(['--config', f, 'config', 'check']);
    expect(bad.code).toBe(3);
    expect(bad.err).toBe(`bulwark: ${f}:2:3: server.listen: expected HOST:PORT, e.g. 0.0.0.0:8080\n`);
  });
});

describe('doctor', () => {
  it('says what is missing with its fix, and fails (exit 3) on a database it cannot find', async () => {
    const r = await runCli(['--db', join(dir, 'nowhere.db'), 'doctor'], { PATH: '/nonexistent', BULWARK_DATABASE_URL: '' });
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/tools +rpm +warn +not found on PATH/);
    expect(r.out).toContain('fix tools/rpm: apt-get install rpm');
    expect(r.out).toMatch(/database +reachable +fail +no database at .*nowhere\.db/);
  });

  it('is clean but for warnings on a migrated store with synced feeds, and sees a clock that went back', async () => {
    const db = join(dir, 'doctor.db');
    const env = { BULWARK_DATABASE_URL: '', BULWARK_SSH_KEY_DIR: join(dir, 'keys') };
    expect((await runCli(['--db', db, 'demo'], env)).code).toBe(0);
    const r = await runCli(['--db', db, 'doctor', '--json'], env);
    expect(r.code).toBe(0);
    const checks = JSON.parse(r.out) as { area: string; name: string; status: string; fix: string | null }[];
    expect(checks.find((c) => c.area === 'database' && c.name === 'schema')?.status).toBe('ok');
    expect(checks.find((c) => c.area === 'clock' && c.name === 'recorded times')?.status).toBe('ok');
    expect(checks.filter((c) => c.area === 'feeds').length).toBeGreaterThan(0);
    expect(checks.find((c) => c.area === 'ssh')?.fix).toMatch(/^ssh-keygen -t ed25519/);
    expect(checks.filter((c) => c.status !== 'ok').length).toBeGreaterThan(0);
    for (const c of checks) if (c.status !== 'ok') expect(c.fix, `${c.area}/${c.name}`).not.toBeNull();

    // A clock set back a day: the audit log holds a later time than now.
    const { doctor } = await import('../../services/doctor.js');
    const { storeLocation } = await import('../../services/store.js');
    const back = await doctor({ location: storeLocation({ dbPath: db, env }), env, clock: () => new Date(Date.now() - 86_400_000) });
    expect(back.find((c) => c.name === 'recorded times')?.status).toBe('fail');
  });
});
