import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATION_LOCK_ID, openDatabase } from '../src/storage/database.js';
import { migrationStatus } from '../src/storage/maintenance.js';
import { runCli } from './cli.js';
import { pgAvailable, TEST_PG_URL } from './databases.js';

/**
 * Upgrades from every earlier schema of this repository's history (issue #18 item 2): each
 * fixture in test/fixtures/schemas was made by an earlier commit's own code running its own
 * `bulwark demo` (scripts/gen-schema-fixtures.ts regenerates them), the first by e6a60d1, the
 * oldest commit whose demo fills a database (59a11d0, the oldest with migrations, had a demo that
 * printed "not built yet" and stored nothing). Each is loaded as that commit left it, migrated to
 * today's schema by openDatabase, and every row it held must still be there, column for column.
 */
const DIR = join(import.meta.dirname, 'fixtures', 'schemas');
const fixtures = readdirSync(DIR).sort();
const sqliteFixtures = fixtures.filter((f) => f.endsWith('.sqlite.json'));
const pgFixtures = fixtures.filter((f) => f.endsWith('.pg.sql'));

type Rows = Map<string, Record<string, unknown>[]>;

/** Tables a migration drops on purpose, and why; every other table must keep every row. */
const DROPPED: Readonly<Record<string, string>> = {
  learned_sources: 'migration 0025 replaces it with learned_source_claims: its rows name no target, so hosts teach them again at their next collection',
  learned_source_claims:
    'migration 0055 replaces it with source_claim_sets (one JSON object of claims per target and release) and source_claim_counts (targets per fact), built from its rows',
};

/** Migration 0055: every per-target claim is in its target's claim set, and each fact's count is the number of targets that claimed it. */
function expectClaimsCarried(rows: Record<string, unknown>[], after: Rows): number {
  const pair = (release: unknown, name: unknown, target: unknown, source: unknown): string => JSON.stringify([release, name, target, source]);
  const sets = (after.get('source_claim_sets') ?? []).flatMap((s) =>
    Object.entries(JSON.parse(String(s['claims'])) as Record<string, string>).map(([name, source]) => pair(s['release_id'], name, s['target_id'], source)),
  );
  expect(sets.sort()).toEqual(rows.map((r) => pair(r['release_id'], r['name'], r['target_id'], r['source_name'])).sort());
  const counts = new Map<string, number>();
  for (const r of rows)
    counts.set(
      JSON.stringify([r['release_id'], r['name'], r['source_name']]),
      (counts.get(JSON.stringify([r['release_id'], r['name'], r['source_name']])) ?? 0) + 1,
    );
  const stored = new Map(
    (after.get('source_claim_counts') ?? []).map((r) => [JSON.stringify([r['release_id'], r['name'], r['source_name']]), Number(r['targets'])]),
  );
  expect(stored).toEqual(counts);
  return rows.length;
}

/**
 * Columns a migration drops on purpose, and why; each must have held only nulls (no value is
 * lost) and must be gone. Every other column must keep its values.
 */
const DROPPED_COLUMNS: Readonly<Record<string, string>> = {
  'findings.deadline':
    'migration 0064: nothing ever wrote it, and a stored deadline cannot stay exact (plans and compliance reports compute it from the policies in force)',
};

/**
 * Every old row must be in the new table with the same value in every column it had; a table or
 * column that disappeared fails the test, unless DROPPED or DROPPED_COLUMNS names it.
 */
function expectKept(before: Rows, after: Rows): number {
  let kept = 0;
  for (const [table, rows] of before) {
    if (table.startsWith('kysely_')) continue;
    const now = after.get(table);
    if (table in DROPPED) {
      expect(now, `${table} should be dropped (${DROPPED[table] ?? ''})`).toBeUndefined();
      if (table === 'learned_source_claims') kept += expectClaimsCarried(rows, after);
      continue;
    }
    expect(now, `table ${table} is gone`).toBeDefined();
    if (now === undefined) continue;
    const dropped = Object.keys(rows[0] ?? {}).filter((c) => `${table}.${c}` in DROPPED_COLUMNS);
    for (const c of dropped) {
      const why = DROPPED_COLUMNS[`${table}.${c}`] ?? '';
      expect(
        rows.filter((r) => r[c] !== null),
        `${table}.${c} held values (${why})`,
      ).toEqual([]);
      if (now.length > 0) expect(Object.keys(now[0] ?? {}), `${table}.${c} should be dropped (${why})`).not.toContain(c);
    }
    const columns = Object.keys(rows[0] ?? {}).filter((c) => !dropped.includes(c));
    for (const c of columns) if (now.length > 0) expect(Object.keys(now[0] ?? {}), `${table}.${c} is gone`).toContain(c);
    const key = (r: Record<string, unknown>): string => JSON.stringify(columns.map((c) => r[c]));
    const have = new Map<string, number>();
    for (const r of now) have.set(key(r), (have.get(key(r)) ?? 0) + 1);
    for (const r of rows) {
      const k = key(r);
      const n = have.get(k) ?? 0;
      expect(n, `${table}: a row was lost or changed: ${k.slice(0, 300)}`).toBeGreaterThan(0);
      have.set(k, n - 1);
      kept++;
    }
  }
  return kept;
}

