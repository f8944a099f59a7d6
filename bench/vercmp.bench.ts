/**
 * Issue #14: rpm version comparison in-process against librpm's C, CPU time on the same pairs in
 * one run. 1,000,000 pairs (BULWARK_VERCMP_PAIRS), seeded: three quarters drawn from real Azure
 * Linux package versions (bench/rpm-pairs.ts: the same package in two manifests, both orders),
 * one quarter random hard cases from test/version-gen.ts (tildes, carets, alnum boundaries,
 * leading zeros, long numbers, epochs, missing or empty releases, non-ASCII bytes).
 * - rpmvercmp: librpm `rpmvercmp()` against Bulwark's `rpmvercmp`, on the version strings and on
 *   the release strings of the real pairs (what rpmverCmp hands it) and on hard cases;
 * - EVR compare: librpm `rpmverParse()` both sides + `rpmverCmp()` (+ `rpmverFree()`) against
 *   Bulwark's `compareRpmEvr` — the function every rpm comparison in the product goes through
 *   (versionScheme('rpm').compare).
 * The C harness is test/oracle/rpm-oracle.c (`cpu` mode), built with the machine's cc against
 * librpm-dev. Both sides run one untimed round and then 5 timed rounds over all pairs; CPU time
 * (clock_gettime(CLOCK_PROCESS_CPUTIME_ID) in C, process.cpuUsage() in JS), best round.
 * "speed vs C" = C time / JS time. Both print a checksum of their answers, which must agree.
 */
import { spawnSync } from 'node:child_process';
import { compareRpmEvr, parseRpmEvr, rpmvercmp } from '../src/core/version/rpm.js';
import { buildOracle } from '../test/oracle.js';
import { rng } from '../test/random.js';
import { rpmPair, rpmVersion } from '../test/version-gen.js';
import { sharedPath, type BenchContext, type BenchRow } from './harness.js';
import { realRpmPairs } from './rpm-pairs.js';

const ROUNDS = 5;

interface Pairs {
  a: string[];
  b: string[];
  real: number;
}

/** A fresh sequential one-byte string, as a database read or a parser hands one over. */
const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');

function buildPairs(n: number, real: [string[], string[]], hard: (r: () => number) => [string, string]): Pairs {
  const r = rng(14);
  const a: string[] = [];
  const b: string[] = [];
  let nReal = 0;
  for (let i = 0; i < n; i++) {
    let p: [string, string];
    if (r() < 0.75) {
      const k = Math.floor(r() * real[0].length);
      p = [real[0][k] as string, real[1][k] as string];
      nReal++;
    } else p = hard(r);
    a.push(flat(p[0]));
    b.push(flat(p[1]));
  }
  return { a, b, real: nReal };
}

// One loop per function, so that each call site sees one callee (as the product's do).
function loopVercmp(a: string[], b: string[]): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += rpmvercmp(a[i] as string, b[i] as string) * ((i % 7) + 1);
  return acc;
}

function loopEvr(a: string[], b: string[]): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += compareRpmEvr(a[i] as string, b[i] as string) * ((i % 7) + 1);
  return acc;
}

interface Timing {
  bestNs: number;
  medianNs: number;
  checksum: number;
}

function timeJs(p: Pairs, loop: (a: string[], b: string[]) => number): Timing {
  const checksum = loop(p.a, p.b);
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    const acc = loop(p.a, p.b);
    const d = process.cpuUsage(t0);
    if (acc !== checksum) throw new Error('JS rounds disagree');
    ns.push((d.user + d.system) * 1000);
  }
  ns.sort((x, y) => x - y);
  return { bestNs: ns[0] as number, medianNs: ns[Math.floor(ROUNDS / 2)] as number, checksum };
}

