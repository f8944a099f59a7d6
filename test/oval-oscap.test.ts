import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../src/core/advisory.js';
import type { OvalCriteria } from '../src/core/oval.js';
import { compareRpmEvr } from '../src/core/version/rpm.js';
import { parseOval } from '../src/feeds/oval/parser.js';
import { collectRoot } from '../src/inventory/root.js';
import { RPM_QA_ARGV } from '../src/inventory/rpm-qa.js';
import { collectSsh } from '../src/inventory/ssh.js';
import { feedDocuments } from '../src/lib/archive.js';
import { runCli } from './cli.js';
import { needs } from './reference-tools.js';
import { startSshHost } from './sshd-hosts.js';
import { buildRpmRoot, type DummyRpm } from './rpm-tools.js';
import { SHARED_DATA } from './shared-data.js';
import { rng } from './random.js';

/**
 * Issue #13, "Proofs on the product path": `bulwark scan --inventory FILE --feed FEED
 * --oval-strict` (the CLI, in process) finds exactly the definitions `oscap oval eval` finds true,
 * on the three real Microsoft feeds (CBL-Mariner 1.0 and 2.0, Azure Linux 3.0), for fresh random
 * rpm databases built with the real rpmbuild and rpm around the feeds' own bounds: just below,
 * at and above them, with epochs the feed does not write, with the feeds' malformed bounds
 * (`0: 1.20.10-1.azl3`, `0:null.cm2`, a comma list…), with sub-packages the feed does not name,
 * and with two installed versions of one name. The inventory is what a user gives Bulwark for a
 * root: `rpm --root ROOT -qa --queryformat …` (README); OpenSCAP's rpm probe reads the machine's
 * own database path, so that path is bind-mounted from the root in a private mount namespace
 * (../shared/testbed recipe 4).
 *
 * Replay a run with BULWARK_OSCAP_SEED=<seed> (printed on a difference); BULWARK_OSCAP_INVENTORIES
 * sets the inventories per feed (3).
 */
const FEEDS = [
  ['cbl-mariner-1.0-oval.2024-03-29.xml.xz', 'mariner:1.0'],
  ['cbl-mariner-2.0-oval.2024-01-22.xml.xz', 'mariner:2.0'],
  ['azurelinux-3.0-oval.2025-02-24.xml.xz', 'azurelinux:3.0'],
] as const;
const ovalDir = join(SHARED_DATA, 'azurelinux', 'oval');
const need = needs({ tools: ['rpm', 'rpmbuild', 'oscap', 'unshare', 'xz'], root: true, sshd: true, paths: FEEDS.map(([f]) => join(ovalDir, f)) });
const INVENTORIES_PER_FEED = Number(process.env['BULWARK_OSCAP_INVENTORIES'] ?? 3);

/** The EVRs of every state each package name is tested against, with the operation. */
function bounds(advisories: readonly Advisory[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (n: OvalCriteria): void => {
    if (n.kind === 'criteria') n.children.forEach(walk);
    else if (n.kind === 'criterion')
      for (const s of n.test.states)
        for (const f of s)
          if (f.field === 'evr')
            for (const name of n.test.names) {
              let l = out.get(name);
              if (l === undefined) out.set(name, (l = []));
              l.push(f.value);
            }
  };
  for (const a of advisories) if (a.oval !== undefined) walk(a.oval);
  return out;
}

const RPM_CHARS = /^[A-Za-z0-9._+~^]+$/;

/** A bound the feed wrote badly (data notes: white space, comma lists, "null", no release, not a digit first). */
function malformed(evr: string): boolean {
  const m = /^(\d+):([^-]+)-([^-]+)$/.exec(evr);
  return m === null || !RPM_CHARS.test(m[2] ?? '') || !RPM_CHARS.test(m[3] ?? '') || !/^\d/.test(m[2] ?? '') || /null/.test(evr);
}

/** An `E:V-R` bound as a buildable version and release: a malformed one is cleaned (its first list item, separators for the rest). */
function buildable(evr: string): { version: string; release: string } {
  const text = (evr.replace(/^\d+:/, '').split(',')[0] ?? '').trim();
  const dash = text.lastIndexOf('-');
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9._+~^]/g, '.').replace(/^\.+|\.+$/g, '');
  const version = clean(dash >= 0 ? text.slice(0, dash) : text) || '0';
  const release = (dash >= 0 ? clean(text.slice(dash + 1)) : '') || '1';
  return { version, release };
}

