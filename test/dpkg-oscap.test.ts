import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Advisory } from '../src/core/advisory.js';
import type { InstalledPackage } from '../src/core/target.js';
import { parseOval } from '../src/feeds/oval/parser.js';
import { DPKG_QUERY_FORMAT, parseInventory } from '../src/inventory/imports.js';
import { evaluateCriteria, indexByName, type StrictInventory } from '../src/matching/oval-strict.js';
import { runCli } from './cli.js';
import { needs } from './reference-tools.js';
import { rng } from './random.js';

/**
 * Issue #13, Debian side: a dpkginfo OVAL in Canonical's shape (constant_variable name lists,
 * debian_evr_string states) generated around this machine's own installed packages, with states
 * on every field of the dpkginfo_item (name, evr, epoch, version, release, arch), evaluated by
 * `oscap oval eval` against the machine's real dpkg database and by Bulwark on the product path
 * (`bulwark scan --inventory <dpkg-query output> --feed … --oval-strict`, the CLI in process):
 * the definitions found true must be the same, and Bulwark's literal evaluator must give every
 * definition the same result (true, false, error) as oscap.
 *
 * Cases the data showed wrong, each forced in: `strace 6.1-0.1` with `version equals 6.1`;
 * versions with an epoch (`1:2.38.1-5+deb12u3`), native versions without a revision (release
 * ""), upstream versions holding a '-' (`3.1-20221030-2`, where the probe splits at the first
 * '-'); object names with `pattern match` and `not equal` (the probe looks the value up literally);
 * evr states with datatype `evr_string`, which oscap compares with rpm's rules
 * (`1:2.38.1-5+deb12u3` equals `1:2.38.1-5.deb12u3`).
 */
const need = needs({ tools: ['dpkg-query', 'oscap'] });
const DEFINITIONS = 500;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const reEsc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The dpkginfo_item fields OpenSCAP 1.3.7 reports (first '-' splits the release off), written out independently of src/. */
function probeFields(v: string): { epoch: string; version: string; release: string } {
  const m = /^(?:(\d+):)?([^-]*)(?:-(.*))?$/.exec(v);
  return { epoch: m?.[1] ?? '0', version: m?.[2] ?? v, release: m?.[3] ?? '' };
}

