/**
 * Issue #14 items 6 and 7: what a user runs, as its own process, beside its anchor in the same run:
 * - `bulwark --version` and `bulwark vercmp` (one pair) against `node -e 0` (target: within 2x);
 * - one host's `bulwark scan --inventory F --feed <Azure Linux 3.0 OVAL>` against `oscap oval eval`
 *   of the same OVAL on the same rpm database (the GA toolchain set built with rpmbuild, read by
 *   OpenSCAP through a bind mount; the inventory is `rpm -qa` of that database): the first run
 *   (empty parsed-feed cache; target: faster than oscap), with the cache (target: 3x faster than
 *   oscap), and with the cache off.
 * Wall time, median of 5 (oscap: of 3); CPU time (user + system) beside it: on a loaded machine
 * wall time waits for a core, CPU time does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRpmRoot, hasTool } from '../test/rpm-tools.js';
import { sharedPath, type BenchContext, type BenchRow } from './harness.js';

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
  if (!existsSync(join(ctx.repo, 'dist', 'cli', 'main.js')))
    return Promise.resolve([
      { issue: '#14', name: 'CLI start-up', value: null, unit: 's', target: '', ok: null, note: 'skipped: run npm run build first (dist/)' },
    ]);
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
    const pkgs = readFileSync(join(data, 'azurelinux', 'manifests', '3.0-2024-07-27', 'toolchain_x86_64.txt'), 'utf8')
      .split('\n')
      .map((l) => /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[1] as string, version: m[2] as string, release: m[3] as string }));
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
    rows.push({
      issue: '#14',
      name: 'one host: oscap oval eval (Azure Linux 3.0 OVAL)',
      value: oscap.s,
      unit: 's',
      target: 'reference',
      ok: null,
      note: `CPU ${oscap.cpu.toFixed(2)} s`,
    });
    const scan = (env: NodeJS.ProcessEnv): { s: number; cpu: number; ok: boolean } =>
      timed(process.execPath, [bin, 'scan', '--inventory', inventory, '--feed', feed, '--format', 'json'], { env: { ...process.env, ...env } });
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
        note: `oscap / bulwark ${(oscap.s / r.s).toFixed(2)}x wall, ${(oscap.cpu / Math.max(0.01, r.cpu)).toFixed(2)}x CPU (${r.cpu.toFixed(2)} s)`,
      });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return Promise.resolve(rows);
}
