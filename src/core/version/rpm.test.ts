import { describe, expect, it } from 'vitest';
import { checkRpmEvr, compareRpmEvr, compareRpmEvrParts, formatRpmEvr, parseRpmEvr, rpmvercmp } from './rpm.js';

// Expected values are librpm's (checked by test/ground-truth.test.ts and the oracle test too);
// these tables say *why* each case matters.
describe('rpmvercmp', () => {
  it.each([
    ['1.0', '1.0', 0, 'identical'],
    ['1.0', '1.00', 0, 'leading zeros are dropped'],
    ['1.01', '1.1', 0, 'leading zeros inside'],
    ['1.10', '1.9', 1, 'numeric, not lexical'],
    ['99999999999999999999999', '999999999999999999999999', -1, 'numbers of any length, no overflow'],
    ['0099999999999999999999999', '99999999999999999999999', 0, 'long numbers with leading zeros'],
    ['1.0a', '1.0', 1, 'a trailing alpha segment is more'],
    ['1.0a', '1.0.1', -1, 'a numeric segment beats an alpha one'],
    ['a', '1', -1, 'letters before digits'],
    ['A', 'a', -1, 'ASCII order between letters'],
    ['1.0~rc1', '1.0', -1, 'tilde sorts before everything, even the end'],
    ['1.0~rc1', '1.0~rc2', -1, 'after the tilde, normal rules'],
    ['1.0~~', '1.0~', -1, 'two tildes before one'],
    ['1.0^', '1.0', 1, 'caret sorts after the end'],
    ['1.0^git1', '1.0.1', -1, 'caret sorts before anything longer'],
    ['1.0^git1', '1.0^git1~pre', 1, 'tilde after caret'],
    ['1.0~rc1^git1', '1.0~rc1', 1, 'caret after tilde'],
    ['1_0', '1.0', 0, 'separators are all alike'],
    ['1..0', '1.0', 0, 'runs of separators count as one'],
    ['1.0.', '1.0', 0, 'trailing separator'],
    ['1.\xc3\xa9', '1', 0, 'non-ASCII is a separator (as bytes >= 0x80 are for librpm)'],
    ['el8_3', 'el8', 1, 'el8_3 is newer than el8 (vuls #1115)'],
    ['1.el7_9', '1.el7.centos', 1, 'dist tag families compare by segment (wazuh #21988)'],
    ['', '', 0, 'empty strings'],
    ['', 'a', -1, 'empty before anything'],
  ])('%j vs %j → %i (%s)', (a, b, want) => {
    expect(rpmvercmp(a, b)).toBe(want);
    expect(rpmvercmp(b, a)).toBe(want === 0 ? 0 : -want);
  });
});

describe('compareRpmEvr (rpmverParse + rpmverCmp)', () => {
  it.each([
    ['1:2.4.62-1.azl3', '0:2.4.62-1.azl3', 1, 'installed epoch 1 is newer than a fix written with epoch 0 (fleet #49485)'],
    ['1:9.0.117-1.azl3', '0:9.0.118-1.azl3', 1, 'epoch wins over version'],
    ['2.4.0-1', '0:2.4.0-1', 0, 'missing epoch is 0'],
    [':2.4.0-1', '0:2.4.0-1', 0, 'empty epoch is 0'],
    ['01:1.0', '1:1.0', 0, 'epoch compared as an rpm version: leading zeros'],
    ['0:2.4.0-1', '2.4.0', 1, 'a missing release sorts first: 2.4.0-1 is not below 2.4.0 (wazuh #21669)'],
    ['3.9.18-1.el9_3', '0:3.9.18-1.el9_3.1', -1, 'el9_3 < el9_3.1 (wazuh #23818)'],
    ['1.0-', '1.0', 1, 'an empty release still counts as present'],
    ['1.0-', '1.0-0', -1, 'empty release before release 0'],
    ['1-2-3', '1-2-4', -1, 'release is after the last dash'],
    ['a:1.0', '0:1.0', -1, 'a non-numeric "epoch" is part of the version, and letters sort first'],
    ['3:10.11.16-1.azl3', '0:10.11.10-1.azl3', 1, "Azure Linux OVAL's 0: epoch vs mariadb's real epoch 3"],
    ['0:1.20.6-1.azl3', '0:1.20.7-1.azl3', -1, 'below the fixed version is less (strictly)'],
    ['0:1.20.7-1.azl3', '0:1.20.7-1.azl3', 0, 'the boundary itself is equal, not less (wazuh #2445)'],
    ['6.6.57.1-10.azl3', '6.6.57.1-7.azl3', 1, 'release numbers numerically'],
    ['2.06~rc1-7.cm2', '2.06-7.cm2', -1, 'tilde in a real version'],
  ])('%j vs %j → %i (%s)', (a, b, want) => {
    expect(compareRpmEvr(a, b)).toBe(want);
    expect(compareRpmEvr(b, a)).toBe(want === 0 ? 0 : -want);
    const pa = parseRpmEvr(a);
    const pb = parseRpmEvr(b);
    if (pa === null || pb === null) throw new Error('parse failed');
    expect(compareRpmEvrParts(pa, pb)).toBe(want);
  });

  it('allocates nothing per comparison: scratch state does not leak between calls', () => {
    // Interleaved calls on different shapes must not see each other's bounds.
    expect(compareRpmEvr('1:1-1', '1')).toBe(1);
    expect(compareRpmEvr('1', '1:1-1')).toBe(-1);
    expect(compareRpmEvr('2-', '2')).toBe(1);
  });
});

describe('parseRpmEvr / formatRpmEvr', () => {
  it.each([
    ['1:2.0-3', { epoch: '1', version: '2.0', release: '3' }],
    ['2.0-3', { epoch: null, version: '2.0', release: '3' }],
    ['2.0', { epoch: null, version: '2.0', release: null }],
    [':2.0', { epoch: '0', version: '2.0', release: null }],
    ['1:', { epoch: '1', version: '', release: null }],
    ['1-2-3', { epoch: null, version: '1-2', release: '3' }],
    ['1.0-', { epoch: null, version: '1.0', release: '' }],
    ['a:1-2', { epoch: null, version: 'a:1', release: '2' }],
    ['0: 1.57.0-1.cm2', { epoch: '0', version: ' 1.57.0', release: '1.cm2' }],
  ])('%j', (s, want) => {
    expect(parseRpmEvr(s)).toEqual(want);
  });

  it('round-trips what it parses, except the implied epoch of ":V"', () => {
    for (const s of ['1:2.0-3', '2.0', '2.0-', '0:1', 'x-y-z']) {
      const p = parseRpmEvr(s);
      expect(p).not.toBeNull();
      if (p) expect(formatRpmEvr(p)).toBe(s);
    }
  });

  it('refuses what librpm cannot parse', () => {
    expect(parseRpmEvr('')).toBeNull();
    expect(checkRpmEvr('')).toBe('empty EVR');
    expect(checkRpmEvr('1\u00002')).toMatch(/NUL/);
    expect(checkRpmEvr('1.0')).toBeNull();
  });
});
