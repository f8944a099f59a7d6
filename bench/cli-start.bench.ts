/**
 * Issue #14 items 6 and 7: what a user runs, as its own process, beside its anchor in the same run:
 * - `bulwark --version` and `bulwark vercmp` (one pair) against `node -e 0` (target: within 2x);
 * - one host's `bulwark scan --inventory F --feed <Azure Linux 3.0 OVAL>` against `oscap oval eval`
 *   of the same OVAL on the same rpm database (the GA toolchain set built with rpmbuild, read by
 *   OpenSCAP through a bind mount; the inventory is `rpm -qa` of that database): the first run
 *   (empty parsed-feed cache; target: faster than oscap), with the cache (target: 3x faster than
 *   oscap), and with the cache off. Each package is built from its real source package, so both tools
 *   have findings; their counts are printed. They differ on purpose: the Azure Linux OVAL names source
 *   packages, which oscap finds only where a binary carries the source's name (python-jinja2's fix is
 *   missed on python3-jinja2), while Bulwark matches through %{SOURCERPM}.
 * Wall time, median of 5 (oscap: of 3); CPU time (user + system) beside it: on a loaded machine
 * wall time waits for a core, CPU time does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRpmRoot, hasTool } from '../test/rpm-tools.js';
import { sharedPath, staleBuild, type BenchContext, type BenchRow } from './harness.js';

function timed(cmd: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}): { s: number; cpu: number; ok: boolean } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', cmd, ...args], {
    env: o.env ?? process.env,
    input: o.input ?? '',
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const [s, u, sys] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { s: s ?? NaN, cpu: (u ?? 0) + (sys ?? 0), ok: r.status === 0 || r.status === 1 };
}

function median(runs: { s: number; cpu: number; ok: boolean }[]): { s: number; cpu: number; ok: boolean } {
  const by = (k: 's' | 'cpu'): number => [...runs.map((r) => r[k])].sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? NaN;
  return { s: by('s'), cpu: by('cpu'), ok: runs.every((r) => r.ok) };
}

const repeat = (n: number, f: () => { s: number; cpu: number; ok: boolean }): { s: number; cpu: number; ok: boolean } => median(Array.from({ length: n }, f));

export function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const bin = join(ctx.repo, 'bin', 'bulwark.js');
  const stale = staleBuild(ctx.repo);
  if (stale !== null) return Promise.resolve([{ issue: '#14', name: 'CLI start-up', value: null, unit: 's', target: '', ok: null, note: `skipped: ${stale}` }]);
  const node = repeat(5, () => timed(process.execPath, ['-e', '0']));
  const version = repeat(5, () => timed(process.execPath, [bin, '--version']));
  const vercmp = repeat(5, () => timed(process.execPath, [bin, 'vercmp', '--scheme', 'rpm'], { input: '1.0-1\t1.0-2\n' }));
  rows.push({ issue: '#14', name: 'node -e 0', value: node.s, unit: 's', target: 'reference', ok: null, note: `CPU ${node.cpu.toFixed(2)} s` });
  for (const [name, r] of [
    ['bulwark --version', version],
    ['bulwark vercmp (one pair)', vercmp],
  ] as const)
    rows.push({
      issue: '#14',
      name,
      value: r.s,
      unit: 's',
      target: '<= 2x node -e 0',
      ok: r.ok && r.s <= 2 * node.s,
      note: `${(r.s / node.s).toFixed(2)}x node; CPU ${r.cpu.toFixed(2)} s (${(r.cpu / Math.max(0.01, node.cpu)).toFixed(2)}x)`,
    });

  const data = ctx.sharedData;
  if (
    data === null ||
    sharedPath(ctx, 'azurelinux', 'manifests') === null ||
    !['rpm', 'rpmbuild', 'oscap', 'unshare'].every(hasTool) ||
    process.getuid?.() !== 0
  ) {
    rows.push({
      issue: '#14',
      name: 'one-host scan --feed vs oscap',
      value: null,
      unit: 's',
      target: '',
      ok: null,
      note: 'skipped: needs ../shared/data, rpm, rpmbuild, oscap, unshare and root',
    });
    return Promise.resolve(rows);
  }
  const work = mkdtempSync(join(tmpdir(), 'bulwark-bench-cli-'));
  try {
    // Each package is built from its real source package (the spec that lists it in the 3.0 tree), so
    // %{SOURCERPM} is what an Azure Linux host's rpm database says and both tools have findings to report.
    const sourceOf = binarySources(join(data, 'azurelinux', 'derived', 'azurelinux-3.0.20260429-source-packages.tsv'));
    const pkgs = readFileSync(join(data, 'azurelinux', 'manifests', '3.0-2024-07-27', 'toolchain_x86_64.txt'), 'utf8')
      .split('\n')
      .map((l) => /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[1] as string, version: m[2] as string, release: m[3] as string, source: sourceOf.get(m[1] as string) ?? (m[1] as string) }));
    const root = buildRpmRoot(join(work, 'build'), join(work, 'root'), [...new Map(pkgs.map((p) => [p.name, p])).values()]);
    const inventory = join(work, 'host.tsv');
    writeFileSync(
      inventory,
      execFileSync('rpm', ['--root', root, '-qa', '--queryformat', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n'], {
        maxBuffer: 1 << 26,
      }),
    );
    const feed = join(work, 'feed.xml');
    writeFileSync(feed, execFileSync('xz', ['-dc', join(data, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz')], { maxBuffer: 1 << 28 }));
    const dbpath = execFileSync('rpm', ['--eval', '%_dbpath'], { encoding: 'utf8' }).trim();
    const oscap = repeat(3, () =>
      timed('unshare', [
        '-m',
        'sh',
        '-c',
        'mkdir -p "$2" && mount --bind "$1" "$2" && exec oscap oval eval --skip-valid --results "$3" "$4" >/dev/null',
        'sh',
        join(root, dbpath),
        dbpath,
        join(work, 'results.xml'),
        feed,
      ]),
    );
    const oscapTrue = (readFileSync(join(work, 'results.xml'), 'utf8').match(/<definition [^>]*result="true"/g) ?? []).length;
    rows.push({
      issue: '#14',
      name: 'one host: oscap oval eval (Azure Linux 3.0 OVAL)',
      value: oscap.s,
      unit: 's',
      target: 'reference',
      ok: null,
      note: `CPU ${oscap.cpu.toFixed(2)} s; ${String(oscapTrue)} definitions true`,
    });
    const scan = (env: NodeJS.ProcessEnv): { s: number; cpu: number; ok: boolean } =>
      timed(process.execPath, [bin, 'scan', '--inventory', inventory, '--feed', feed, '--format', 'json'], { env: { ...process.env, ...env } });
    const found = spawnSync(process.execPath, [bin, 'scan', '--inventory', inventory, '--feed', feed, '--format', 'json'], {
      env: { ...process.env, BULWARK_FEED_CACHE: 'off' },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const advisories = countAdvisories(found.stdout);
    let n = 0;
    const first = repeat(5, () => scan({ BULWARK_FEED_CACHE_DIR: join(work, `cache-${String(n++)}`) }));
    scan({ BULWARK_FEED_CACHE_DIR: join(work, 'cache') });
    const cached = repeat(5, () => scan({ BULWARK_FEED_CACHE_DIR: join(work, 'cache') }));
    const off = repeat(5, () => scan({ BULWARK_FEED_CACHE: 'off' }));
    for (const [label, r, factor] of [
      ['first run (empty feed cache)', first, 1],
      ['with the parsed-feed cache', cached, 3],
      ['feed cache off', off, null],
    ] as const)
      rows.push({
        issue: '#14',
        name: `one host: bulwark scan --inventory --feed, ${label}`,
        value: r.s,
        unit: 's',
        target: factor === null ? '' : `oscap / bulwark >= ${String(factor)}`,
        ok: factor === null ? null : r.ok && oscap.s / r.s >= factor,
        note: `oscap / bulwark ${(oscap.s / r.s).toFixed(2)}x wall, ${(oscap.cpu / Math.max(0.01, r.cpu)).toFixed(2)}x CPU (${r.cpu.toFixed(2)} s); ${advisories} advisories found`,
      });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return Promise.resolve(rows);
}

/** Binary package name → its source package, from the parsed spec headers (SPECS before SPECS-EXTENDED). */
function binarySources(tsv: string): Map<string, string> {
  const rank = (path: string): number => (path.startsWith('SPECS/') ? 0 : 1);
  const best = new Map<string, { source: string; rank: number }>();
  for (const line of readFileSync(tsv, 'utf8').split('\n')) {
    const [path, name, , , , unresolved, binaries] = line.split('\t');
    if (path === undefined || name === undefined || binaries === undefined || line.startsWith('#') || path === 'spec_path' || unresolved === '1') continue;
    for (const binary of binaries.split(',')) {
      const had = best.get(binary);
      if (had === undefined || rank(path) < had.rank) best.set(binary, { source: name, rank: rank(path) });
    }
  }
  return new Map([...best].map(([binary, b]) => [binary, b.source]));
}

/** How many distinct advisories a `scan --format json` output names. */
function countAdvisories(json: string): string {
  try {
    const out = JSON.parse(json) as { findings?: { advisory: string }[] };
    return String(new Set((out.findings ?? []).map((f) => f.advisory)).size);
  } catch {
    return 'unknown (scan output was not JSON)';
  }
}