function sqliteRows(file: string): Rows {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const out: Rows = new Map();
    const names = (db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`).all() as { name: string }[]).map(
      (r) => r.name,
    );
    for (const n of names) out.set(n, db.prepare(`select * from "${n}"`).all() as Record<string, unknown>[]);
    return out;
  } finally {
    db.close();
  }
}

describe('upgrades from databases made by earlier commits', () => {
  it('has fixtures from the first commit whose demo stores something to the latest migration', () => {
    expect(sqliteFixtures[0]).toMatch(/^\d+-e6a60d1\.sqlite\.json$/);
    expect(pgFixtures[0]).toMatch(/^\d+-e6a60d1\.pg\.sql$/);
    expect(sqliteFixtures.length).toBeGreaterThanOrEqual(20);
  });

  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it.each(sqliteFixtures)('SQLite: %s upgrades with every row kept', async (name) => {
    const fx = JSON.parse(readFileSync(join(DIR, name), 'utf8')) as {
      schema: { type: string; sql: string }[];
      tables: Record<string, { columns: string[]; rows: unknown[][] }>;
    };
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-upgrade-'));
    dirs.push(dir);
    const file = join(dir, 'old.db');
    const raw = new BetterSqlite3(file);
    raw.exec('begin');
    for (const s of fx.schema) if (s.type === 'table') raw.exec(s.sql);
    for (const [t, { columns, rows }] of Object.entries(fx.tables)) {
      if (rows.length === 0) continue;
      const stmt = raw.prepare(`insert into "${t}" (${columns.map((c) => `"${c}"`).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
      for (const r of rows)
        stmt.run(...r.map((v) => (typeof v === 'object' && v !== null && 'base64' in v ? Buffer.from((v as { base64: string }).base64, 'base64') : v)));
    }
    // Indexes and triggers after the rows, as the old database had them.
    for (const s of fx.schema) if (s.type !== 'table') raw.exec(s.sql);
    raw.exec('commit');
    raw.close();
    const before = sqliteRows(file);
    const total = [...before.values()].reduce((a, r) => a + r.length, 0);
    expect(total).toBeGreaterThan(20);

    const db = await openDatabase({ kind: 'sqlite', path: file });
    try {
      expect((await migrationStatus(db)).pending).toEqual([]);
    } finally {
      await db.close();
    }
    expect(expectKept(before, sqliteRows(file))).toBeGreaterThan(20);
    // And today's code reads and writes it: the findings list, then the demo run again on it.
    const listed = await runCli(['--db', file, 'findings', '--format', 'json'], { BULWARK_DATABASE_URL: '' });
    expect(listed.err).toBe('');
    expect((JSON.parse(listed.out) as { findings: unknown[] }).findings.length).toBeGreaterThan(0);
    expect((await runCli(['--db', file, 'demo'], { BULWARK_DATABASE_URL: '' })).code).toBe(0);
  });

  describe.skipIf(!pgAvailable)('PostgreSQL', () => {
    async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
      const c = new pg.Client({ connectionString: TEST_PG_URL });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    }
    // Rows as PostgreSQL's own JSON text, so the driver's type parsers (set by openDatabase) cannot differ before and after.
    async function pgRows(schema: string): Promise<Rows> {
      return admin(async (c) => {
        const out: Rows = new Map();
        const names = (await c.query<{ t: string }>('select table_name as t from information_schema.tables where table_schema = $1', [schema])).rows;
        for (const { t } of names)
          out.set(
            t,
            (await c.query<{ j: Record<string, unknown> }>(`select row_to_json(x) as j from "${schema}"."${t}" x`)).rows.map((r) => r.j),
          );
        return out;
      });
    }

    it.each(pgFixtures)('PostgreSQL: %s upgrades with every row kept', async (name) => {
      const schema = `bulwark_up_${String(process.pid)}_${randomBytes(4).toString('hex')}`;
      const text = readFileSync(join(DIR, name), 'utf8').replaceAll('@SCHEMA@', schema);
      await admin(async (c) => {
        await c.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        try {
          await c.query(text);
        } finally {
          await c.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
        }
      });
      try {
        const before = await pgRows(schema);
        expect([...before.values()].reduce((a, r) => a + r.length, 0)).toBeGreaterThan(20);
        const db = await openDatabase({ kind: 'postgres', url: TEST_PG_URL, schema });
        try {
          expect((await migrationStatus(db)).pending).toEqual([]);
        } finally {
          await db.close();
        }
        expect(expectKept(before, await pgRows(schema))).toBeGreaterThan(20);
      } finally {
        await admin(async (c) => {
          await c.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
          await c.query(`drop schema if exists ${schema} cascade`);
        });
      }
    });
  });
});
