import { describe, expect, it } from 'vitest';
import type { InstalledPackage } from '../core/target.js';
import { learnedFromClaims, resolveSourceNames, shippedSourceMapReleases } from './source-names.js';

const rpm = (name: string, version: string, release: string, sourceName: string | null = null): InstalledPackage => ({
  family: 'rpm',
  name,
  epoch: null,
  version,
  release,
  arch: 'x86_64',
  sourceName,
  sourceVersion: null,
});

describe('source names (issue #13)', () => {
  it('keeps a given name, else takes a repository, a learned name, the shipped map, in that order, else assumes the binary name', () => {
    const packages = [
      rpm('bash', '5.2.15', '3.azl3', 'bash'),
      rpm('python3-libs', '3.12.9', '1.azl3'),
      rpm('perl-Pod-Escapes', '1.07', '443.azl3'),
      rpm('expat-libs', '2.6.2', '1.azl3'),
      rpm('no-such-binary', '1.0', '1.azl3'),
    ];
    const r = resolveSourceNames(packages, 'azurelinux:3.0', {
      repository: (p) => (p.name === 'python3-libs' && p.release === '1.azl3' ? 'python3' : null),
      learned: (name) => (name === 'perl-Pod-Escapes' ? 'perl' : name === 'python3-libs' ? 'learned-wrong' : null),
    });
    expect(r.packages.map((p) => [p.name, p.sourceName, p.sourceOrigin])).toEqual([
      ['bash', 'bash', 'given'],
      ['python3-libs', 'python3', 'repository'],
      ['perl-Pod-Escapes', 'perl', 'learned'],
      ['expat-libs', 'expat', 'shipped'],
      ['no-such-binary', 'no-such-binary', 'assumed'],
    ]);
    expect(r.counts).toEqual({ given: 1, repository: 1, learned: 1, shipped: 1, assumed: 1 });
    // Nothing dropped, nothing reordered.
    expect(r.packages).toHaveLength(packages.length);
  });

  // One host's report must not change every other host's verdict: a learned name may choose
  // among the specs the shipped map lists for a binary, and fill its gaps, but not overrule it.
  it.each([
    ['openssl', '3.3.0', '2.azl3', 'zzz', 'openssl', 'shipped'],
    ['curl-libs', '8.8.0', '1.azl3', 'expat', 'curl', 'shipped'],
    ['curl-debuginfo', '8.8.0', '1.azl3', 'zzz', 'curl', 'shipped'],
    ['perl-Pod-Escapes', '1.07', '443.azl3', 'perl', 'perl', 'learned'],
    ['bw-agent-libs', '1.0', '1.azl3', 'bw-agent', 'bw-agent', 'learned'],
  ])('a learned source of %s-%s-%s saying %s gives %s (%s)', (name, version, release, learned, source, origin) => {
    const r = resolveSourceNames([rpm(name, version, release)], 'azurelinux:3.0', { learned: (n) => (n === name ? learned : null) });
    expect([r.packages[0]?.sourceName, r.packages[0]?.sourceOrigin]).toEqual([source, origin]);
  });

  it.each([
    [[['openssl', 2]], 'openssl'],
    [[['openssl', 5]], 'openssl'],
    [[['zzz', 1]], null],
    [
      [
        ['openssl', 5],
        ['zzz', 1],
      ],
      null,
    ],
    [[], null],
  ] as [[string, number][], string | null][])('learned from the claims %j: %s (two targets at least, and no dissent)', (claims, source) => {
    expect(learnedFromClaims(new Map(claims))).toBe(source);
  });

  it.each([
    // rpm's own debug packages, which no spec lists
    ['curl-debuginfo', '8.8.0', '1.azl3', 'curl'],
    ['curl-libs-debuginfo', '8.8.0', '1.azl3', 'curl'],
    ['curl-debugsource', '8.8.0', '1.azl3', 'curl'],
    // listed by two specs: the one whose release the binary carries wins (perl builds it)
    ['perl-Pod-Escapes', '1.07', '509.azl3', 'perl'],
    ['perl-Pod-Escapes', '1.07', '443.azl3', 'perl-Pod-Escapes'],
    // a sub-package named unlike its source
    ['libacl', '2.3.1', '2.azl3', 'acl'],
  ])('shipped azurelinux:3.0 map: %s-%s-%s is built from %s', (name, version, release, source) => {
    expect(resolveSourceNames([rpm(name, version, release)], 'azurelinux:3.0').packages[0]?.sourceName).toBe(source);
  });

  it('has a shipped map for Azure Linux 3.0 and CBL-Mariner 2.0 only; other releases assume', () => {
    expect(shippedSourceMapReleases().sort()).toEqual(['azurelinux:3.0', 'cbl-mariner:2.0', 'mariner:2.0']);
    expect(resolveSourceNames([rpm('bpftool', '5.15.186.1', '1.cm2')], 'mariner:2.0').packages[0]?.sourceName).toBe('kernel');
    expect(resolveSourceNames([rpm('expat-libs', '2.5.0', '1.fc39')], 'fedora:39').counts).toEqual({
      given: 0,
      repository: 0,
      learned: 0,
      shipped: 0,
      assumed: 1,
    });
  });

  it('leaves deb packages as dpkg gave them', () => {
    const deb: InstalledPackage = {
      family: 'deb',
      name: 'libssl3',
      epoch: null,
      version: '3.0.15-1',
      release: null,
      arch: 'amd64',
      sourceName: 'openssl',
      sourceVersion: '3.0.15-1',
    };
    expect(resolveSourceNames([deb], 'debian:12').packages).toEqual([{ ...deb, sourceOrigin: 'given' }]);
  });
});
