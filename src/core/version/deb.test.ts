import { describe, expect, it } from 'vitest';
import { isBulwarkError } from '../errors.js';
import { checkDebVersion, compareDebVersions, parseDebVersion, toByteString } from './deb.js';

describe('compareDebVersions (dpkg verrevcmp)', () => {
  it.each([
    ['1.0', '1.0', 0, 'identical'],
    ['1.0~rc1', '1.0', -1, 'tilde sorts before the end'],
    ['1.0~~', '1.0~', -1, 'two tildes before one'],
    ['1.0', '1.0+dfsg', -1, 'plus after the end'],
    ['1.0a', '1.0+', -1, 'letters before non-letters'],
    ['1.0-1', '1.0-1ubuntu0.1', -1, 'revision compared with the same rules'],
    ['1:0.1', '2.0', 1, 'epoch first'],
    ['0:1.0', '1.0', 0, 'missing epoch is 0'],
    ['1.0', '1.0-0', 0, 'missing revision equals revision "0"'],
    ['1.01', '1.1', 0, 'leading zeros'],
    ['1.10', '1.9', 1, 'numeric runs'],
    ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12', -1, 'Debian security update suffixes'],
    ['1:9.6p1-3ubuntu13.5', '1:9.6p1-3ubuntu13.11', -1, 'Ubuntu revision'],
    ['', '0', -1, "'' is dpkg's blank version, earlier than any real one"],
    ['<unknown>', '', 0, "'<unknown>' is blank too"],
  ])('%j vs %j → %i (%s)', (a, b, want) => {
    expect(compareDebVersions(a, b)).toBe(want);
    expect(compareDebVersions(b, a)).toBe(want === 0 ? 0 : -want);
  });

  it('compares non-ASCII versions by their UTF-8 bytes, as dpkg does', () => {
    // 0xC3 (first byte of é) sorts after letters and before ASCII punctuation in dpkg.
    expect(compareDebVersions('1.0é', '1.0z')).toBe(1);
    expect(compareDebVersions('1.0é', '1.0+')).toBe(-1);
    expect(toByteString('é')).toBe('\xc3\xa9');
  });

  it('throws version.invalid on what dpkg refuses', () => {
    try {
      compareDebVersions('1:', '1');
      expect.unreachable();
    } catch (err) {
      expect(isBulwarkError(err, 'version.invalid')).toBe(true);
      expect((err as Error).message).toMatch(/nothing after colon/);
    }
  });
});

describe('parseDebVersion (dpkg parseversion)', () => {
  it.each([
    ['1:2.30-1ubuntu0.1', { epoch: 1, upstream: '2.30', revision: '1ubuntu0.1' }, null],
    ['2.30', { epoch: 0, upstream: '2.30', revision: '' }, null],
    ['1.0-1-1', { epoch: 0, upstream: '1.0-1', revision: '1' }, null],
    ['  1.0  ', { epoch: 0, upstream: '1.0', revision: '' }, null],
    ['+1:2', { epoch: 1, upstream: '2', revision: '' }, null],
    ['-0:2', { epoch: 0, upstream: '2', revision: '' }, null],
    ['abc', { epoch: 0, upstream: 'abc', revision: '' }, 'version number does not start with digit'],
    ['1_0', { epoch: 0, upstream: '1_0', revision: '' }, 'invalid character in version number'],
    ['1.0-a_b', { epoch: 0, upstream: '1.0', revision: 'a_b' }, 'invalid character in revision number'],
  ])('%j', (s, version, warning) => {
    expect(parseDebVersion(s)).toEqual({ ok: true, version, warning });
  });

  it.each([
    ['', 'version string is empty'],
    ['   ', 'version string is empty'],
    ['1.0 1', 'version string has embedded spaces'],
    [':1.0', 'epoch in version is empty'],
    ['a:1.0', 'epoch in version is empty'],
    ['1a:1.0', 'epoch in version is not number'],
    ['-1:1.0', 'epoch in version is negative'],
    ['2147483648:1', 'epoch in version is too big'],
    ['1:', 'nothing after colon in version number'],
    ['1.0-', 'revision number is empty'],
    ['-1', 'upstream version is empty'],
    ['1:-1', 'upstream version is empty'],
  ])('%j is refused: %s', (s, error) => {
    expect(parseDebVersion(s)).toEqual({ ok: false, error });
  });

  it('checkDebVersion accepts what dpkg compares (blank and warnings) and names the refusal', () => {
    expect(checkDebVersion('')).toBeNull();
    expect(checkDebVersion('abc')).toBeNull();
    expect(checkDebVersion('1:')).toBe('nothing after colon in version number');
    expect(checkDebVersion('2147483647:1')).toBeNull();
  });
});
