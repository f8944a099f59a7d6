import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Advisory } from '../src/core/advisory.js';
import { parseOval } from '../src/feeds/oval/parser.js';
import { DPKG_QUERY_FORMAT, parseInventory } from '../src/inventory/imports.js';
import { evaluateCriteria, indexByName, type StrictInventory } from '../src/matching/oval-strict.js';
import { rng } from './random.js';
import { requires, tools } from './needs.js';

/**
 * Issue #4, "Done when", Debian side: a dpkginfo OVAL in Canonical's shape (constant_variable
 * name lists, debian_evr_string states) generated around this machine's own installed packages
 * (just below, at and above each installed version, with and without "0:" epochs, under AND / OR
 * / negate), evaluated by `oscap oval eval` against the machine's real dpkg database and by
 * Bulwark's literal evaluator against `dpkg-query` output: the results must be equal.
 */
const needs = requires(tools('dpkg-query', 'oscap'));

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

needs.describe('dpkginfo OVAL: Bulwark literal = oscap oval eval on this machine\'s dpkg database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dpkg-oscap-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('agrees on every definition', async () => {
    const text = execFileSync('dpkg-query', ['-W', '-f', DPKG_QUERY_FORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const installed = parseInventory(text, 'dpkg-query').packages;
    const seed = Number(process.env['BULWARK_OSCAP_SEED'] ?? Date.now() % 100000);
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const ops = ['less than', 'less than or equal', 'greater than', 'greater than or equal', 'equals', 'not equal'];
    const defs: string[] = [];
    const tests: string[] = [];
    const objects: string[] = [];
    const states: string[] = [];
    const vars: string[] = [];
    let n = 0;
    const test = (): string => {
      n++;
      const p = pick(installed);
      const names = [p.name, ...(rand() < 0.3 ? [pick(installed).name] : []), ...(rand() < 0.2 ? [`bulwark-absent-${String(n)}`] : [])];
      const v = p.version;
      const near = [v, `${v}~`, `${v}+1`, v.includes(':') ? v : `0:${v}`, v.replace(/^\d+:/, '')];
      const value = pick(near);
      const op = pick(ops);
      vars.push(`<constant_variable id="oval:t:var:${String(n)}" version="1" datatype="string">${names.map((x) => `<value>${esc(x)}</value>`).join('')}</constant_variable>`);
      objects.push(`<linux-def:dpkginfo_object id="oval:t:obj:${String(n)}" version="1"><linux-def:name var_ref="oval:t:var:${String(n)}" var_check="at least one"/></linux-def:dpkginfo_object>`);
      states.push(`<linux-def:dpkginfo_state id="oval:t:ste:${String(n)}" version="1"><linux-def:evr datatype="debian_evr_string" operation="${op}">${esc(value)}</linux-def:evr></linux-def:dpkginfo_state>`);
      const check = pick(['at least one', 'all']);
      tests.push(`<linux-def:dpkginfo_test id="oval:t:tst:${String(n)}" version="1" check="${check}" check_existence="at_least_one_exists" comment="t"><linux-def:object object_ref="oval:t:obj:${String(n)}"/><linux-def:state state_ref="oval:t:ste:${String(n)}"/></linux-def:dpkginfo_test>`);
      return `<criterion test_ref="oval:t:tst:${String(n)}"${rand() < 0.2 ? ' negate="true"' : ''}/>`;
    };
    for (let d = 0; d < 400; d++) {
      const k = 1 + Math.floor(rand() * 3);
      const crit = Array.from({ length: k }, test).join('');
      defs.push(`<definition class="vulnerability" id="oval:t:def:${String(d + 1)}" version="1"><metadata><title>d${String(d)}</title><description/></metadata><criteria operator="${pick(['AND', 'OR'])}"${rand() < 0.1 ? ' negate="true"' : ''}>${crit}</criteria></definition>`);
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
    const advisories: Advisory[] = [];
    async function* once(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield Buffer.from(xml);
    }
    for await (const a of parseOval(once(), { source: 't', name: 'dpkg.xml', release: 'debian:12', warn: () => undefined })) advisories.push(a);
    expect(advisories).toHaveLength(400);
    const inv: StrictInventory = { family: 'deb', runningKernel: null, packages: installed.map((p) => ({ name: p.name, epoch: null, version: p.version, release: null, arch: p.arch })) };
    const index = indexByName(inv);
    const diffs: string[] = [];
    const tally: Record<string, number> = {};
    for (const a of advisories) {
      const ours = a.oval === undefined ? 'none' : evaluateCriteria(a.oval, inv, index);
      tally[ours] = (tally[ours] ?? 0) + 1;
      if (ours !== theirs.get(a.id)) diffs.push(`${a.id}: bulwark ${ours}, oscap ${theirs.get(a.id) ?? 'missing'}`);
    }
    expect({ seed, diffs: diffs.slice(0, 10) }).toEqual({ seed, diffs: [] });
    expect(tally['true'] ?? 0).toBeGreaterThan(20);
    expect(tally['false'] ?? 0).toBeGreaterThan(20);
  });
});
