/**
 * Runs every line of the ground-truth files (generated from the real rpm and dpkg by
 * scripts/gen-ground-truth.ts) against our ports. Needs no tool: the answers are in the files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDebVersion, compareDebVersions, compareDebVersionsBytes, parseDebVersionBytes } from '../src/core/version/deb.js';
import { checkRpmEvr, compareRpmEvr, rpmvercmp } from '../src/core/version/rpm.js';

interface Case {
  line: number;
  a: string;
  b: string;
  want: string;
}

function load(name: string): Case[] {
  const text = readFileSync(join(import.meta.dirname, 'ground-truth', name), 'latin1');
  const cases: Case[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const [a, b, want, extra] = line.split('\t');
    if (a === undefined || b === undefined || want === undefined || extra !== undefined) throw new Error(`${name}:${i + 1}: malformed line`);
    cases.push({ line: i + 1, a, b, want });
  });
  return cases;
}

function disagreements(cases: Case[], decide: (a: string, b: string) => string): string[] {
  const bad: string[] = [];
  for (const c of cases) {
    const got = decide(c.a, c.b);
    if (got !== c.want) bad.push(`line ${c.line}: ${JSON.stringify(c.a)} vs ${JSON.stringify(c.b)}: tool says ${c.want}, we say ${got}`);
  }
  return bad;
}

describe('ground truth from the real tools', () => {
  it('rpm-vercmp.tsv: rpmvercmp() agrees with librpm on every line', () => {
    const cases = load('rpm-vercmp.tsv');
    expect(cases.length).toBeGreaterThan(5000);
    expect(disagreements(cases, (a, b) => String(rpmvercmp(a, b)))).toEqual([]);
  });

  it('rpm-evr.tsv: EVR order agrees with librpm (rpmverParse + rpmverCmp) on every line', () => {
    const cases = load('rpm-evr.tsv');
    expect(cases.length).toBeGreaterThan(5000);
    expect(cases.some((c) => c.want === 'E')).toBe(true);
    const bad = disagreements(cases, (a, b) => (checkRpmEvr(a) !== null || checkRpmEvr(b) !== null ? 'E' : String(compareRpmEvr(a, b))));
    expect(bad).toEqual([]);
  });

  it('deb.tsv: dpkg --compare-versions agrees on every line, refusals included', () => {
    const cases = load('deb.tsv');
    expect(cases.length).toBeGreaterThan(4000);
    expect(cases.some((c) => c.want === 'E')).toBe(true);
    const bad = disagreements(cases, (a, b) => {
      for (const v of [a, b]) {
        if (v === '' || v === '<unknown>') continue;
        if (!parseDebVersionBytes(v).ok) return 'E';
      }
      return String(compareDebVersionsBytes(a, b));
    });
    expect(bad).toEqual([]);
  });

  it('deb: the Unicode API agrees with the byte API on the ASCII lines', () => {
    const cases = load('deb.tsv').filter((c) => /^[\x20-\x7e]*$/.test(c.a + c.b) && c.want !== 'E');
    expect(cases.length).toBeGreaterThan(3000);
    const bad = disagreements(cases, (a, b) => checkDebVersion(a) ?? checkDebVersion(b) ?? String(compareDebVersions(a, b)));
    expect(bad).toEqual([]);
  });
});
