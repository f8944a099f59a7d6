/**
 * Regenerates the ground-truth line files in test/ground-truth/ by asking the real tools:
 *   rpm-vercmp.tsv  rpm's rpmvercmp() on version strings   (rpm --eval, Lua rpm.vercmp, wrapped)
 *   rpm-evr.tsv     rpm's EVR order (rpmverParse/rpmverCmp) (rpm --eval, Lua rpm.ver)
 *   deb.tsv         dpkg --compare-versions                 (one dpkg call per relation)
 * Each line is `A<TAB>B<TAB>R` with R in -1, 0, 1, or E when the tool refuses the input.
 *
 * Usage: npx tsx scripts/gen-ground-truth.ts [--shared ../shared]
 * Needs rpm and dpkg (Debian packages rpm, dpkg). Real Azure Linux version pairs are taken from
 * ../shared/data/azurelinux/manifests when present (the same package in two manifests).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRpmFileName } from '../src/core/package/nevra.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(repo, 'test', 'ground-truth');
const sharedArg = process.argv.indexOf('--shared');
const shared = resolve(repo, sharedArg > 0 ? (process.argv[sharedArg + 1] ?? '../shared') : '../shared');

// Version strings that exercise every rule of rpmvercmp: separators, ~ and ^, leading zeros,
// long numeric runs, letters vs digits, case, non-ASCII bytes (as latin1 code units).
const RPM_VERSIONS = [
  '1',
  '1.0',
  '1.0.0',
  '1.00',
  '1.01',
  '1.001',
  '1.1',
  '1.10',
  '1.9',
  '2',
  '2.0',
  '10',
  '010',
  '0',
  '00',
  '',
  '1.0a',
  '1.0A',
  '1.0b',
  '1.0.a',
  '1a',
  'a',
  'A',
  'b',
  'a1',
  'ab',
  'aa',
  'abc',
  '1.0_1',
  '1.0+1',
  '1.0-1',
  '1.0~rc1',
  '1.0~rc2',
  '1.0~~',
  '1.0~',
  '~',
  '~~',
  '~1',
  '1~',
  '1.0~rc1~git',
  '1.0^',
  '1.0^1',
  '1.0^git1',
  '1.0^git1~pre',
  '1.0~rc1^git1',
  '1.0^^',
  '^',
  '^1',
  '1^',
  '1.0.',
  '.1.0',
  '1..0',
  '1_0',
  '1%0',
  '1 0',
  '99999999999999999999999',
  '999999999999999999999999',
  '0099999999999999999999999',
  '4294967296',
  '4294967295',
  '2.4.62',
  '2.4.62.1',
  '3.3.5',
  '3.3.0',
  '6.6.57.1',
  '6.6.135.mshv2',
  '6.12.83.1',
  '0.9.0.cm2',
  'null',
  '1.20.7',
  '5.38.2',
  '1.0rc1',
  '1.0pre',
  'r1',
  '1.\xc3\xa9',
  '1\xff2',
  '\xc3\xa9',
  'el8',
  'el8_3',
  'el7_9',
  'el7.centos',
  '1.el9_3',
  '1.el9_3.1',
  '2.azl3',
  '5.azl3',
  '10.azl3',
  '1.cm2',
  '2.cm1',
];

// EVRs: epochs (missing, 0, empty, multi-digit, leading zeros), releases (missing, empty,
// dist tags), and the cases peers got wrong (DESIGN.md "Where peers went wrong").
const RPM_EVRS = [
  '1.0',
  '1.0-1',
  '0:1.0',
  '0:1.0-1',
  ':1.0',
  ':1.0-1',
  '1:1.0',
  '1:1.0-1',
  '01:1.0-1',
  '2:0.1-1',
  '10:1',
  '9:1',
  '1.0-',
  '0:1.0-',
  '1.0-0',
  '1.0-1.azl3',
  '1.0-2.azl3',
  '1.0-10.azl3',
  '0:1.0-1.azl3',
  '1:1.0-1.azl3',
  '2.4.62-1.azl3',
  '1:2.4.62-1.azl3',
  '0:2.4.62-1.azl3',
  '1:9.0.117-1.azl3',
  '0:9.0.118-1.azl3',
  '2.4.0',
  '0:2.4.0-1',
  '2.4.0-1',
  '3.9.18-1.el9_3',
  '0:3.9.18-1.el9_3.1',
  '91.13.0-1.el7.centos',
  '91.13.0-1.el7_9',
  '1.0-1.el8',
  '1.0-1.el8_3',
  '4:5.38.2-509.azl3',
  '0:5.38.2-510.azl3',
  '3:10.11.16-1.azl3',
  '0:10.11.10-1.azl3',
  '0:0.0.0.azl3',
  '0:1.20.7-1.azl3',
  '0:null.cm2',
  '0:123.cm2',
  '0: 1.57.0-1.cm2',
  '0:1.17.13-2,1.18.8-2,1.21.6-1.azl3',
  '2.06~rc1-7.cm2',
  '2.06-7.cm2',
  '1.0~rc1-1',
  '1.0-1~rc1',
  '1.0^git1-1',
  '1.0-1^git1',
  'a:1.0',
  '1a:1.0',
  '1:',
  ':',
  '-',
  '-1',
  '1-2-3',
  '1:2:3',
  '1.0-1-1',
  '0:1.0-1:1',
  '00:1.0',
  '',
  '1:1.0~',
  '1.0\xc3\xa9-1',
  '6.6.57.1-7.azl3',
  '6.6.57.1-10.azl3',
  '6.12.83.1-1.azl3',
  '1.0-1.fc43',
  '1.0-1.fc43~bootstrap',
  '5.2.15-3.azl3',
  '5.2.15-3.cm2',
  '1:5.2.15-3.azl3',
  '1.0-1.el8_3.1',
  '1.0-1.module+el8.3.0+123',
  '2.4.62-1.azl3.1',
  '2.4.62-1.azl3^1',
  '4294967296:1.0-1',
  '4294967295:1.0-1',
];

const DEB_VERSIONS = [
  '0',
  '1',
  '1.0',
  '1.00',
  '1.0.0',
  '1.01',
  '1.1',
  '1.10',
  '1.9',
  '10',
  '010',
  '1.0-1',
  '1.0-0',
  '1.0-1.1',
  '1.0-1ubuntu1',
  '1.0-1ubuntu0.1',
  '1.0-1+deb12u1',
  '1.0-1+b1',
  '1.0-1~bpo12+1',
  '1.0~rc1',
  '1.0~rc1-1',
  '1.0~~',
  '1.0~',
  '1.0~~a',
  '1.0+dfsg',
  '1.0+dfsg-1',
  '1.0.dfsg',
  '1:1.0',
  '1:1.0-1',
  '0:1.0',
  '2:0.1',
  '1.0a',
  '1.0A',
  '1.0+',
  '1.0.',
  '1.0-a',
  '1.0-A',
  '1:1:1',
  '1.0-1-1',
  '1.0:1',
  '1a',
  'a',
  'a1',
  '1.0_1',
  '1.0 1',
  ' 1.0',
  '1.0 ',
  '',
  '<unknown>',
  ':1.0',
  'a:1.0',
  '-1:1.0',
  '+1:1.0',
  '1:',
  '1.0-',
  '-1',
  '99999999999999999999',
  '2147483647:1',
  '2147483648:1',
  '7.88.1-10+deb12u5',
  '7.88.1-10+deb12u12',
  '2.36-9+deb12u4',
  '2.39-0ubuntu8.3',
  '3.0.13-0ubuntu3.4',
  '1:9.2p1-2',
  '1:9.6p1-3ubuntu13.5',
  '1.0\xc3\xa9',
  '1.0-\xff',
  '1.0~\xc3\xa9',
];

function tool(cmd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input: input === undefined ? undefined : Buffer.from(input, 'latin1'), encoding: 'latin1' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asks rpm itself, in one process, through its embedded Lua. */
function askRpm(pairs: [string, string][], mode: 'vercmp' | 'evr'): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-gt-'));
  try {
    const inFile = join(dir, 'in');
    const outFile = join(dir, 'out');
    writeFileSync(inFile, Buffer.from(pairs.map(([a, b]) => `${a}\t${b}\n`).join(''), 'latin1'));
    const body =
      mode === 'vercmp'
        ? // rpm's Lua rpm.vercmp() compares EVRs (rpmverParse + rpmverCmp), not bare rpmvercmp().
          // Wrapped as "0:" .. v .. "-0", the epoch and release are equal and the version part
          // is exactly v (the epoch ends at the first ':', the release starts at the last '-'),
          // so the answer is rpmvercmp(a, b).
          `local ok, r = pcall(rpm.vercmp, "0:" .. a .. "-0", "0:" .. b .. "-0")
           if ok then out:write(tostring(r), "\\n") else out:write("E\\n") end`
        : `local ok1, va = pcall(rpm.ver, a)
           local ok2, vb = pcall(rpm.ver, b)
           if not ok1 or not ok2 or va == nil or vb == nil then out:write("E\\n")
           elseif va < vb then out:write("-1\\n") elseif va == vb then out:write("0\\n") else out:write("1\\n") end`;
    const lua = `local out = assert(io.open(${JSON.stringify(outFile)}, "w"))
      for line in io.lines(${JSON.stringify(inFile)}) do
        local tab = string.find(line, "\\t", 1, true)
        local a = string.sub(line, 1, tab - 1)
        local b = string.sub(line, tab + 1)
        ${body}
      end
      out:close()`;
    const script = join(dir, 'ask.lua');
    writeFileSync(script, lua);
    const r = tool('rpm', ['--eval', `%{lua: dofile(${JSON.stringify(script)})}`]);
    if (r.status !== 0) throw new Error(`rpm --eval failed: ${r.stderr}`);
    const lines = readFileSync(outFile, 'latin1').split('\n');
    lines.pop();
    if (lines.length !== pairs.length) throw new Error(`rpm answered ${lines.length} of ${pairs.length} pairs`);
    return lines.map((l) => (l === 'E' ? 'E' : String(Math.sign(Number(l)))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asks `dpkg --compare-versions` for each pair: lt, then eq. Exit 0 true, 1 false, else error. */
function askDpkg(pairs: [string, string][]): string[] {
  return pairs.map(([a, b]) => {
    const lt = tool('dpkg', ['--compare-versions', a, 'lt', b]).status;
    if (lt === 0) return '-1';
    if (lt !== 1) return 'E';
    const eq = tool('dpkg', ['--compare-versions', a, 'eq', b]).status;
    if (eq === 0) return '0';
    if (eq !== 1) return 'E';
    return '1';
  });
}

function allPairs(xs: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const a of xs) for (const b of xs) out.push([a, b]);
  return out;
}

/** Real Azure Linux pairs: the same package (name.arch) in two manifests of one release. */
function azureLinuxPairs(): [string, string][] {
  const root = join(shared, 'data', 'azurelinux', 'manifests');
  if (!existsSync(root)) {
    console.warn(`no ${root}: the line files get no real Azure Linux pairs`);
    return [];
  }
  const load = (dir: string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const f of readdirSync(join(root, dir))) {
      for (const line of readFileSync(join(root, dir, f), 'utf8').split('\n')) {
        if (!line.trim().endsWith('.rpm')) continue; // macro_packages.txt lists bare names
        const p = parseRpmFileName(line.trim());
        m.set(`${p.name}.${p.arch}`, `${p.epoch === null ? '' : `${p.epoch}:`}${p.version}-${p.release}`);
      }
    }
    return m;
  };
  const older = load('3.0-2024-07-27');
  const newer = load('3.0-2026-04-29');
  const pairs: [string, string][] = [];
  for (const [k, v] of older) {
    const w = newer.get(k);
    if (w !== undefined) pairs.push([v, w], [w, v]);
  }
  return pairs;
}

function write(name: string, pairs: [string, string][], answers: string[]): void {
  const seen = new Set<string>();
  const lines: string[] = [];
  pairs.forEach(([a, b], i) => {
    const line = `${a}\t${b}\t${answers[i] ?? '?'}`;
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  });
  writeFileSync(join(outDir, name), Buffer.from(lines.join('\n') + '\n', 'latin1'));
  console.log(`${name}: ${lines.length} lines`);
}

const rpmVersionPairs = allPairs(RPM_VERSIONS);
const vercmpAnswers = askRpm(rpmVersionPairs, 'vercmp');
if (vercmpAnswers.includes('E')) throw new Error('rpm refused a wrapped version pair; rpmvercmp() itself never refuses');
write('rpm-vercmp.tsv', rpmVersionPairs, vercmpAnswers);
const evrPairs = [...allPairs(RPM_EVRS), ...azureLinuxPairs()];
write('rpm-evr.tsv', evrPairs, askRpm(evrPairs, 'evr'));
const debPairs = allPairs(DEB_VERSIONS);
write('deb.tsv', debPairs, askDpkg(debPairs));
