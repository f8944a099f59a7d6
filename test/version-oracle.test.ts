/**
 * Random adversarial pairs, decided by librpm and libdpkg themselves (test/oracle.ts) and by
 * our ports, both through the library and through the built `bulwark vercmp` command.
 * The oracles are first checked against the `rpm` and `dpkg` commands on a sample.
 *
 * BULWARK_FUZZ_PAIRS sets the number of pairs per scheme (default 200,000);
 * BULWARK_FUZZ_SEED replays a run (the seed is printed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDebVersions, compareDebVersionsBytes, parseDebVersionBytes } from '../src/core/version/deb.js';
import { checkRpmEvr, compareRpmEvr, rpmvercmp } from '../src/core/version/rpm.js';
import { buildOracle, requireTool, runOracle } from './oracle.js';
import { rng } from './random.js';
import { debPair, rpmPair, rpmVersion } from './version-gen.js';

const PAIRS = Number(process.env.BULWARK_FUZZ_PAIRS ?? 200_000);
const SEED = Number(process.env.BULWARK_FUZZ_SEED ?? Date.now() % 1_000_000_007);
const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'bin', 'bulwark.js');

console.log(`version-oracle: ${PAIRS} pairs per scheme, seed ${SEED} (BULWARK_FUZZ_SEED=${SEED} replays it)`);

const rpmOracle = buildOracle('rpm');
const dpkgOracle = buildOracle('dpkg');
const haveRpm = requireTool('librpm oracle (rpm vs Bulwark)', 'missing' in rpmOracle ? rpmOracle.missing : null);
const haveDpkg = requireTool('libdpkg oracle (dpkg vs Bulwark)', 'missing' in dpkgOracle ? dpkgOracle.missing : null);
const oraclePath = (o: typeof rpmOracle): string => ('path' in o ? o.path : '');

function firstDisagreements(pairs: [string, string][], want: readonly (string | undefined)[], got: readonly (string | undefined)[], max = 10): string[] {
  const bad: string[] = [];
  for (let i = 0; i < pairs.length && bad.length < max; i++) {
    if (want[i] !== got[i]) {
      const [a, b] = pairs[i] as [string, string];
      bad.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: reference ${want[i]}, Bulwark ${got[i]}`);
    }
  }
  return bad;
}

function runCli(scheme: 'rpm' | 'deb', pairs: [string, string][]): string[] {
  if (!existsSync(join(repo, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  const input = Buffer.from(pairs.map(([a, b]) => `${a}\t${b}\n`).join(''), 'latin1');
  const r = spawnSync(process.execPath, [cli, 'vercmp', '--scheme', scheme], { input, maxBuffer: 1 << 30 });
  const out = r.stdout.toString('latin1').split('\n');
  out.pop();
  expect(out.length).toBe(pairs.length);
  return out;
}

describe.runIf(haveRpm)('rpm: random adversarial pairs against librpm', () => {
  const r = rng(SEED);
  const pairs: [string, string][] = Array.from({ length: PAIRS }, () => rpmPair(r));
  const want = runOracle(
    oraclePath(rpmOracle),
    ['evr'],
    pairs.map(([a, b]) => `${a}\t${b}`),
  );

  it('the oracle is rpm: it agrees with `rpm --eval` (Lua rpm.ver) on a sample', () => {
    const sample = pairs.slice(0, 3000);
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-rpm-'));
    try {
      writeFileSync(join(dir, 'in'), Buffer.from(sample.map(([a, b]) => `${a}\t${b}\n`).join(''), 'latin1'));
      writeFileSync(
        join(dir, 'ask.lua'),
        `local out = assert(io.open(${JSON.stringify(join(dir, 'out'))}, "w"))
         for line in io.lines(${JSON.stringify(join(dir, 'in'))}) do
           local tab = string.find(line, "\\t", 1, true)
           local ok1, va = pcall(rpm.ver, string.sub(line, 1, tab - 1))
           local ok2, vb = pcall(rpm.ver, string.sub(line, tab + 1))
           if not ok1 or not ok2 or va == nil or vb == nil then out:write("E\\n")
           elseif va < vb then out:write("-1\\n") elseif va == vb then out:write("0\\n") else out:write("1\\n") end
         end
         out:close()`,
      );
      const res = spawnSync('rpm', ['--eval', `%{lua: dofile(${JSON.stringify(join(dir, 'ask.lua'))})}`], { encoding: 'utf8' });
      expect(res.status, res.stderr).toBe(0);
      const fromRpm = readFileSync(join(dir, 'out'), 'latin1').split('\n').slice(0, -1);
      expect(firstDisagreements(sample, fromRpm, want.slice(0, sample.length))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`compareRpmEvr agrees with librpm on ${PAIRS} pairs`, () => {
    const got = pairs.map(([a, b]) => (checkRpmEvr(a) !== null || checkRpmEvr(b) !== null ? 'E' : String(compareRpmEvr(a, b))));
    expect(firstDisagreements(pairs, want, got)).toEqual([]);
  });

  it(`bulwark vercmp --scheme rpm agrees with librpm on ${PAIRS} pairs`, () => {
    const got = runCli('rpm', pairs).map((l) => (l === '' ? 'E' : l));
    expect(firstDisagreements(pairs, want, got)).toEqual([]);
  });

  it(`rpmvercmp agrees with librpm on ${PAIRS} version strings`, () => {
    const vpairs: [string, string][] = Array.from({ length: PAIRS }, () => {
      const a = rpmVersion(r);
      return [a, r() < 0.5 ? rpmVersion(r) : a + rpmVersion(r)];
    });
    const vwant = runOracle(
      oraclePath(rpmOracle),
      ['vercmp'],
      vpairs.map(([a, b]) => `${a}\t${b}`),
    );
    const got = vpairs.map(([a, b]) => String(rpmvercmp(a, b)));
    expect(firstDisagreements(vpairs, vwant, got)).toEqual([]);
  });
});

describe.runIf(haveDpkg)('deb: random adversarial pairs against libdpkg', () => {
  const r = rng(SEED ^ 0x5bd1e995);
  const pairs: [string, string][] = Array.from({ length: PAIRS }, () => debPair(r));
  const want = runOracle(
    oraclePath(dpkgOracle),
    ['cmp'],
    pairs.map(([a, b]) => `${a}\t${b}`),
  );

  it('the generator reaches valid, warned and refused versions', () => {
    const kinds = new Set(
      pairs.slice(0, 5000).map(([a]) =>
        a === ''
          ? 'blank'
          : (() => {
              const p = parseDebVersionBytes(a);
              return !p.ok ? 'error' : p.warning ? 'warn' : 'ok';
            })(),
      ),
    );
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['error', 'ok', 'warn']));
  });

  it('the oracle is dpkg: it agrees with `dpkg --compare-versions` on a sample', () => {
    // Arguments that start with '-' would be read as options by dpkg's command line, and
    // Node passes argv as UTF-8, so only ASCII pairs reach dpkg byte for byte.
    const ascii = pairs.filter(([a, b]) => !a.startsWith('-') && !b.startsWith('-') && /^[\x20-\x7e]*$/.test(a + b));
    // Make sure blank versions are in the sample: dpkg treats them apart.
    const sample = [...ascii.slice(0, 240), ['', '0'], ['0', ''], ['', ''], ['<unknown>', '1'], ['', '<unknown>'], ['', '1:0']] as [string, string][];
    const oracle = runOracle(
      oraclePath(dpkgOracle),
      ['cmp'],
      sample.map(([a, b]) => `${a}\t${b}`),
    );
    const fromDpkg = sample.map(([a, b]) => {
      const rel = (op: string): number | null => spawnSync('dpkg', ['--compare-versions', a, op, b]).status;
      const lt = rel('lt');
      if (lt === 0) return '-1';
      if (lt !== 1) return 'E';
      const eq = rel('eq');
      return eq === 0 ? '0' : eq === 1 ? '1' : 'E';
    });
    expect(firstDisagreements(sample, fromDpkg, oracle)).toEqual([]);
  });

  it(`compareDebVersionsBytes agrees with libdpkg on ${PAIRS} pairs, refusals included`, () => {
    const got = pairs.map(([a, b]) => {
      for (const v of [a, b]) if (v !== '' && v !== '<unknown>' && !parseDebVersionBytes(v).ok) return 'E';
      return String(compareDebVersionsBytes(a, b));
    });
    expect(firstDisagreements(pairs, want, got)).toEqual([]);
  });

  it('compareDebVersions (the zero-allocation path for ASCII) agrees with libdpkg', () => {
    const ascii = pairs.map((p, i) => [p, want[i]] as const).filter(([[a, b], w]) => w !== 'E' && /^[\x20-\x7e]*$/.test(a + b));
    expect(ascii.length).toBeGreaterThan(PAIRS / 2);
    const got = ascii.map(([[a, b]]) => String(compareDebVersions(a, b)));
    expect(
      firstDisagreements(
        ascii.map(([p]) => [...p]),
        ascii.map(([, w]) => w),
        got,
      ),
    ).toEqual([]);
  });

  it(`bulwark vercmp --scheme deb agrees with libdpkg on ${PAIRS} pairs`, () => {
    const got = runCli('deb', pairs).map((l) => (l === '' ? 'E' : l));
    expect(firstDisagreements(pairs, want, got)).toEqual([]);
  });

  it('parseversion verdicts (ok / warning / error) agree with libdpkg', () => {
    const versions = pairs
      .slice(0, 50_000)
      .map(([a]) => a)
      .filter((v) => v !== '' && v !== '<unknown>');
    const wantP = runOracle(oraclePath(dpkgOracle), ['parse'], versions);
    const got = versions.map((v) => {
      const p = parseDebVersionBytes(v);
      return !p.ok ? 'error' : p.warning !== null ? 'warn' : 'ok';
    });
    const bad: string[] = [];
    versions.forEach((v, i) => {
      if (wantP[i] !== got[i] && bad.length < 10) bad.push(`${JSON.stringify(v)}: libdpkg ${wantP[i]}, Bulwark ${got[i]}`);
    });
    expect(bad).toEqual([]);
  });
});