/** Just below, at or just above a bound, as an installable package; null when "below" cannot be made. */
function near(name: string, evr: string, where: 'below' | 'at' | 'above', epoch: number | undefined): DummyRpm | null {
  let { version, release } = buildable(evr);
  if (where === 'above') release = `${release}.1`;
  if (where === 'below') {
    const r = /^(\d+)(.*)$/.exec(release);
    const v = /^(.*?)(\d+)([^\d]*)$/.exec(version);
    if (r?.[1] !== undefined && Number(r[1]) > 0) release = `${String(Number(r[1]) - 1)}${r[2] ?? ''}`;
    else if (v?.[2] !== undefined && Number(v[2]) > 0) version = `${v[1] ?? ''}${String(Number(v[2]) - 1)}${v[3] ?? ''}`;
    else return null;
    if (compareRpmEvr(`0:${version}-${release}`, `0:${buildable(evr).version}-${buildable(evr).release}`) >= 0) return null;
  }
  return { name, version, release, ...(epoch !== undefined ? { epoch } : {}) };
}

async function parseFeed(path: string): Promise<Advisory[]> {
  const out: Advisory[] = [];
  for await (const doc of feedDocuments(createReadStream(path), path, { maxDocumentBytes: 1 << 30, maxTotalBytes: 1 << 30 }))
    for await (const a of parseOval(doc.bytes, { source: 'oscap-check', name: doc.name, warn: () => undefined })) out.push(a);
  return out;
}

/** `oscap oval eval` on the root's rpm database: every definition's result. */
function oscapResults(feedXml: string, root: string, dir: string): Map<string, string> {
  const db = execFileSync('rpm', ['--eval', '%_dbpath'], { encoding: 'utf8' }).trim();
  const results = join(dir, 'results.xml');
  // Paths are passed as positional parameters, never spliced into the script.
  execFileSync(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      'mkdir -p "$2" && mount --bind "$1" "$2" && exec oscap oval eval --skip-valid --results "$3" "$4" >/dev/null',
      'sh',
      join(root, db),
      db,
      results,
      feedXml,
    ],
    { stdio: 'pipe' },
  );
  const out = new Map<string, string>();
  const xml = readFileSync(results, 'utf8');
  for (const m of xml.slice(xml.indexOf('<results')).matchAll(/<definition\s+([^>]*)>/g)) {
    const id = /definition_id="([^"]+)"/.exec(m[1] ?? '')?.[1];
    const result = /result="([^"]+)"/.exec(m[1] ?? '')?.[1];
    if (id !== undefined && result !== undefined) out.set(id, result);
  }
  return out;
}

interface Cases {
  inventories: number;
  packages: number;
  malformedBound: number;
  epoch: number;
  subPackage: number;
  twoVersions: number;
  trueDefinitions: number;
  definitions: number;
}

