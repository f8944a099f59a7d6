/**
 * Issue #14: the next real Azure Linux 3.0 OVAL synced with its re-scan on PostgreSQL, at fleet
 * sizes BULWARK_BENCH_PGSCALE="10000,30000,100000" (default "10000,30000"), on the server of
 * BULWARK_TEST_DATABASE_URL. bench/pg-scale-worker.ts seeds the fleet in SQL (multi-row unnest
 * inserts) and runs the first sync, which gives it its findings, into a database of its own that
 * is kept as a template (`<prefix>_seed_<size>_<hash>`, prefix BULWARK_BENCH_PGSCALE_DB, default
 * `bench_pgscale`; the hash covers the migrations and the worker, so a schema change seeds
 * again): a 100,000-host fleet takes a quarter of an hour to seed, a copy of it a minute. Each run
 * syncs in a fresh copy (`CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`, dropped afterwards)
 * from a second process (`bulwark feeds sync`'s service), so its peak RSS is its own.
 * BULWARK_BENCH_PGSCALE_UPGRADE=1 migrates an older seed instead of seeding again (see upgraded).
 * PostgreSQL's own memory: the backends of that process (by application_name) sampled every
 * 200 ms, private (RssAnon) and peak resident (VmHWM, which counts shared buffers touched).
 * The growth line compares seconds per 10,000 hosts and per distinct build between the sizes.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { TEST_PG_URL } from '../test/databases.js';
import type { BenchContext, BenchRow } from './harness.js';

const run = promisify(execFile);

async function worker(ctx: BenchContext, args: string[]): Promise<Record<string, number | string>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ctx.repo, 'bench', 'pg-scale-worker.ts'), ...args], {
    cwd: ctx.repo,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, number | string>;
}

function procKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Samples the memory of the PostgreSQL backends serving `app` until stopped. */
function sampleBackends(app: string): { stop: () => Promise<{ anonMB: number; hwmMB: number }> } {
  const c = new pg.Client({ connectionString: TEST_PG_URL });
  let anon = 0;
  let hwm = 0;
  let running = true;
  const seen = new Map<number, number>();
  const loop = (async (): Promise<void> => {
    await c.connect();
    while (running) {
      const r = await c.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [app]);
      let sum = 0;
      for (const { pid } of r.rows) {
        sum += procKb(pid, 'RssAnon');
        seen.set(pid, Math.max(seen.get(pid) ?? 0, procKb(pid, 'VmHWM')));
      }
      anon = Math.max(anon, sum);
      await new Promise((res) => setTimeout(res, 200));
    }
    await c.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      for (const v of seen.values()) hwm = Math.max(hwm, v);
      return { anonMB: anon / 1024, hwmMB: hwm / 1024 };
    },
  };
}

const BASE = 10_000;

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: TEST_PG_URL });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

const dbUrl = (name: string): string => {
  const u = new URL(TEST_PG_URL);
  u.pathname = `/${name}`;
  u.searchParams.delete('schema');
  return u.toString();
};

/** The way pg-scale-worker.ts seeds: bump it when that changes, so seeded databases are made again. */
const SEED_VERSION = '1';

/** What a seeded database depends on: the migrations and the seeding (SEED_VERSION). */
function seedHash(ctx: BenchContext): string {
  const h = createHash('sha256').update(SEED_VERSION);
  const dir = join(ctx.repo, 'src', 'storage', 'migrations');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex').slice(0, 10);
}

/**
 * The seeded database of `size` hosts, made once (seeded under a temporary name, renamed when
 * complete) and kept; returns its name and the seed figures (null when it was already there).
 */
