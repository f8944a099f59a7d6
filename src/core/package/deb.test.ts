import { describe, expect, it } from 'vitest';
import { DPKG_QUERY_FORMAT, isValidDebPackageName, parseDebSourceField, parseDpkgQueryLine } from './deb.js';

describe('Debian package fields', () => {
  it.each([
    ['libssl3t64', true],
    ['g++', true],
    ['libstdc++6', true],
    ['a', false],
    ['Foo', false],
    ['-foo', false],
    ['foo_bar', false],
    ['', false],
  ])('package name %j valid: %s', (name, ok) => {
    expect(isValidDebPackageName(name)).toBe(ok);
  });

  it('parses Source fields', () => {
    expect(parseDebSourceField('openssl')).toEqual({ name: 'openssl', version: null });
    expect(parseDebSourceField('openssl (3.0.15-1~deb12u1)')).toEqual({ name: 'openssl', version: '3.0.15-1~deb12u1' });
    expect(() => parseDebSourceField('openssl (3.0 15)')).toThrow(/Source field/);
    expect(() => parseDebSourceField('Open_SSL')).toThrow(/not a valid package name/);
    expect(() => parseDebSourceField('openssl (a:1)')).toThrow(/Source field/);
  });

  it('parses dpkg-query lines by field count', () => {
    expect(DPKG_QUERY_FORMAT.split('\\t')).toHaveLength(6);
    expect(parseDpkgQueryLine('libc6:amd64\t2.36-9+deb12u10\tamd64\tglibc\t2.36-9+deb12u10\tii ')).toEqual({
      name: 'libc6',
      version: '2.36-9+deb12u10',
      arch: 'amd64',
      sourceName: 'glibc',
      sourceVersion: '2.36-9+deb12u10',
      status: 'ii ',
      installed: true,
    });
    const rc = parseDpkgQueryLine('oldpkg\t1.0-1\tall\t\t\trc ');
    expect(rc.installed).toBe(false);
    expect(rc.sourceName).toBe('oldpkg');
    expect(rc.sourceVersion).toBe('1.0-1');
    expect(() => parseDpkgQueryLine('curl\t1.0')).toThrow(/expected 6 tab-separated fields, got 2/);
    expect(() => parseDpkgQueryLine('curl\t\tamd64\tcurl\t\tii ')).toThrow(/empty version/);
    expect(() => parseDpkgQueryLine('curl\t1.0:x\tamd64\tcurl\t\tii ')).toThrow(/dpkg-query line/);
  });
});