describe.skipIf(need.skip)('bulwark scan --oval-strict equals oscap oval eval on the real Microsoft feeds (product path)', () => {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-oscap-'));
  const totals: Record<string, Cases> = {};
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
    if (Object.keys(totals).length > 0) console.log('oscap differential cases', JSON.stringify(totals));
  });

  it.each(FEEDS)('%s', async (file, release) => {
    need.check();
    const feed = join(ovalDir, file);
    const feedXml = join(work, file.replace(/\.xz$/, ''));
    writeFileSync(feedXml, execFileSync('xz', ['-dc', feed], { maxBuffer: 1 << 28 }));
    const advisories = await parseFeed(feed);
    const byName = bounds(advisories);
    const names = [...byName.keys()].sort();
    const badNames = new Set(names.filter((n) => (byName.get(n) ?? []).some(malformed)));
    const seed = Number(process.env['BULWARK_OSCAP_SEED'] ?? Date.now() % 100000);
    const cases: Cases = {
      inventories: 0,
      packages: 0,
      malformedBound: 0,
      epoch: 0,
      subPackage: 0,
      twoVersions: 0,
      trueDefinitions: 0,
      definitions: advisories.length,
    };
    for (let n = 0; n < INVENTORIES_PER_FEED; n++) {
      const rand = rng(seed + n);
      const pkgs: DummyRpm[] = [];
      const taken = new Set<string>();
      const add = (p: DummyRpm | null): boolean => {
        if (p === null || taken.has(`${p.name} ${p.version} ${p.release}`)) return false;
        taken.add(`${p.name} ${p.version} ${p.release}`);
        pkgs.push(p);
        return true;
      };
      for (const name of names) {
        const evrs = byName.get(name) ?? [];
        // Every name with a malformed bound is installed at that bound in the first inventory.
        const bad = evrs.filter(malformed);
        const forceBad = n === 0 && bad.length > 0;
        if (!forceBad && rand() < 0.45) continue;
        const evr = forceBad ? (bad[Math.floor(rand() * bad.length)] ?? '') : (evrs[Math.floor(rand() * evrs.length)] ?? '');
        const where = (['below', 'at', 'above'] as const)[Math.floor(rand() * 3)] ?? 'at';
        // Epochs the feed does not write (it says 0: for every package), and an explicit 0.
        const epoch = rand() < 0.1 ? Math.floor(rand() * 3) : undefined;
        const p = near(name, evr, where, epoch) ?? near(name, evr, 'at', epoch);
        if (!add(p)) continue;
        if (malformed(evr)) cases.malformedBound++;
        if (epoch !== undefined) cases.epoch++;
        // A second installed version of the name (installonly style), on the other side of the bound.
        if (rand() < 0.05 && add(near(name, evr, where === 'below' ? 'above' : 'below', undefined))) cases.twoVersions++;
        // A sub-package of the source the feed names (the feed names sources, strict mode sees binaries literally).
        if (rand() < 0.05 && p !== null && add({ name: `${name}-${rand() < 0.5 ? 'devel' : 'libs'}`, version: p.version, release: p.release }))
          cases.subPackage++;
      }
      const dir = join(work, `${release.replace(':', '-')}-${String(n)}`);
      const root = buildRpmRoot(dir, join(dir, 'root'), pkgs);
      // What a user gives Bulwark for a root (README: rpm --root DIR -qa --queryformat …).
      const inventory = join(dir, 'rpm-qa.tsv');
      writeFileSync(inventory, execFileSync(RPM_QA_ARGV[0] ?? 'rpm', ['--root', root, ...RPM_QA_ARGV.slice(1)], { maxBuffer: 1 << 26 }));
      if (n === 0 && release === 'azurelinux:3.0') {
        // The agentless collector reads the same database over a real sshd as the root collector does.
        const inv = await collectRoot(root, { release });
        const host = await startSshHost(join(dir, 'sshd'), { address: '127.0.0.9', port: 2299, rpmRoot: root, osRelease: 'ID=azurelinux\nVERSION_ID="3.0"\n' });
        try {
          const remote = await collectSsh(
            { host: host.address, port: host.port, user: 'root', identityFile: host.clientKey, sudo: false },
            { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: true },
          );
          const line = (p: { name: string; epoch: number | null; version: string; release: string | null; arch: string }): string =>
            `${p.name} ${String(p.epoch)}:${p.version}-${p.release ?? ''}.${p.arch}`;
          expect(remote.packages.map(line).sort()).toEqual(inv.packages.map(line).sort());
        } finally {
          await host.stop();
        }
      }
      const r = await runCli(['scan', '--inventory', inventory, '--feed', feed, '--release', release, '--oval-strict', '--format', 'json']);
      expect(r.err).toBe('');
      const ours = new Set((JSON.parse(r.out) as { findings: { advisory: string }[] }).findings.map((f) => f.advisory));
      const reference = oscapResults(feedXml, root, dir);
      expect(reference.size).toBe(advisories.length);
      const theirs = new Set([...reference].filter(([, result]) => result === 'true').map(([id]) => id));
      const differences = [...new Set([...ours, ...theirs])]
        .filter((id) => ours.has(id) !== theirs.has(id))
        .map((id) => `${id}: bulwark ${ours.has(id) ? 'true' : 'not true'}, oscap ${reference.get(id) ?? 'missing'}`);
      expect({ seed: seed + n, packages: pkgs.length, differences: differences.slice(0, 20) }).toEqual({
        seed: seed + n,
        packages: pkgs.length,
        differences: [],
      });
      // Both answers occur: a run where everything is false (or true) proves little.
      expect(theirs.size).toBeGreaterThan(0);
      expect(theirs.size).toBeLessThan(advisories.length);
      cases.inventories++;
      cases.packages += pkgs.length;
      cases.trueDefinitions += theirs.size;
    }
    // Every kind of case occurred (CBL-Mariner 1.0 writes no malformed bound).
    expect(cases.malformedBound >= badNames.size && cases.epoch > 0 && cases.subPackage > 0 && cases.twoVersions > 0).toBe(true);
    totals[release] = cases;
  });
});

