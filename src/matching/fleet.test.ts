import { describe, expect, it } from 'vitest';
import type { Advisory, Fix } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { affectedTargets, BuildMatcher, FleetIndex, judgeTarget, matchFleet } from './fleet.js';
import { indexFixes, matchPackage, matchPackages, type Match } from './match.js';
import type { HostStreams } from './applicability.js';
import { rng } from '../../test/random.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';

const R = 'azurelinux:3.0';
const names = ['openssl', 'curl', 'glibc', 'kernel', 'perl', 'python3', 'bash', 'zlib'];
const pkg = (name: string, minor: number, epoch: number | null, binary = name): InstalledPackage => ({
  family: 'rpm',
  name: binary,
  epoch,
  version: `1.${String(minor)}`,
  release: '1.azl3',
  arch: 'x86_64',
  sourceName: name,
  sourceVersion: null,
});
const advisory = (id: string, fixes: Partial<Fix>[]): Advisory =>
  testAdvisory({ source: 's', id, parser: 't', fixes: fixes.map((f) => fixedIn(R, 'openssl', '0:1.5-1.azl3', f)) });
const key = (m: Match): string => `${m.advisoryId} ${m.package} ${m.installed} ${m.reason ?? ''}`;

describe('fleet matching', () => {
  const rand = rng(7);
  const hosts = new Map<string, InstalledPackage[]>();
  for (let h = 0; h < 300; h++) {
    const ps: InstalledPackage[] = [];
    for (const n of names) if (rand() < 0.8) ps.push(pkg(n, Math.floor(rand() * 8), rand() < 0.1 ? 2 : null, rand() < 0.3 ? `${n}-libs` : n));
    hosts.set(`h${String(h)}`, ps);
  }
  const advisories = names.flatMap((n, i) => [
    advisory(`A-${n}`, [{ package: n, fixed: `0:1.${String(i % 8)}-1.azl3`, epochUnreliable: true }]),
    advisory(`B-${n}`, [{ package: `${n}-libs`, packageKind: 'binary', status: 'no-fix-yet', fixed: null, lastAffected: '0:1.3-1.azl3' }]),
  ]);
  const index = new FleetIndex(R, 'rpm');
  for (const [h, ps] of hosts) index.add(h, ps);

  it('gives each host exactly what matching it alone gives, matching each distinct build once', () => {
    const { byTarget, distinctMatched } = matchFleet(index, advisories);
    expect(distinctMatched).toBeLessThanOrEqual(index.builds.length);
    expect(index.builds.length).toBeLessThan((300 * names.length) / 5);
    for (const [h, ps] of hosts) {
      const alone = matchPackages({ family: 'rpm', release: R, packages: ps, advisories }).map(key).sort();
      expect((byTarget.get(h) ?? []).map(key).sort()).toEqual(alone);
    }
  });

  it('finds the hosts a new advisory affects by the builds it names', () => {
    const fresh = advisory('NEW', [{ package: 'curl', fixed: '0:1.4-1.azl3' }]);
    const hit = affectedTargets(index, [fresh]);
    const expected = [...hosts].filter(([, ps]) => matchPackages({ family: 'rpm', release: R, packages: ps, advisories: [fresh] }).length > 0).map(([h]) => h);
    expect([...hit.keys()].sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(10);
  });

  it("replaces and removes a host's inventory", () => {
    const idx = new FleetIndex(R, 'rpm');
    idx.add('x', [pkg('curl', 0, null)]);
    idx.add('x', [pkg('curl', 9, null)]);
    expect(affectedTargets(idx, [advisory('N', [{ package: 'curl', fixed: '0:1.5-1.azl3' }])]).size).toBe(0);
    idx.remove('x');
    expect(idx.targets.size).toBe(0);
  });
});

describe('fleet matching of an assumed source name (issue #13)', () => {
  it('keeps a build whose source was assumed apart from the same build whose source was given', () => {
    const given = pkg('openssl', 1, null);
    const assumed: InstalledPackage = { ...given, sourceOrigin: 'assumed' };
    const index = new FleetIndex(R, 'rpm');
    index.add('host-given', [given]);
    index.add('host-manifest', [assumed]);
    const { byTarget } = matchFleet(index, [advisory('A', [{}])]);
    expect(byTarget.get('host-given')?.map((m) => m.reason)).toEqual([null]);
    expect(byTarget.get('host-manifest')?.map((m) => m.reason)).toEqual([expect.stringMatching(/^source package assumed to be openssl/) as unknown]);
  });
});

describe('affectedTargets follows the same rules as matching each target', () => {
  it('leaves out a kernel build the target does not run, and matches a build listed twice once', () => {
    const kernel = (minor: number): InstalledPackage => pkg('kernel', minor, null);
    const index = new FleetIndex(R, 'rpm');
    // Runs 1.6: the installed 1.2 waits to be removed and is not exposed.
    index.add('runs-new', [kernel(2), kernel(6)], '1.6-1.azl3');
    // Runs 1.2: exposed.
    index.add('runs-old', [kernel(2), kernel(6)], '1.2-1.azl3.x86_64');
    // Running kernel unknown: both builds judged.
    index.add('unknown', [kernel(2), kernel(6)]);
    const curl = pkg('curl', 1, null);
    index.add('twice', [curl, { ...curl }]);
    const fresh = [advisory('K', [{ package: 'kernel', fixed: '0:1.5-1.azl3' }]), advisory('C', [{ package: 'curl', fixed: '0:1.5-1.azl3' }])];
    const hit = affectedTargets(index, fresh);
    const { byTarget } = matchFleet(index, fresh);
    const expected = new Map([...byTarget].filter(([, ms]) => ms.length > 0).map(([t, ms]) => [t, ms.map(key).sort()]));
    expect(new Map([...hit].map(([t, ms]) => [t, ms.map(key).sort()]))).toEqual(expected);
    expect([...hit.keys()].sort()).toEqual(['runs-old', 'twice', 'unknown']);
    expect(hit.get('twice')).toHaveLength(1);
  });
});

describe('BuildMatcher and judgeTarget', () => {
  const fixes = indexFixes(
    [
      advisory('C', [{ package: 'curl', fixed: '0:1.5-1.azl3' }]),
      advisory('M', [{ package: 'curl', fixed: '0:1.6-1.azl3', module: 'curl:2' }]),
      advisory('Z', [{ package: 'zlib', fixed: '0:1.5-1.azl3' }]),
    ],
    R,
    'rpm',
  );

  it('matches a build for the streams of each call, calls with other streams in between', () => {
    const matcher = new BuildMatcher(fixes);
    const curl = pkg('curl', 1, null);
    const two: HostStreams = { modules: ['curl:2'], channels: null };
    const one: HostStreams = { modules: ['curl:1'], channels: null };
    const unknown: HostStreams = { modules: null, channels: null };
    for (const s of [two, one, two, { ...one }, unknown, two, unknown])
      expect(matcher.matches(1, curl, s).map(key)).toEqual(matchPackage(fixes, curl, s).map(key));
    // Once per build and set of streams.
    expect(matcher.matched).toBe(3);
  });

  it('matches a (name, arch, version) held as several builds once, and each other version and arch', () => {
    const curl = pkg('curl', 1, null);
    const builds = [
      { key: 4, pkg: pkg('zlib', 1, null) },
      { key: 3, pkg: { ...curl, sourceName: 'curl-other' } },
      { key: 2, pkg: pkg('curl', 2, null) },
      { key: 1, pkg: curl },
      { key: 5, pkg: { ...curl, arch: 'aarch64' } },
      { key: 6, pkg: pkg('curl', 2, null) },
    ];
    const { matches, judged } = judgeTarget(new BuildMatcher(fixes), builds, null);
    expect(judged).toHaveLength(6);
    expect(matches.map((m) => `${m.advisoryId} ${m.package} ${m.arch} ${m.installed}`)).toEqual([
      'C curl aarch64 1.1-1.azl3',
      'M curl aarch64 1.1-1.azl3',
      'C curl x86_64 1.1-1.azl3',
      'M curl x86_64 1.1-1.azl3',
      'C curl x86_64 1.2-1.azl3',
      'M curl x86_64 1.2-1.azl3',
      'Z zlib x86_64 1.1-1.azl3',
    ]);
  });
});