function timeC(oracle: string, mode: 'vercmp' | 'evr', p: Pairs): Timing {
  const input = Buffer.from(p.a.map((x, i) => `${x}\t${p.b[i] as string}\n`).join(''), 'latin1');
  const r = spawnSync(oracle, ['cpu', mode, String(ROUNDS)], { input, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`C harness failed: ${r.stderr}`);
  const [cnt, , best, median, checksum] = r.stdout.trim().split(' ').map(Number);
  if (cnt !== p.a.length) throw new Error(`C harness read ${String(cnt)} pairs of ${String(p.a.length)}`);
  return { bestNs: best as number, medianNs: median as number, checksum: checksum as number };
}

const mps = (n: number, ns: number): number => n / (ns / 1e9);

export function run(ctx: BenchContext): Promise<BenchRow[]> {
  const root = sharedPath(ctx, 'azurelinux', 'manifests');
  const oracle = buildOracle('rpm');
  if (root === null || !('path' in oracle)) {
    const why = 'missing' in oracle ? `missing ${oracle.missing} (gcc and librpm-dev build the C harness)` : 'no ../shared/data/azurelinux/manifests';
    return Promise.resolve([
      { issue: '#14', name: 'rpm comparison vs librpm C (CPU time)', value: null, unit: 'x C', target: '', ok: null, note: `skipped: ${why}` },
    ]);
  }
  const n = Number(process.env.BULWARK_VERCMP_PAIRS ?? 1_000_000);
  const evrReal = realRpmPairs(root);
  // The strings rpmverCmp hands rpmvercmp: versions with versions, releases with releases.
  const vReal: [string[], string[]] = [[], []];
  evrReal[0].forEach((x, i) => {
    const pa = parseRpmEvr(x);
    const pb = parseRpmEvr(evrReal[1][i] as string);
    if (pa === null || pb === null) return;
    vReal[0].push(pa.version, pa.release ?? '');
    vReal[1].push(pb.version, pb.release ?? '');
  });
  const vercmpPairs = buildPairs(n, vReal, (r) => {
    const a = rpmVersion(r);
    return r() < 0.5 ? rpmPair(r) : [a, r() < 0.5 ? rpmVersion(r) : a + rpmVersion(r)];
  });
  const evrPairs = buildPairs(n, evrReal, (r) => {
    for (;;) {
      const p = rpmPair(r); // librpm has no EVR for "" (rpmverParse is NULL): not a comparison
      if (p[0] !== '' && p[1] !== '') return p;
    }
  });

  const rows: BenchRow[] = [];
  for (const [label, mode, pairs, loop, target] of [
    ['rpmvercmp', 'vercmp', vercmpPairs, loopVercmp, 0.75],
    ['EVR compare (parse + compare)', 'evr', evrPairs, loopEvr, 0.6],
  ] as const) {
    const c = timeC(oracle.path, mode, pairs);
    const js = timeJs(pairs, loop);
    const agree = c.checksum === js.checksum;
    const what = `${String(pairs.a.length)} pairs (${String(pairs.real)} real)`;
    rows.push({
      issue: '#14',
      name: `${label}: librpm C, ${what}`,
      value: mps(pairs.a.length, c.bestNs),
      unit: 'pairs/s CPU',
      target: 'reference',
      ok: null,
      note: `best of ${String(ROUNDS)}; median ${(pairs.a.length / (c.medianNs / 1e9) / 1e6).toFixed(2)} M/s`,
    });
    rows.push({
      issue: '#14',
      name: `${label}: Bulwark in-process, same pairs`,
      value: mps(pairs.a.length, js.bestNs),
      unit: 'pairs/s CPU',
      target: '',
      ok: null,
      note: `best of ${String(ROUNDS)}; median ${(pairs.a.length / (js.medianNs / 1e9) / 1e6).toFixed(2)} M/s; answers ${agree ? 'agree with' : 'DIFFER from'} librpm (checksum)`,
    });
    rows.push({
      issue: '#14',
      name: `${label}: speed vs C (C time / JS time)`,
      value: c.bestNs / js.bestNs,
      unit: 'x C',
      target: `>= ${String(target)}`,
      ok: agree && c.bestNs / js.bestNs >= target,
      note: `medians: ${(c.medianNs / js.medianNs).toFixed(2)}x`,
    });
  }
  return Promise.resolve(rows);
}
