import { describe, expect, it } from 'vitest';
import type { Advisory, Fix } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { installedVersion, matchPackages } from './match.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';

function rpm(name: string, epoch: number | null, version: string, release: string, arch = 'x86_64', sourceName: string | null = name): InstalledPackage {
  return { family: 'rpm', name, epoch, version, release, arch, sourceName, sourceVersion: null };
}

function adv(id: string, fixes: Partial<Fix>[], release = 'azurelinux:3.0'): Advisory {
  return testAdvisory({ source: 's', id, fixes: fixes.map((f) => fixedIn(release, 'p', null, { packageKind: 'binary', ...f })) });
}

function ids(packages: InstalledPackage[], advisories: Advisory[], family: 'rpm' | 'deb' = 'rpm', release = 'azurelinux:3.0'): string[] {
  return matchPackages({ family, release, packages, advisories }).map((m) => `${m.advisoryId}:${m.package}:${m.status}`);
}

describe('matchPackages', () => {
  it('respects the installed epoch against a fixed version with epoch (fleetdm #49485)', () => {
    const p = [rpm('mod_ssl', 1, '2.4.62', '1.azl3')];
    expect(ids(p, [adv('A', [{ package: 'mod_ssl', fixed: '1:2.4.62-1.azl3' }])])).toEqual([]);
    expect(ids(p, [adv('B', [{ package: 'mod_ssl', fixed: '0:2.4.99-1.azl3' }])])).toEqual([]);
    expect(ids(p, [adv('C', [{ package: 'mod_ssl', fixed: '1:2.4.63-1.azl3' }])])).toEqual(['C:mod_ssl:open']);
  });

  it('never reports the fixed version itself (wazuh #2445)', () => {
    expect(ids([rpm('p', null, '1.0', '2')], [adv('A', [{ fixed: '1.0-2' }])])).toEqual([]);
    expect(ids([rpm('p', null, '1.0', '1')], [adv('A', [{ fixed: '1.0-2' }])])).toEqual(['A:p:open']);
  });

  it('compares dist-tag releases as rpm does (wazuh #23818, vuls #1115)', () => {
    expect(ids([rpm('p', null, '3.9.18', '1.el9_3')], [adv('A', [{ fixed: '0:3.9.18-1.el9_3.1' }], 'rhel:9')], 'rpm', 'rhel:9')).toEqual(['A:p:open']);
    expect(ids([rpm('p', null, '2.4.0', '1')], [adv('A', [{ fixed: '2.4.0' }])])).toEqual([]);
  });

  it('applies source-package fixes to every binary of that source, and only to them', () => {
    const p = [rpm('openssl-libs', null, '3.3.0', '2.azl3', 'x86_64', 'openssl'), rpm('openssl', null, '3.3.0', '2.azl3', 'x86_64', 'openssl-other')];
    expect(ids(p, [adv('A', [{ package: 'openssl', packageKind: 'source', fixed: '3.3.0-3.azl3' }])])).toEqual(['A:openssl-libs:open']);
  });

  it('honours arch, release, introduced, lastAffected and statuses', () => {
    const p = [rpm('p', null, '1.0', '1', 'aarch64'), rpm('p', null, '1.0', '1', 'noarch')];
    expect(ids(p, [adv('A', [{ arch: 'x86_64', fixed: '2' }])])).toEqual(['A:p:open']);
    expect(ids(p, [adv('B', [{ fixed: '2' }], 'azurelinux:2.0')])).toEqual([]);
    expect(ids([p[0]!], [adv('C', [{ fixed: '2', introduced: { version: '1.0-1', inclusive: false } }])])).toEqual([]);
    expect(ids([p[0]!], [adv('D', [{ fixed: '2', introduced: { version: '1.0-1', inclusive: true } }])])).toEqual(['D:p:open']);
    expect(ids([p[0]!], [adv('E', [{ status: 'no-fix-yet', lastAffected: '1.0-1' }])])).toEqual(['E:p:no-fix']);
    expect(ids([p[0]!], [adv('F', [{ status: 'will-not-fix', lastAffected: '0.9-1' }])])).toEqual([]);
    expect(ids([p[0]!], [adv('G', [{ status: 'not-affected' }, { status: 'under-investigation' }])])).toEqual([]);
  });

  it('reports one match per advisory, package and arch', () => {
    const p = [rpm('p', null, '1.0', '1')];
    expect(ids(p, [adv('A', [{ fixed: '2' }, { fixed: '3' }, { packageKind: 'source', fixed: '2' }])])).toEqual(['A:p:open']);
  });

  it('uses dpkg rules for deb releases', () => {
    const d: InstalledPackage = {
      family: 'deb',
      name: 'curl',
      epoch: null,
      version: '7.88.1-10+deb12u8',
      release: null,
      arch: 'amd64',
      sourceName: 'curl',
      sourceVersion: null,
    };
    expect(installedVersion(d)).toBe('7.88.1-10+deb12u8');
    expect(ids([d], [adv('A', [{ package: 'curl', fixed: '7.88.1-10+deb12u9' }], 'debian:12')], 'deb', 'debian:12')).toEqual(['A:curl:open']);
    expect(ids([d], [adv('A', [{ package: 'curl', fixed: '7.88.1-10+deb12u8~1' }], 'debian:12')], 'deb', 'debian:12')).toEqual([]);
  });
});

