/**
 * Issue #2: version comparisons per second on real versions.
 * - rpm: the same package (name.arch) in the Azure Linux 3.0 manifests of 2024-07-27 and
 *   2026-04-29, and 2.0-2026-03-31 vs 3.0-2026-04-29 (bench/rpm-pairs.ts); librpm's C beside them
 *   is bench/vercmp.bench.ts;
 * - deb: this machine's own installed Debian package versions (dpkg-query), paired.
 * Allocation in the hot path is checked by counting garbage collections during the timed loop.
 */
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { compareDebVersions } from '../src/core/version/deb.js';
import { compareRpmEvr, rpmvercmp } from '../src/core/version/rpm.js';
import { realRpmPairs } from './rpm-pairs.js';
import { sharedPath, type BenchContext, type BenchRow } from './harness.js';

/** Times `fn` over the pairs, repeating until ~1 s has passed; counts GCs meanwhile. */
async function measure(a: string[], b: string[], fn: (x: string, y: string) => number): Promise<{ perSecond: number; gcs: number; total: number }> {
  const n = a.length;
  let sink = 0;
  for (let r = 0; r < 200; r++) for (let i = 0; i < n; i++) sink += fn(a[i] as string, b[i] as string); // warm up the JIT
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  let total = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1e9) {
    for (let r = 0; r < 100; r++) for (let i = 0; i < n; i++) sink += fn(a[i] as string, b[i] as string);
    total += 100 * n;
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  obs.disconnect();
  if (sink === 0.5) console.log(sink); // keep the result alive
  return { perSecond: total / (elapsed / 1e9), gcs, total };
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const root = sharedPath(ctx, 'azurelinux', 'manifests');
  if (root === null) {
    rows.push({
      issue: '#2',
      name: 'rpm EVR comparisons (Azure Linux pairs)',
      value: null,
      unit: 'pairs/s',
      target: '>= 10,000,000',
      ok: null,
      note: 'skipped: no ../shared/data',
    });
  } else {
    // Versions reach the matcher from storage and parsers as flat strings; the manifest
    // loader (bench/rpm-pairs.ts) builds them by concatenation (V8 cons strings), so flatten them as a
    // database read would (a Buffer round-trip copies into a fresh sequential string).
    const [a, b] = realRpmPairs(root).map((xs) => xs.map((x) => Buffer.from(x, 'utf8').toString('utf8'))) as [string[], string[]];
    const evr = await measure(a, b, compareRpmEvr);
    rows.push({
      issue: '#2',
      name: `rpm EVR compareRpmEvr, ${a.length} real Azure Linux pairs`,
      value: evr.perSecond,
      unit: 'pairs/s',
      target: '>= 10,000,000',
      ok: evr.perSecond >= 10_000_000,
      note: `${evr.gcs} GCs in ${(evr.total / 1e6).toFixed(0)}M comparisons`,
    });
    const vc = await measure(a, b, rpmvercmp);
    rows.push({
      issue: '#2',
      name: 'rpm rpmvercmp (JS) on the same strings',
      value: vc.perSecond,
      unit: 'pairs/s',
      target: '',
      ok: null,
      note: `${vc.gcs} GCs`,
    });
    // librpm's C on the same pairs, in CPU time in one run: bench/vercmp.bench.ts.
  }
  let debVersions: string[] = [];
  try {
    debVersions = execFileSync('dpkg-query', ['-W', '-f=${Version}\\n'], { encoding: 'utf8' })
      .split('\n')
      .filter((v) => v !== '');
  } catch {
    debVersions = [];
  }
  if (debVersions.length > 10) {
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 0; i < debVersions.length; i++) {
      a.push(debVersions[i] as string);
      b.push(debVersions[(i * 7 + 3) % debVersions.length] as string);
    }
    const deb = await measure(a, b, compareDebVersions);
    rows.push({
      issue: '#2',
      name: `deb compareDebVersions, ${a.length} installed Debian versions`,
      value: deb.perSecond,
      unit: 'pairs/s',
      target: '',
      ok: null,
      note: `${deb.gcs} GCs`,
    });
  } else {
    rows.push({ issue: '#2', name: 'deb comparisons', value: null, unit: 'pairs/s', target: '', ok: null, note: 'skipped: no dpkg-query' });
  }
  return rows;
}