/**
 * rpminfo objects and states on every field against the real rpm probe: object names with
 * `equals`, `not equal` and `pattern match` (MITRE's `^r.m$` among them), states on name, epoch,
 * version, release, arch and evr, every check and existence, on a random rpm database with
 * noarch and x86_64 packages, epochs and packages without one, evr states with and without an
 * epoch or a release (OpenSCAP's evr_string: a missing part is less). The inventory is exported with
 * `%{EPOCH}` (which rpm -qa imports accept) so that "(none)" reaches Bulwark as rpm says it.
 */
describe.skipIf(need.skip)('rpminfo names by operation and states on every field: bulwark scan --oval-strict = oscap oval eval', () => {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-oscap-names-'));
  afterAll(() => {
    // BULWARK_OSCAP_KEEP=1 keeps the generated OVAL, the root and oscap's results to look at a difference.
    if (process.env['BULWARK_OSCAP_KEEP'] === undefined) rmSync(work, { recursive: true, force: true });
    else console.log('kept', work);
  });

  it('agrees on every definition', async () => {
    need.check();
    const seed = Number(process.env['BULWARK_OSCAP_SEED'] ?? Date.now() % 100000);
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const syllables = ['r', 'o', 'pm', 'lib', 'ssl', 'a', 'x', 'z', 'core', '2', 'ca'];
    const pkgs: DummyRpm[] = [
      { name: 'rpm', version: '4.18.2', release: '1.azl3' },
      { name: 'rom', version: '2', release: '1' },
      { name: 'ram2', version: '1', release: '1' },
      { name: 'xrpm', version: '1', release: '1', epoch: 1 },
    ];
    while (pkgs.length < 50) {
      const name = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(syllables)).join(pick(['', '', '-']));
      if (!/^[a-z]/.test(name) || pkgs.some((p) => p.name === name)) continue;
      pkgs.push({
        name,
        version: `${String(Math.floor(rand() * 5))}.${String(Math.floor(rand() * 12))}`,
        release: `${String(1 + Math.floor(rand() * 4))}.azl3`,
        ...(rand() < 0.3 ? { epoch: Math.floor(rand() * 3) } : {}),
        ...(rand() < 0.4 ? { arch: 'x86_64' } : {}),
      });
    }
    const root = buildRpmRoot(join(work, 'build'), join(work, 'root'), pkgs);
    const inventory = join(work, 'rpm-qa.tsv');
    writeFileSync(
      inventory,
      execFileSync('rpm', ['--root', root, '-qa', '--queryformat', '%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n'], {
        maxBuffer: 1 << 26,
      }),
    );
    const tally: Record<string, number> = {};
    const count = (k: string): void => {
      tally[k] = (tally[k] ?? 0) + 1;
    };
    const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
    const reEsc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const defs: string[] = [];
    const tests: string[] = [];
    const objects: string[] = [];
    const states: string[] = [];
    let n = 0;
    const fieldOf = (p: DummyRpm, f: string): string =>
      f === 'name'
        ? p.name
        : f === 'epoch'
          ? p.epoch === undefined
            ? '(none)'
            : String(p.epoch)
          : f === 'version'
            ? p.version
            : f === 'release'
              ? p.release
              : (p.arch ?? 'noarch');
    const test = (): string => {
      n++;
      const p = pick(pkgs);
      const nameOp = pick(['equals', 'equals', 'not equal', 'pattern match', 'pattern match']);
      count(`object name ${nameOp}`);
      const name =
        nameOp === 'pattern match'
          ? pick(['^r.m$', `^${reEsc(p.name.slice(0, 2))}`, `${reEsc(p.name.slice(-2))}$`, reEsc(p.name.slice(1, 3)), '^zzz', '[0-9]'])
          : nameOp === 'not equal'
            ? p.name
            : pick([p.name, p.name, `${p.name}-absent`]);
      objects.push(
        `<linux-def:rpminfo_object id="oval:n:obj:${String(n)}" version="1"><linux-def:name operation="${nameOp}">${esc(name)}</linux-def:name></linux-def:rpminfo_object>`,
      );
      const withState = rand() < 0.85;
      if (withState) {
        const fields = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick(['name', 'arch', 'epoch', 'release', 'version', 'evr'])))];
        fields.sort(
          (a, b) => ['name', 'arch', 'epoch', 'release', 'version', 'evr'].indexOf(a) - ['name', 'arch', 'epoch', 'release', 'version', 'evr'].indexOf(b),
        );
        const body = fields
          .map((f) => {
            count(`field ${f}`);
            if (f === 'evr') {
              const evr = `${String(p.epoch ?? 0)}:${p.version}-${p.release}`;
              return `<linux-def:evr datatype="evr_string" operation="${pick(['less than', 'less than or equal', 'greater than', 'greater than or equal', 'equals', 'not equal'])}">${pick([evr, `${evr}.1`, `0:${p.version}-${p.release}`, `${String(p.epoch ?? 0)}:${p.version}`, `${p.version}-${p.release}`, p.version])}</linux-def:evr>`;
            }
            const op = pick(['equals', 'equals', 'not equal', 'pattern match']);
            let value = rand() < 0.65 ? fieldOf(p, f) : fieldOf(pick(pkgs), f);
            if (f === 'epoch' && rand() < 0.2) value = '0';
            if (op === 'pattern match') value = rand() < 0.7 ? `^${reEsc(value)}$` : reEsc(value.slice(0, 2));
            if (op === 'pattern match' && rand() < 0.04) {
              value = '(';
              count('state pattern that does not compile');
            }
            return `<linux-def:${f} operation="${op}">${esc(value)}</linux-def:${f}>`;
          })
          .join('');
        states.push(`<linux-def:rpminfo_state id="oval:n:ste:${String(n)}" version="1">${body}</linux-def:rpminfo_state>`);
      }
      const check = pick(['all', 'at least one', 'none satisfy', 'only one']);
      const existence = pick(['at_least_one_exists', 'at_least_one_exists', 'all_exist', 'any_exist', 'none_exist', 'only_one_exists']);
      tests.push(
        `<linux-def:rpminfo_test id="oval:n:tst:${String(n)}" version="1" check="${check}" check_existence="${existence}" comment="t"><linux-def:object object_ref="oval:n:obj:${String(n)}"/>${withState ? `<linux-def:state state_ref="oval:n:ste:${String(n)}"/>` : ''}</linux-def:rpminfo_test>`,
      );
      return `<criterion test_ref="oval:n:tst:${String(n)}"${rand() < 0.15 ? ' negate="true"' : ''}/>`;
    };
    const DEFS = 300;
    for (let d = 0; d < DEFS; d++) {
      const crit = Array.from({ length: 1 + Math.floor(rand() * 2) }, test).join('');
      defs.push(
        `<definition class="vulnerability" id="oval:n:def:${String(d + 1)}" version="1"><metadata><title>d</title><description/></metadata><criteria operator="${pick(['AND', 'OR'])}">${crit}</criteria></definition>`,
      );
    }
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
<generator><oval:product_name>bulwark test</oval:product_name><oval:schema_version>5.11</oval:schema_version><oval:timestamp>2026-12-06T00:00:00</oval:timestamp></generator>
<definitions>${defs.join('\n')}</definitions><tests>${tests.join('\n')}</tests><objects>${objects.join('\n')}</objects><states>${states.join('\n')}</states></oval_definitions>`;
    const feedXml = join(work, 'names.xml');
    writeFileSync(feedXml, xml);
    const reference = oscapResults(feedXml, root, work);
    expect(reference.size).toBe(DEFS);
    const r = await runCli(['scan', '--inventory', inventory, '--feed', feedXml, '--release', 'azurelinux:3.0', '--oval-strict', '--format', 'json']);
    expect(r.err).toBe('');
    const ours = new Set((JSON.parse(r.out) as { findings: { advisory: string }[] }).findings.map((f) => f.advisory));
    const differences = [...reference]
      .filter(([id, res]) => ours.has(id) !== (res === 'true'))
      .map(([id, res]) => `${id}: bulwark ${ours.has(id) ? 'true' : 'not true'}, oscap ${res}`);
    for (const res of reference.values()) count(`oscap ${res}`);
    expect({ seed, differences: differences.slice(0, 20) }).toEqual({ seed, differences: [] });
    console.log('rpminfo names and fields differential', JSON.stringify({ seed, definitions: DEFS, tests: n, packages: pkgs.length, ...tally }));
    expect(tally['oscap true'] ?? 0).toBeGreaterThan(20);
    expect(tally['oscap false'] ?? 0).toBeGreaterThan(20);
  });
});