async function seeded(ctx: BenchContext, data: string, size: number): Promise<{ name: string; seed: Record<string, number | string> }> {
  const prefix = process.env['BULWARK_BENCH_PGSCALE_DB'] ?? 'bench_pgscale';
  const name = `${prefix}_seed_${String(size)}_${seedHash(ctx)}`;
  const have = await admin(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount ?? 0);
  if (have > 0) {
    const seed = await admin(async (c) => {
      const r = await c.query<{ d: string | null }>('select shobj_description(oid, $2) as d from pg_database where datname = $1', [name, 'pg_database']);
      return JSON.parse(r.rows[0]?.d ?? '{}') as Record<string, number | string>;
    });
    return { name, seed: { ...seed, cached: 'yes' } };
  }
  const tmp = `${prefix}_tmp_${randomBytes(4).toString('hex')}`;
  const older = process.env['BULWARK_BENCH_PGSCALE_UPGRADE'] === '1' ? await olderSeed(prefix, size) : null;
  if (older !== null) return upgraded(ctx, data, older, tmp, name);
  // A fleet larger than BASE hosts is copies of the BASE-host one: made from its seeded database.
  const from = size > BASE ? await seeded(ctx, data, BASE) : null;
  await admin((c) => c.query(from === null ? `create database ${tmp}` : `create database ${tmp} template ${from.name} strategy file_copy`));
  try {
    const seed: Record<string, number | string> =
      from === null
        ? await worker(ctx, ['seed', data, dbUrl(tmp), String(size)])
        : { ...from.seed, ...(await worker(ctx, ['replicate', data, dbUrl(tmp), String(Math.ceil(size / BASE))])) };
    seed['seedLoad'] = load();
    seed['seedVersion'] = SEED_VERSION;
    return await keepSeed(tmp, name, seed);
  } catch (err) {
    await admin((c) => c.query(`drop database if exists ${tmp}`));
    throw err;
  }
}

/**
 * The complete seed `tmp` kept under its `name`, with its figures travelling with it (a database
 * comment) for the rows of later runs.
 */
async function keepSeed(tmp: string, name: string, seed: Record<string, number | string>): Promise<{ name: string; seed: Record<string, number | string> }> {
  delete seed['cached'];
  await admin(async (c) => {
    await c.query(`alter database ${tmp} rename to ${name}`);
    await c.query(`comment on database ${name} is ${pg.escapeLiteral(JSON.stringify(seed))}`);
  });
  return { name, seed };
}

/** The newest seeded database of `size` hosts made by this SEED_VERSION for other migrations, if any. */
async function olderSeed(prefix: string, size: number): Promise<{ name: string; seed: Record<string, number | string> } | null> {
  const rows = await admin(
    async (c) =>
      (
        await c.query<{ name: string; d: string | null }>(
          `select datname as name, shobj_description(oid, 'pg_database') as d from pg_database where left(datname, length($1)) = $1 order by oid desc`,
          [`${prefix}_seed_${String(size)}_`],
        )
      ).rows,
  );
  for (const r of rows) {
    const seed = JSON.parse(r.d ?? '{}') as Record<string, number | string>;
    if (String(seed['seedVersion'] ?? '1') === SEED_VERSION) return { name: r.name, seed };
  }
  return null;
}

/**
 * With BULWARK_BENCH_PGSCALE_UPGRADE=1, a seeded database made for other migrations is migrated in
 * place to the current ones, as a user's store is by an upgrade (then vacuumed and analysed), and
 * renamed, instead of seeded again: the same hosts and findings, a quarter of an hour less at
 * 100,000 hosts, and no second copy of 27 GB on the disk. Its rows say so ("upgraded from …").
 */
async function upgraded(
  ctx: BenchContext,
  data: string,
  from: { name: string; seed: Record<string, number | string> },
  tmp: string,
  name: string,
): Promise<{ name: string; seed: Record<string, number | string> }> {
  await admin((c) => c.query(`alter database ${from.name} rename to ${tmp}`));
  try {
    const up = await worker(ctx, ['upgrade', data, dbUrl(tmp)]);
    const seed: Record<string, number | string> = {
      ...from.seed,
      upgradedFrom: from.name,
      upgradeS: up['upgradeS'] ?? 0,
      upgradeMigrations: up['migrations'] ?? '',
    };
    return await keepSeed(tmp, name, seed);
  } catch (err) {
    // Partly migrated, it is neither seed: not kept.
    await admin((c) => c.query(`drop database if exists ${tmp}`));
    throw err;
  }
}

