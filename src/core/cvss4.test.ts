import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cvssRating } from './cvss.js';
import { Cvss4Error, cvss4FromFeed, cvss4Macrovector, cvss4Score, parseCvss4 } from './cvss4.js';

const B = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';

// Vectors of FIRST's "CVSS v4.0 Examples" document (first.org/cvss/v4.0/examples) and the
// specification's sample vectors, with the scores FIRST's calculator gives, as a public CVSS
// library's test suite lists them (a few more there exercise E, CR/IR/AR, M* and supplemental
// metrics). The few written with environmental metrics before threat (MAV before CR, E last) are
// put in the specification's order here, which the strict parser requires (the refusal is tested below).
const FIRST_EXAMPLES: [string, number][] = [
  ['CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 7.3],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 7.7],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U', 5.2],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N', 8.3],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L', 8.1],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N', 4.6],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N', 5.1],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N', 6.9],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:N/SA:N', 5.9],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 9.4],
  ['CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N/S:P/V:D', 8.3],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N/E:A', 8.7],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:A', 10],
  [`${B}/E:A`, 9.3],
  ['CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H', 6.4],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/R:I', 9.3],
  ['CVSS:4.0/AV:L/AC:L/AT:P/PR:H/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/R:I', 8.7],
  ['CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 8.6],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 7.1],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 8.2],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L', 8.7],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L/E:U', 6.6],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N', 5.1],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 7.7],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N', 8.3],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/E:U', 5.6],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
  ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A', 9.2],
  ['CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 5.4],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 8.7],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 6.9],
  [B, 9.3],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N', 6.9],
  ['CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P', 8.5],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/S:P/AU:Y/V:C/RE:L', 9.4],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:L/IR:H/AR:L/MAV:L/MAC:H/MAT:N/MPR:N/MUI:N/MVC:N/MVI:H/MVA:L/MSC:N/MSI:S/MSA:L', 7.0],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:L/IR:H/AR:H/MAV:A/MAC:H/MAT:N/MPR:L/MUI:N/MVC:L/MVI:H/MVA:H/MSC:L/MSI:S/MSA:S', 7.4],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:M/IR:H/AR:M/MAV:N/MAC:H/MAT:N/MPR:L/MUI:N/MVC:H/MVI:H/MVA:H/MSC:H/MSI:S/MSA:H', 8.7],
  ['CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/S:P', 8.6],
  ['CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/MSI:S/S:P', 9.7],
  ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N/V:C', 8.7],
];

describe('cvss4Score', () => {
  it.each(FIRST_EXAMPLES)('FIRST example %s → %s', (v, score) => {
    expect(cvss4Score(v)).toBe(score);
  });

  // 320 vectors over every EQ class, threat, CR/IR/AR and supplemental values (see the file's header).
  const lines = readFileSync(join(import.meta.dirname, '__fixtures__', 'cvss4-vectors.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  it('scores the published test vectors', () => {
    expect(lines.length).toBe(320);
    const wrong = lines.flatMap((l) => {
      const [v = '', s = ''] = l.split(' ');
      const got = cvss4Score(v);
      return got === Number(s) ? [] : [`${v}: ${got} not ${s}`];
    });
    expect(wrong).toEqual([]);
  });

  it('is 0 when nothing is impacted, whatever else is stated', () => {
    expect(cvss4Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N/E:A/CR:H')).toBe(0);
  });

  it('lets a modified metric replace its base metric, and X mean "as the base"', () => {
    expect(cvss4Score(`${B}/MAV:X/MVC:X`)).toBe(9.3);
    expect(cvss4Score(`${B}/MAV:P`)).toBe(cvss4Score(B.replace('AV:N', 'AV:P')));
  });

  it('puts vectors in their macrovector', () => {
    expect(cvss4Macrovector(parseCvss4(B))).toBe('000200');
    expect(cvss4Macrovector(parseCvss4(`${B}/E:U/CR:L/IR:L/AR:L`))).toBe('000221');
    expect(cvss4Macrovector(parseCvss4('CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:L/VA:L/SC:L/SI:L/SA:L/MSA:S'))).toBe('212001');
  });
});

describe('parseCvss4', () => {
  it('keeps the metrics a vector states, supplemental ones too', () => {
    const p = parseCvss4(`${B}/E:P/S:P/U:Amber`);
    expect(p.metrics.get('VC')).toBe('H');
    expect(p.metrics.get('U')).toBe('Amber');
    expect(p.metrics.has('CR')).toBe(false);
  });

  it.each([
    ['AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', /start with "CVSS:4\.0\/"/],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /start with "CVSS:4\.0\/"/],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N', /mandatory metric SA is missing/],
    ['CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', /mandatory metric AT is missing before PR/],
    ['CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', /mandatory metric AV is missing before AC/],
    [B.replace('AV:N', 'AV:F'), /metric AV has value "F"/],
    [`${B}/SI:S`, /metric SI is given twice/],
    [`${B}/MAV:A/CR:H`, /metric CR is out of order/],
    [`${B}/E:A/E:U`, /metric E is given twice/],
    [`${B}/XX:A`, /unknown metric "XX"/],
    [`${B}/`, /unknown metric ""/],
    [`${B}/U:clear`, /metric U has value "clear"/],
    [`${B}/E`, /metric E has value ""/],
    [B.replace('SI:N', 'SI:S'), /metric SI has value "S"/],
  ])('refuses %s', (v, message) => {
    expect(() => parseCvss4(v)).toThrow(Cvss4Error);
    expect(() => parseCvss4(v)).toThrow(message);
    expect(cvss4FromFeed(v, null)).toEqual({ rating: null, problem: expect.stringMatching(message) as string });
  });

  it("scores a feed's vector, and says when the feed states another score for a base-only vector", () => {
    expect(cvss4FromFeed(` ${B} `, null)).toEqual({ rating: { vector: B, score: 9.3 }, problem: null });
    expect(cvss4FromFeed(B, 9.3)).toEqual({ rating: { vector: B, score: 9.3 }, problem: null });
    expect(cvss4FromFeed(B, 8.8)).toEqual({ rating: { vector: B, score: 9.3 }, problem: `CVSS v4.0 score 8.8 stated for ${B}, whose score is 9.3; kept 9.3` });
    // With threat metrics the vector's score is CVSS-BT, which may differ from a stated base score.
    expect(cvss4FromFeed(`${B}/E:U`, 9.3)).toEqual({ rating: { vector: `${B}/E:U`, score: 8.1 }, problem: null });
  });
});

// Specification §5 "Qualitative Severity Rating Scale", the same bands as v3.
describe('severity bands of v4 scores', () => {
  it.each([
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0, 'none'],
    ['CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N', 1, 'low'],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U', 5.2, 'medium'],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', 7.1, 'high'],
    [B, 9.3, 'critical'],
  ] as const)('%s → %s (%s)', (v, score, rating) => {
    expect(cvss4Score(v)).toBe(score);
    expect(cvssRating(score)).toBe(rating);
  });
});
