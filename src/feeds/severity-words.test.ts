import { describe, expect, it } from 'vitest';
import { SEVERITY_WORDS as CSAF } from './csaf-vex/parser.js';
import { SEVERITY_WORDS as OSV } from './osv/parser.js';
import { SEVERITY_WORDS as OVAL } from './oval/parser.js';
import { SEVERITY_WORDS as UPDATEINFO } from './updateinfo/parser.js';
import { CVSS_NONE, CVSS_RATINGS, mergeVocabularies, severityFromWord } from '../core/severity.js';

describe('severityFromWord', () => {
  const words = mergeVocabularies(CVSS_RATINGS, { important: 'high' });
  it.each([
    ['Important', 'high'],
    ['CRITICAL', 'critical'],
    ['low', 'low'],
    ['negligible', null],
    ['none', null],
    [' high', null],
    ['toString', null],
    ['__proto__', null],
    [null, null],
    [undefined, null],
  ] as const)('%s → %s', (word, want) => {
    expect(severityFromWord(word, words)).toBe(want);
  });

  it('refuses two vocabularies that mean a word differently', () => {
    expect(() => mergeVocabularies(CVSS_RATINGS, { high: 'critical' })).toThrow(/"high" is both high and critical/);
    expect(mergeVocabularies(CVSS_RATINGS, CVSS_NONE, { high: 'high' })).toEqual({ ...CVSS_RATINGS, none: 'none' });
  });
});

// Each format's words, exactly as its parser's own switch mapped them before the normaliser was
// shared (issue #19: the same results, from vocabularies the distributions' descriptors hold).
describe("each feed format's severity words are its parser's former ones, no more, no fewer", () => {
  it.each([
    ['csaf-vex', CSAF, { critical: 'critical', important: 'high', high: 'high', moderate: 'medium', medium: 'medium', low: 'low' }],
    [
      'updateinfo',
      UPDATEINFO,
      { critical: 'critical', urgent: 'critical', important: 'high', high: 'high', moderate: 'medium', medium: 'medium', low: 'low', none: 'none' },
    ],
    ['osv', OSV, { critical: 'critical', high: 'high', important: 'high', medium: 'medium', moderate: 'medium', low: 'low', negligible: 'low' }],
    [
      'oval',
      OVAL,
      { critical: 'critical', important: 'high', high: 'high', moderate: 'medium', medium: 'medium', low: 'low', negligible: 'low', none: 'none' },
    ],
  ])('%s', (_format, words, before) => {
    expect({ ...words }).toEqual(before);
  });
});
