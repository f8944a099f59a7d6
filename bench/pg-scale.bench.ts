/**
 * Issue #14: the next real Azure Linux 3.0 OVAL synced with its re-scan on PostgreSQL, at fleet
 * sizes BULWARK_BENCH_PGSCALE="10000,30000,100000" (default "10000,30000"), each in a fresh
 * schema of BULWARK_TEST_DATABASE_URL (dropped afterwards). bench/pg-scale-worker.ts seeds the
 * fleet in SQL (multi-row unnest inserts) and runs the first sync, which gives it its findings;
 * a second process runs the measured sync (`bulwark feeds sync`'s service), so its peak RSS is its
 * own. PostgreSQL's own memory: the backends of that process (by application_name) sampled every
 * 200 ms, private (RssAnon) and peak resident (VmHWM, which counts shared buffers touched).
 * The growth line compares seconds per 10,000 hosts and per distinct build between the sizes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freshPgSchema, TEST_PG_URL } from '../test/databases.js';
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

const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

export async function run_(ctx: BenchContext): Promise<BenchRow[]> {
  const data = ctx.sharedData;
  if (data === null) return [];
  const rows: BenchRow[] = [];
  const done: { hosts: number; builds: number; s: number }[] = [];
  for (const size of (process.env['BULWARK_BENCH_PGSCALE'] ?? '10000,30000').split(',').map(Number)) {
    const schema = await freshPgSchema();
    const app = `bulwark-pgscale-${randomBytes(4).toString('hex')}`;
    const u = new URL(schema.url);
    u.searchParams.set('application_name', app);
    const at = `${size.toLocaleString('en-US')} hosts, PostgreSQL`;
    try {
      // Up to 10,000 hosts generated and matched by the first sync; larger fleets are copies of them.
      const base = Math.min(size, BASE);
      const s = await worker(ctx, ['seed', data, u.toString(), String(base), String(Math.ceil(size / base))]);
      const seedLoad = load();
      const mem = sampleBackends(app);
      const r = await worker(ctx, ['sync', data, u.toString()]);
      const pgMem = await mem.stop();
      const syncLoad = load();
      // Each size's raw figures as soon as they are known (a 100,000-host run is long).
      process.stderr.write(`${JSON.stringify({ size, seed: s, sync: r, pgMem, seedLoad, syncLoad })}\n`);
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
          note: `${String(s['findings'])} findings in all; plain indexes dropped and rebuilt (${Number(s['reindexS'] ?? 0).toFixed(0)} s of it)`,
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
          note: `${String(r['syncRescanned'])} targets looked at; ${String(r['syncChanged'])}; printed seconds ${String(r['syncPrintedS'])}; load ${syncLoad}`,
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
      await schema.drop();
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
