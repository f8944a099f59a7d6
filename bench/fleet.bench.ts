/**
 * Issue #14: the product path at fleet scale (bench/fleet-worker.ts, a process per size, so peak
 * RSS is its own): bulk import, full re-match, the next real OVAL sync with its re-scan beside
 * the in-memory engine on the same fleet and feed, agent reports that change packages, memory.
 * Sizes: BULWARK_BENCH_FLEET="1000,10000" (default), `:postgres` after a size for PostgreSQL
 * (e.g. "1000,10000,100000:postgres").
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchContext, BenchRow } from './harness.js';

export function run(ctx: BenchContext): Promise<BenchRow[]> {
  const data = ctx.sharedData;
  if (data === null) return Promise.resolve([]);
  const rows: BenchRow[] = [];
  for (const spec of (process.env['BULWARK_BENCH_FLEET'] ?? '1000,10000').split(',')) {
    const [size = '1000', kind = 'sqlite'] = spec.split(':');
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ctx.repo, 'bench', 'fleet-worker.ts'), data, size, kind], {
      cwd: ctx.repo,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    const at = `${Number(size).toLocaleString('en-US')} hosts, ${kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}`;
    const note = `${String(r['distinctBuilds'])} distinct builds, ${String(r['installedPackages'])} installed packages`;
    const ratio = (r['syncS'] ?? NaN) / (r['inMemoryS'] ?? NaN);
    rows.push(
      {
        issue: '#14',
        name: `bulk import (hosts import, JSON lines), ${at}`,
        value: r['importS'] ?? null,
        unit: 's',
        target: size === '10000' ? '< 60' : '',
        ok: size === '10000' ? (r['importS'] ?? Infinity) < 60 : null,
        note: `store ${String(r['importStoreS'])} s + match ${String(r['importMatchS'])} s, ${String(Math.round(r['importCpuS'] ?? NaN))} s of CPU; ${note}`,
      },
      {
        issue: '#14',
        name: `full re-match (scan --all), ${at}`,
        value: r['rematchS'] ?? null,
        unit: 's',
        target: '',
        ok: null,
        note: `${String(r['rematchChanged'])} targets changed (expected 0)`,
      },
      {
        issue: '#14',
        name: `next real 3.0 OVAL sync with its re-scan, ${at}`,
        value: r['syncS'] ?? null,
        unit: 's',
        target: '',
        ok: null,
        note: `printed seconds ${String(r['syncPrintedS'])}; ${String(r['syncRescanned'])} targets looked at; ${String(r['syncChanged'])}`,
      },
      {
        issue: '#14',
        name: `  in-memory engine, same fleet and feed (anchor), ${at}`,
        value: r['inMemoryS'] ?? null,
        unit: 's',
        target: '',
        ok: null,
        note: `parse + index + match; ${String(r['inMemoryDistinct'])} distinct builds matched`,
      },
      { issue: '#14', name: `  sync with re-scan / in-memory engine, ${at}`, value: ratio, unit: 'x', target: '<= 3', ok: ratio <= 3 },
      {
        issue: '#14',
        name: `agent reports that change 3 packages, ${at}`,
        value: r['agentReportsPerS'] ?? null,
        unit: '/s',
        target: kind === 'sqlite' ? '>= 500' : '',
        ok: kind === 'sqlite' ? (r['agentReportsPerS'] ?? 0) >= 500 : null,
      },
      { issue: '#14', name: `peak RSS of the whole run, ${at}`, value: r['maxRssMB'] ?? null, unit: 'MB', target: '', ok: null },
    );
  }
  return Promise.resolve(rows);
}
