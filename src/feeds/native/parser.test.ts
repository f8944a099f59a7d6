import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNativeFeed } from './parser.js';

const demo = join(import.meta.dirname, '..', '..', '..', 'examples', 'demo', 'advisories.json');

function feed(advisories: unknown[]): string {
  return JSON.stringify({ source: 'test', advisories });
}

const good = {
  id: 'A-1',
  title: 't',
  description: 'd',
  severity: 'high',
  cvssScore: null,
  cvssVector: null,
  cves: ['CVE-2026-12345'],
  references: [],
  publishedAt: '2026-01-01T00:00:00Z',
  updatedAt: null,
  parser: 'test@1',
  fixes: [
    {
      release: 'azurelinux:3.0',
      package: 'openssl',
      packageKind: 'source',
      arch: null,
      status: 'fixed',
      fixed: '3.3.5-5.azl3',
      lastAffected: null,
      introduced: null,
    },
  ],
};

describe('native feed parser', () => {
  it('reads the demo feed completely', () => {
    const r = parseNativeFeed(readFileSync(demo, 'utf8'), 'advisories.json');
    expect(r.skipped).toEqual([]);
    expect(r.advisories.length).toBeGreaterThanOrEqual(5);
    expect(new Set(r.advisories.map((a) => a.source))).toEqual(new Set(['demo-azurelinux-3.0']));
  });

  it('skips bad records with their index and reason, keeps the good ones', () => {
    const r = parseNativeFeed(
      feed([
        good,
        { ...good, id: 'A-2', severity: 'urgent' },
        { ...good, id: 'A-3', fixes: [{ ...good.fixes[0], status: 'fixed', fixed: null }] },
        { ...good, id: 'A-4', fixes: [{ ...good.fixes[0], release: 'debian:12', fixed: '1:' }] },
        { ...good, id: 'A-5', fixes: [{ ...good.fixes[0], release: 'plan9:4' }] },
        { ...good, id: 'A-6', extra: 1 },
        'nonsense',
      ]),
      'f.json',
    );
    expect(r.advisories.map((a) => a.id)).toEqual(['A-1']);
    expect(r.skipped.map((s) => [s.index, s.id])).toEqual([
      [1, 'A-2'],
      [2, 'A-3'],
      [3, 'A-4'],
      [4, 'A-5'],
      [5, 'A-6'],
      [6, null],
    ]);
    expect(r.skipped[1]?.reason).toContain('needs the fixed version');
    expect(r.skipped[2]?.reason).toContain('version "1:"');
    expect(r.skipped[3]?.reason).toContain('unknown distribution');
  });

  it("carries cvssV4 beside v3 when its score is its vector's, and refuses a wrong or unscorable one", () => {
    const vector = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
    const r = parseNativeFeed(
      feed([
        { ...good, cvssScore: 9.8, cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', cvssV4: { vector, score: 9.3 } },
        { ...good, id: 'A-2', cvssV4: { vector, score: 9.8 } },
        { ...good, id: 'A-3', cvssV4: { vector: 'CVSS:4.0/AV:N', score: 9.3 } },
      ]),
      'f.json',
    );
    expect(r.advisories).toHaveLength(1);
    expect(r.advisories[0]).toMatchObject({ cvssScore: 9.8, cvssV4: { vector, score: 9.3 } });
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'cvssV4.score: 9.8 is not the score of its vector (9.3)',
      expect.stringMatching(/^cvssV4\.vector: CVSS v4\.0 vector "CVSS:4\.0\/AV:N": mandatory metric AC is missing; skipped$/),
    ]);
    expect(parseNativeFeed(feed([good]), 'f.json').advisories[0]).not.toHaveProperty('cvssV4');
  });

  it('refuses a broken envelope, naming the file', () => {
    expect(() => parseNativeFeed('{', 'f.json')).toThrow(/^f\.json: not JSON/);
    expect(() => parseNativeFeed('{"source":"Bad Source","advisories":[]}', 'f.json')).toThrow(/f\.json: source/);
    expect(() => parseNativeFeed('{"source":"ok"}', 'f.json')).toThrow(/f\.json: advisories/);
  });
});
