import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBulwarkError } from '../errors.js';
import { formatEvr, formatNevra, formatRpmFileName, parseNevra, parseRpmFileName, parseSourceRpm } from './nevra.js';
import { shared } from '../../../test/shared-data.js';
import { requires } from '../../../test/needs.js';

describe('parseNevra', () => {
  it.each([
    ['bash-5.2.15-3.azl3.x86_64', { name: 'bash', epoch: null, version: '5.2.15', release: '3.azl3', arch: 'x86_64' }],
    ['openssl-1:3.3.5-5.azl3.x86_64', { name: 'openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'x86_64' }],
    ['1:openssl-3.3.5-5.azl3.x86_64', { name: 'openssl', epoch: 1, version: '3.3.5', release: '5.azl3', arch: 'x86_64' }],
    ['perl-Carp-1.54-509.azl3.noarch', { name: 'perl-Carp', epoch: null, version: '1.54', release: '509.azl3', arch: 'noarch' }],
    [
      'python3.12-foo-1.0^git2-1.fc43~bootstrap.aarch64',
      { name: 'python3.12-foo', epoch: null, version: '1.0^git2', release: '1.fc43~bootstrap', arch: 'aarch64' },
    ],
    ['kernel-0:6.6.134.1-2.azl3.x86_64', { name: 'kernel', epoch: 0, version: '6.6.134.1', release: '2.azl3', arch: 'x86_64' }],
    ['gpg-pubkey-3135ce90-5e6fda74.(none)', { name: 'gpg-pubkey', epoch: null, version: '3135ce90', release: '5e6fda74', arch: '(none)' }],
  ])('%s', (input, expected) => {
    const p = parseNevra(input);
    expect(p).toEqual(expected);
    if (!input.startsWith('1:')) expect(formatNevra(p)).toBe(input);
  });

  it.each([
    ['', 'expected name'],
    ['bash', 'expected name'],
    ['bash-5.2.15.x86_64', 'expected name-version-release'],
    ['bash-5.2.15-3.azl3.', 'expected name'],
    ['-5.2.15-3.x86_64', 'expected name-version-release'],
    ['bash-x:5.2-3.x86_64', 'epoch "x" is not a decimal number'],
    ['bash-99999999999:5.2-3.x86_64', 'epoch 99999999999 is larger'],
    ['bash-:5.2-3.x86_64', 'epoch "" is not a decimal number'],
    ['bash-1:-3.x86_64', 'empty version'],
    ['bash-5.2- .x86_64', 'release contains whitespace'],
    ['1:bash-2:5.2-3.x86_64', 'two epochs'],
  ])('refuses %j with a clear reason', (input, why) => {
    let err: unknown;
    try {
      parseNevra(input);
    } catch (e) {
      err = e;
    }
    expect(isBulwarkError(err, 'package.invalid')).toBe(true);
    expect((err as Error).message).toContain(why);
  });

  it('formats the EVR the comparison takes', () => {
    expect(formatEvr({ epoch: null, version: '1.0', release: '2' })).toBe('1.0-2');
    expect(formatEvr({ epoch: 4, version: '5.38.2', release: '509.azl3' })).toBe('4:5.38.2-509.azl3');
  });
});

describe('rpm file names and SOURCERPM', () => {
  it('parses and prints file names, with or without a directory', () => {
    const p = parseRpmFileName('/repo/x86_64/acl-2.3.1-2.azl3.x86_64.rpm');
    expect(p).toEqual({ name: 'acl', epoch: null, version: '2.3.1', release: '2.azl3', arch: 'x86_64' });
    expect(formatRpmFileName({ ...p, epoch: 3 })).toBe('acl-2.3.1-2.azl3.x86_64.rpm');
    expect(() => parseRpmFileName('acl-2.3.1-2.azl3.x86_64')).toThrow(/ends in ".rpm"/);
    expect(() => parseRpmFileName('acl-1:2.3.1-2.azl3.x86_64.rpm')).toThrow(/no epoch/);
  });

  it('parses %{SOURCERPM}', () => {
    expect(parseSourceRpm('glibc-2.38-10.azl3.src.rpm')).toEqual({ name: 'glibc', version: '2.38', release: '10.azl3', arch: 'src' });
    expect(parseSourceRpm('foo-bar-1-1.nosrc.rpm')).toEqual({ name: 'foo-bar', version: '1', release: '1', arch: 'nosrc' });
    expect(parseSourceRpm('(none)')).toBeNull();
    expect(parseSourceRpm('')).toBeNull();
    expect(() => parseSourceRpm('glibc-2.38-10.azl3.x86_64.rpm')).toThrow(/src or nosrc/);
  });
});

describe('every Azure Linux manifest line', () => {
  const manifests = shared('azurelinux', 'manifests');
  const root = manifests.path;
  requires(manifests).it('parses and prints back unchanged', () => {
    let n = 0;
    for (const snap of readdirSync(root)) {
      for (const f of readdirSync(join(root, snap))) {
        for (const line of readFileSync(join(root, snap, f), 'utf8').split('\n')) {
          if (!line.endsWith('.rpm')) continue;
          const p = parseRpmFileName(line);
          expect(formatRpmFileName(p)).toBe(line);
          expect(p.arch).toMatch(/^(x86_64|aarch64|noarch)$/);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(3000);
  });
});