describe.skipIf(need.skip)("dpkginfo OVAL with states on every field: bulwark scan --oval-strict = oscap oval eval on this machine's dpkg database", () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dpkg-oscap-'));
  afterAll(() => {
    // BULWARK_OSCAP_KEEP=1 keeps the generated OVAL and oscap's results to look at a difference.
    if (process.env['BULWARK_OSCAP_KEEP'] === undefined) rmSync(dir, { recursive: true, force: true });
    else console.log('kept', dir);
  });

  it('agrees on every definition', async () => {
    need.check();
    const text = execFileSync('dpkg-query', ['-W', '-f', DPKG_QUERY_FORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const inventoryFile = join(dir, 'dpkg-query.tsv');
    writeFileSync(inventoryFile, text);
    const installed = parseInventory(text, 'dpkg-query').packages;
    const seed = Number(process.env['BULWARK_OSCAP_SEED'] ?? Date.now() % 100000);
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    // The shapes the split gets wrong are picked more often than their share of the machine.
    const hyphenated = installed.filter((p) => /-.*-/.test(p.version.replace(/^\d+:/, '')));
    const withEpoch = installed.filter((p) => /^\d+:/.test(p.version));
    const native = installed.filter((p) => !p.version.includes('-'));
    const revisioned = installed.filter((p) => /^[^-]+-[^-]+$/.test(p.version.replace(/^\d+:/, '')));
    const strace = installed.filter((p) => p.name === 'strace');
    const pools = [installed, installed, hyphenated, withEpoch, native, revisioned, strace].filter((x) => x.length > 0);
    const ops = ['less than', 'less than or equal', 'greater than', 'greater than or equal', 'equals', 'not equal'];
    const stringOps = ['equals', 'equals', 'not equal', 'pattern match'];
    const tally: Record<string, number> = {};
    const count = (k: string): void => {
      tally[k] = (tally[k] ?? 0) + 1;
    };
    const defs: string[] = [];
    const tests: string[] = [];
    const objects: string[] = [];
    const states: string[] = [];
    const vars: string[] = [];
    let n = 0;

    /** One field condition about package p: often true for it, sometimes just off. */
    const field = (p: InstalledPackage, f: string): string => {
      const parts = probeFields(p.version);
      count(`field ${f}`);
      if (f === 'evr') {
        const v = p.version;
        const value = pick([
          v,
          `${v}~`,
          `${v}+1`,
          v.includes(':') ? v : `0:${v}`,
          v.replace(/^\d+:/, ''),
          `${parts.epoch}:${parts.version}`,
          v.replace(/\+/g, '.'),
        ]);
        // evr_string (OVAL before 5.11.1, and some publishers) is compared with rpm's rules by oscap.
        const datatype = rand() < 0.25 ? 'evr_string' : 'debian_evr_string';
        count(`evr ${datatype}`);
        return `<linux-def:evr datatype="${datatype}" operation="${pick(ops)}">${esc(value)}</linux-def:evr>`;
      }
      const op = pick(stringOps);
      const truth: Record<string, string> = { name: p.name, arch: p.arch, epoch: parts.epoch, version: parts.version, release: parts.release };
      // Near misses: dpkg's own split (upstream version up to the LAST '-'), the whole version, another package's value.
      const dpkgUpstream = p.version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
      const dpkgRevision = /-([^-]*)$/.exec(p.version)?.[1] ?? '';
      const misses: Record<string, string[]> = {
        name: [`${p.name}x`, pick(installed).name],
        arch: [p.arch === 'all' ? 'amd64' : 'all', 'i386'],
        epoch: [parts.epoch === '0' ? '1' : '0', ''],
        version: [dpkgUpstream, p.version, pick(installed).version],
        release: [dpkgRevision, '', '1'],
      };
      let value = rand() < 0.6 ? (truth[f] ?? '') : pick(misses[f] ?? ['']);
      if (op === 'pattern match') value = rand() < 0.7 ? `^${reEsc(value)}$` : reEsc(value.slice(0, 3));
      // A pattern that does not compile: the item, and so the check, is an error.
      if (op === 'pattern match' && rand() < 0.04) {
        value = '(';
        count('pattern that does not compile');
      }
      if (f === 'version' && value === '6.1' && p.name === 'strace') count('strace version equals 6.1');
      return `<linux-def:${f} operation="${op}">${esc(value)}</linux-def:${f}>`;
    };

    const test = (): string => {
      n++;
      const p = pick(pick(pools));
      const nameOp = rand() < 0.1 ? pick(['pattern match', 'not equal']) : 'equals';
      if (nameOp !== 'equals') count(`object name ${nameOp}`);
      const names = [p.name, ...(rand() < 0.3 ? [pick(installed).name] : []), ...(rand() < 0.2 ? [`bulwark-absent-${String(n)}`] : [])];
      const fieldNames = ['name', 'evr', 'epoch', 'version', 'release', 'arch'];
      const k = 1 + Math.floor(rand() * 3);
      const chosen = [...new Set(Array.from({ length: k }, () => pick(fieldNames)))];
      // strace 6.1-0.1 and its kind: a version state with the probe's split, forced often.
      if (p.name === 'strace' && !chosen.includes('version')) chosen.push('version');
      // Fields in schema order (dpkginfo_state: name, arch, epoch, release, version, evr).
      const order = ['name', 'arch', 'epoch', 'release', 'version', 'evr'];
      chosen.sort((a, b) => order.indexOf(a) - order.indexOf(b));
      vars.push(
        `<constant_variable id="oval:t:var:${String(n)}" version="1" datatype="string">${names.map((x) => `<value>${esc(x)}</value>`).join('')}</constant_variable>`,
      );
      objects.push(
        `<linux-def:dpkginfo_object id="oval:t:obj:${String(n)}" version="1"><linux-def:name operation="${nameOp}" var_ref="oval:t:var:${String(n)}" var_check="at least one"/></linux-def:dpkginfo_object>`,
      );
      const withState = rand() < 0.9;
      if (withState)
        states.push(`<linux-def:dpkginfo_state id="oval:t:ste:${String(n)}" version="1">${chosen.map((f) => field(p, f)).join('')}</linux-def:dpkginfo_state>`);
      const check = pick(['at least one', 'all', 'none satisfy', 'only one']);
      const existence = pick(['at_least_one_exists', 'at_least_one_exists', 'all_exist', 'any_exist', 'none_exist', 'only_one_exists']);
      tests.push(
        `<linux-def:dpkginfo_test id="oval:t:tst:${String(n)}" version="1" check="${check}" check_existence="${existence}" comment="t"><linux-def:object object_ref="oval:t:obj:${String(n)}"/>${withState ? `<linux-def:state state_ref="oval:t:ste:${String(n)}"/>` : ''}</linux-def:dpkginfo_test>`,
      );
      return `<criterion test_ref="oval:t:tst:${String(n)}"${rand() < 0.2 ? ' negate="true"' : ''}/>`;
    };
    for (let d = 0; d < DEFINITIONS; d++) {
      const k = 1 + Math.floor(rand() * 3);
      const crit = Array.from({ length: k }, test).join('');
      defs.push(
        `<definition class="vulnerability" id="oval:t:def:${String(d + 1)}" version="1"><metadata><title>d${String(d)}</title><description/></metadata><criteria operator="${pick(['AND', 'OR'])}"${rand() < 0.1 ? ' negate="true"' : ''}>${crit}</criteria></definition>`,
      );
    }
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:linux-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
<generator><oval:product_name>bulwark test</oval:product_name><oval:schema_version>5.11.1</oval:schema_version><oval:timestamp>2026-11-24T00:00:00</oval:timestamp></generator>
<definitions>${defs.join('\n')}</definitions><tests>${tests.join('\n')}</tests><objects>${objects.join('\n')}</objects><states>${states.join('\n')}</states><variables>${vars.join('\n')}</variables></oval_definitions>`;
    const feed = join(dir, 'dpkg.xml');
    writeFileSync(feed, xml);
    const results = join(dir, 'results.xml');
    // --skip-valid: debian_evr_string (OVAL 5.11.1, as Canonical's feeds use) is newer than this oscap's schema files.
    execFileSync('oscap', ['oval', 'eval', '--skip-valid', '--results', results, feed], { stdio: 'pipe' });
    const theirs = new Map<string, string>();
    const res = readFileSync(results, 'utf8');
    for (const m of res.slice(res.indexOf('<results')).matchAll(/<definition\s+([^>]*)>/g)) {
      const id = /definition_id="([^"]+)"/.exec(m[1] ?? '')?.[1];
      const r = /result="([^"]+)"/.exec(m[1] ?? '')?.[1];
      if (id !== undefined && r !== undefined) theirs.set(id, r);
    }
    expect(theirs.size).toBe(DEFINITIONS);

    // The product path: what a user runs.
    const cli = await runCli(['scan', '--inventory', inventoryFile, '--feed', feed, '--release', 'debian:12', '--oval-strict', '--format', 'json']);
    expect(cli.err).toBe('');
    const ours = new Set((JSON.parse(cli.out) as { findings: { advisory: string }[] }).findings.map((f) => f.advisory));
    const trueTheirs = new Set([...theirs].filter(([, r]) => r === 'true').map(([id]) => id));
    const productDiffs = [...theirs.keys()]
      .filter((id) => ours.has(id) !== trueTheirs.has(id))
      .map((id) => `${id}: bulwark ${ours.has(id) ? 'true' : 'not true'}, oscap ${theirs.get(id) ?? '-'}`);

    // Every result, not only "true": the evaluator behind the product path.
    const advisories: Advisory[] = [];
    async function* once(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield Buffer.from(xml);
    }
    for await (const a of parseOval(once(), { source: 't', name: 'dpkg.xml', release: 'debian:12', warn: () => undefined })) advisories.push(a);
    const inv: StrictInventory = {
      family: 'deb',
      runningKernel: null,
      packages: installed.map((p) => ({ name: p.name, epoch: null, version: p.version, release: null, arch: p.arch })),
    };
    const index = indexByName(inv);
    const diffs: string[] = [];
    for (const a of advisories) {
      const r = a.oval === undefined ? 'none' : evaluateCriteria(a.oval, inv, index);
      count(`result ${r}`);
      if (r !== theirs.get(a.id)) diffs.push(`${a.id}: bulwark ${r}, oscap ${theirs.get(a.id) ?? 'missing'}`);
    }
    expect({ seed, productDiffs: productDiffs.slice(0, 10), diffs: diffs.slice(0, 10) }).toEqual({ seed, productDiffs: [], diffs: [] });
    console.log('dpkginfo differential', JSON.stringify({ seed, definitions: DEFINITIONS, tests: n, ...tally }));
    expect(tally['result true'] ?? 0).toBeGreaterThan(20);
    expect(tally['result false'] ?? 0).toBeGreaterThan(20);
    for (const f of ['name', 'evr', 'epoch', 'version', 'release', 'arch']) expect(tally[`field ${f}`] ?? 0).toBeGreaterThan(10);
    if (strace.length > 0) expect(tally['strace version equals 6.1'] ?? 0).toBeGreaterThan(0);
  });
});