describe('the Azure Linux OVAL epoch correction', () => {
  const advisory = (fixed: string): Advisory => ({
    source: 'azurelinux-3.0-oval',
    id: 'oval:com.microsoft.azurelinux:def:1',
    title: 't',
    description: '',
    severity: 'high',
    cvssScore: null,
    cvssVector: null,
    cves: ['CVE-2024-0001'],
    references: [],
    publishedAt: null,
    updatedAt: null,
    parser: 'oval@4',
    fixes: [
      {
        release: 'azurelinux:3.0',
        package: 'perl',
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed,
        lastAffected: null,
        introduced: null,
        epochUnreliable: true,
      },
    ],
  });
  const perl = (epoch: number | null, release: string): InstalledPackage => ({
    family: 'rpm',
    name: 'perl-Carp',
    epoch,
    version: '5.38.2',
    release,
    arch: 'noarch',
    sourceName: 'perl',
    sourceVersion: null,
  });

  it('compares version-release only when the installed package has an epoch, and says so', () => {
    const [m] = matchPackages({ family: 'rpm', release: 'azurelinux:3.0', packages: [perl(4, '509.azl3')], advisories: [advisory('0:5.38.2-510.azl3')] });
    expect(m).toMatchObject({ package: 'perl-Carp', installed: '4:5.38.2-509.azl3', fixed: '4:5.38.2-510.azl3', status: 'open' });
    expect(m?.reason).toMatch(/writes epoch 0 for perl, whose epoch is 4/);
  });

  it('finds nothing once the package is at the fixed version-release, and needs no correction without an epoch', () => {
    expect(matchPackages({ family: 'rpm', release: 'azurelinux:3.0', packages: [perl(4, '510.azl3')], advisories: [advisory('0:5.38.2-510.azl3')] })).toEqual(
      [],
    );
    const [m] = matchPackages({ family: 'rpm', release: 'azurelinux:3.0', packages: [perl(null, '509.azl3')], advisories: [advisory('0:5.38.2-510.azl3')] });
    expect(m?.reason).toBeNull();
  });

  it('leaves feeds whose epochs are real alone', () => {
    const a = advisory('0:5.38.2-510.azl3');
    a.fixes = a.fixes.map((f) => ({ ...f, epochUnreliable: false }));
    expect(matchPackages({ family: 'rpm', release: 'azurelinux:3.0', packages: [perl(4, '509.azl3')], advisories: [a] })).toEqual([]);
  });
});
