/**
 * Records databases made by earlier commits of this repository, for test/upgrade.test.ts: each
 * commit is checked out into a temporary git worktree under /tmp (its node_modules a symlink to
 * this one's: npm cannot install there), its own CLI runs `bulwark demo` from its sources with
 * tsx on a fresh SQLite file and in a fresh PostgreSQL schema, and what that commit's code
 * stored is written to test/fixtures/schemas/:
 *   <n>-<commit>.sqlite.json  its sqlite_master DDL and every row of every table (kysely_migration too)
 *   <n>-<commit>.pg.sql       pg_dump --inserts of its schema, the schema name replaced by @SCHEMA@
 * A commit whose demo fails (a dependency it needs is no longer installed, say) is reported and
 * left out; its name is printed, nothing is recorded for it.
 *
 * Usage: npx tsx scripts/gen-schema-fixtures.ts [COMMIT...]
 *   default: the oldest commit with migrations (59a11d0, whose demo was not built yet: an empty
 *   migrated schema), the first whose demo fills the database (e6a60d1), and every commit that
 *   added a migration since.
 * PostgreSQL: BULWARK_FIXTURE_DATABASE_URL (default postgres://bulwark:bulwark@127.0.0.1:5432/test),
 * a database where the user may create schemas; the old code's Kysely migrator looks at every
 * schema's tables, so a quiet database is better than the shared test one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'test', 'fixtures', 'schemas');
const PG_URL = process.env['BULWARK_FIXTURE_DATABASE_URL'] ?? 'postgres://bulwark:bulwark@127.0.0.1:5432/test';

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

function defaultCommits(): string[] {
  const added = git('log', '--diff-filter=A', '--format=%h', '--reverse', '--', 'src/storage/migrations/0*.ts')
    .split('\n')
    .filter((s) => s !== '');
  const firstDemo = 'e6a60d1';
  return [...new Set([added[0] ?? '59a11d0', firstDemo, ...added.slice(1)])];
}

/** Runs the old commit's CLI from its sources: `main(argv)` of its src/cli/main.ts, with tsx. */
function runOld(tree: string, argv: string[], env: NodeJS.ProcessEnv): { ok: boolean; out: string } {
  const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(tree, 'run-old.ts'), ...argv], {
    cwd: tree,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.slice(-2000) };
}

function dumpSqlite(file: string): unknown {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const schema = db
      .prepare(`select type, name, tbl_name as "table", sql from sqlite_master where sql is not null and name not like 'sqlite_%' order by rowid`)
      .all() as { type: string; name: string; table: string; sql: string }[];
    const tables: Record<string, { columns: string[]; rows: unknown[][] }> = {};
    for (const t of schema.filter((s) => s.type === 'table')) {
      const stmt = db.prepare(`select * from "${t.name.replaceAll('"', '""')}"`).raw(true);
      const columns = stmt.columns().map((c) => c.name);
      const rows = (stmt.all() as unknown[][]).map((r) => r.map((v) => (Buffer.isBuffer(v) ? { base64: v.toString('base64') } : v)));
      tables[t.name] = { columns, rows };
    }
    return { schema, tables };
  } finally {
    db.close();
  }
}

async function pgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function record(commit: string, n: number): Promise<void> {
  const full = git('rev-parse', commit);
  const short = full.slice(0, 7);
  const tree = mkdtempSync(join(tmpdir(), `bulwark-schema-${short}-`));
  rmSync(tree, { recursive: true });
  git('worktree', 'add', '--detach', tree, full);
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
    writeFileSync(join(tree, 'run-old.ts'), "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n");
    const prefix = `${String(n).padStart(2, '0')}-${short}`;
    const migrations = git('ls-tree', '--name-only', full, 'src/storage/migrations/')
      .split('\n')
      .filter((p) => /\/\d{4}-/.test(p)).length;

    // SQLite
    const file = join(tree, 'old.db');
    const home = join(tree, 'home');
    mkdirSync(home);
    const env = { HOME: home, XDG_DATA_HOME: join(home, 'data'), BULWARK_DATABASE_URL: '' };
    const s = runOld(tree, ['--db', file, 'demo'], env);
    if (!s.ok || !existsSync(file)) {
      console.log(`${short}: SQLite demo failed, left out:\n${s.out}`);
      return;
    }
    const dump = dumpSqlite(file) as { tables: Record<string, { rows: unknown[] }> };
    const rows = Object.values(dump.tables).reduce((a, t) => a + t.rows.length, 0);
    writeFileSync(join(OUT, `${prefix}.sqlite.json`), JSON.stringify({ commit: full, subject: git('log', '-1', '--format=%s', full), ...dump }) + '\n');

    // PostgreSQL: a schema of its own, chosen through libpq's options (old commits have no ?schema=).
    const schema = `bulwark_fx_${short}_${String(process.pid)}`;
    await pgAdmin((c) => c.query(`create schema ${schema}`));
    try {
      const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const p = runOld(tree, ['demo'], { ...env, BULWARK_DATABASE_URL: url });
      if (!p.ok) {
        console.log(`${short}: PostgreSQL demo failed, left out:\n${p.out}`);
      } else {
        const text = execFileSync('pg_dump', ['--dbname', PG_URL, '--schema', schema, '--inserts', '--no-owner', '--no-privileges', '--no-comments'], {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        });
        const body = text
          .split('\n')
          .filter((l) => !l.startsWith('-- Dumped') && !/^SET (idle_in_transaction|transaction_timeout)/.test(l))
          // psql meta-commands (\restrict, \unrestrict of newer pg_dump): the test runs the SQL through a client, not psql.
          .filter((l) => !l.startsWith('\\'))
          .join('\n')
          .replaceAll(schema, '@SCHEMA@');
        writeFileSync(join(OUT, `${prefix}.pg.sql`), `-- made by ${full} (${git('log', '-1', '--format=%s', full).slice(0, 100)})\n${body}`);
      }
    } finally {
      await pgAdmin((c) => c.query(`drop schema ${schema} cascade`));
    }
    console.log(`${short}: ${String(migrations)} migrations, ${String(rows)} rows`);
  } finally {
    git('worktree', 'remove', '--force', tree);
  }
}

mkdirSync(OUT, { recursive: true });
const commits = process.argv.slice(2).length > 0 ? process.argv.slice(2) : defaultCommits();
let n = 0;
for (const c of commits) await record(c, n++);