const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export async function run_(ctx: BenchContext): Promise<BenchRow[]> {
  const data = ctx.sharedData;
  if (data === null) return [];
  const rows: BenchRow[] = [];
  const done: { hosts: number; builds: number; s: number }[] = [];
  for (const size of (process.env['BULWARK_BENCH_PGSCALE'] ?? '10000,30000').split(',').map(Number)) {
    const app = `bulwark-pgscale-${randomBytes(4).toString('hex')}`;
    const at = `${size.toLocaleString('en-US')} hosts, PostgreSQL`;
    const { name: template, seed: s } = await seeded(ctx, data, size);
    const runDb = `${template.replace(/_seed_.*/, '')}_run_${randomBytes(4).toString('hex')}`;
    const tc = performance.now();
    await admin((c) => c.query(`create database ${runDb} template ${template} strategy file_copy`));
    const copyS = (performance.now() - tc) / 1000;
    const u = new URL(dbUrl(runDb));
    u.searchParams.set('application_name', app);
    try {
      // Up to 10,000 hosts generated and matched by the first sync; larger fleets are copies of them.
      const base = Math.min(size, BASE);
      const seedLoad = String(s['seedLoad'] ?? load());
      const mem = sampleBackends(app);
      const r = await worker(ctx, ['sync', data, u.toString()]);
      const pgMem = await mem.stop();
      const syncLoad = load();
      // Each size's raw figures as soon as they are known (a 100,000-host run is long).
      process.stderr.write(`${JSON.stringify({ size, seed: s, copyS, sync: r, pgMem, seedLoad, syncLoad })}\n`);
      const builds = Number(s['distinctBuilds']);
      const seconds = Number(r['syncS']);
      done.push({ hosts: size, builds, s: seconds });
      rows.push(
        {
          issue: '#14',
          name: `seed ${Math.min(size, BASE).toLocaleString('en-US')} generated hosts in SQL (unnest inserts + ANALYZE)`,
          value: Number(s['seedRowsS']) + Number(s['analyzeS']),
          unit: 's',
          target: '',
          ok: null,
          note: `${String(s['links'])} host→build links, ${String(builds)} distinct builds; ANALYZE ${Number(s['analyzeS']).toFixed(1)} s; load ${seedLoad}`,
        },
        {
          issue: '#14',
          name: `  copied in SQL to ${at}`,
          value: s['replicateS'] === undefined ? null : Number(s['replicateS']),
          unit: 's',
          target: '',
          ok: null,
          note: `${String(s['findings'])} findings in all; plain indexes dropped and rebuilt (${Number(s['reindexS'] ?? 0).toFixed(0)} s of it); ${s['cached'] === undefined ? 'seeded now' : 'seeded before, kept'}${s['upgradedFrom'] === undefined ? '' : `; upgraded from ${String(s['upgradedFrom'])} by ${String(s['upgradeMigrations'])} (${Number(s['upgradeS']).toFixed(0)} s)`}; this run's copy ${copyS.toFixed(0)} s`,
        },
        {
          issue: '#14',
          name: `  first sync (2025-01-31 OVAL) re-scanning the ${base.toLocaleString('en-US')} generated hosts`,
          value: Number(s['firstSyncS']),
          unit: 's',
          target: '',
          ok: null,
          note: `${String(s['firstSyncRescanned'])} targets of ${String(base)}; seeding process peak RSS ${Number(s['seedMaxRssMB']).toFixed(0)} MB`,
        },
        {
          issue: '#14',
          name: `next real 3.0 OVAL sync with its re-scan, ${at}`,
          value: seconds,
          unit: 's',
          target: size >= 100_000 ? '< 60' : '',
          ok: size >= 100_000 ? seconds < 60 : null,
          note: `${String(r['syncRescanned'])} targets looked at; ${String(r['syncChanged'])}; printed seconds ${String(r['syncPrintedS'])}; Node CPU ${Number(r['syncCpuS']).toFixed(1)} s; load ${syncLoad}`,
        },
        {
          issue: '#14',
          name: `  peak RSS of the syncing process, ${at}`,
          value: Number(r['syncMaxRssMB']),
          unit: 'MB',
          target: size >= 100_000 ? '< 2048' : '',
          ok: size >= 100_000 ? Number(r['syncMaxRssMB']) + pgMem.anonMB < 2048 : null,
          note: `PostgreSQL backends: ${pgMem.anonMB.toFixed(0)} MB private (sampled peak), ${pgMem.hwmMB.toFixed(0)} MB peak resident incl. shared buffers; target counts both private sums`,
        },
      );
    } finally {
      await admin((c) => c.query(`drop database if exists ${runDb}`));
    }
  }
  done.sort((a, b) => a.hosts - b.hosts);
  const first = done[0];
  for (const d of done.slice(1))
    if (first !== undefined)
      rows.push({
        issue: '#14',
        name: `  growth ${first.hosts.toLocaleString('en-US')} → ${d.hosts.toLocaleString('en-US')} hosts`,
        value: d.s / first.s,
        unit: 'x',
        target: '',
        ok: null,
        note: `hosts ${(d.hosts / first.hosts).toFixed(1)}x, distinct builds ${(d.builds / first.builds).toFixed(2)}x (${String(first.builds)} → ${String(d.builds)})`,
      });
  return rows;
}

export { run_ as run };
