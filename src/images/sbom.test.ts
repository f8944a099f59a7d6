import { describe, expect, it } from 'vitest';
import type { InstalledPackage } from '../core/target.js';
import { parseInventory } from '../inventory/imports.js';
import { parity } from './parity.js';
import { cycloneDx, packagePurl, spdxDocument, spdxLicense, type SbomPackage } from './sbom.js';

const rpm = (
  name: string,
  epoch: number | null,
  version: string,
  release: string,
  arch: string,
  sourceRpm: string | null,
  license: string | null,
): SbomPackage => ({
  family: 'rpm',
  name,
  epoch,
  version,
  release,
  arch,
  sourceName: sourceRpm === null ? null : sourceRpm.replace(/-[^-]+-[^-]+\.src\.rpm$/, ''),
  sourceVersion: null,
  license,
  sourceRpm,
});
const PKGS: SbomPackage[] = [
  rpm('openssl-libs', 1, '3.3.5', '5.azl3', 'x86_64', 'openssl-3.3.5-5.azl3.src.rpm', 'Apache-2.0'),
  rpm('perl-Carp', 0, '1.54', '509.azl3', 'noarch', 'perl-5.38.2-509.azl3.src.rpm', 'GPL-1.0-or-later OR Artistic-1.0-Perl'),
  rpm('gpg-pubkey', null, '3135ce90', '5e6fda74', '(none)', null, 'pubkey'),
  rpm('tzdata', null, '2026a', '1.azl3', 'noarch', 'tzdata-2026a-1.azl3.src.rpm', 'Public Domain'),
];
const SUBJECT = { name: 'azl3-base', version: '7', type: 'container' as const, release: 'azurelinux:3.0', digest: `sha256:${'ab'.repeat(32)}` };
const CTX = { created: '2026-11-25T10:00:00.000Z', uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', tool: { name: 'bulwark', version: '0.1.0' } };

describe('SBOMs', () => {
  it('names rpm packages by purl with the epoch as a qualifier and the source rpm as upstream', () => {
    expect(packagePurl(PKGS[0] as SbomPackage, 'azurelinux:3.0')).toBe(
      'pkg:rpm/azurelinux/openssl-libs@3.3.5-5.azl3?arch=x86_64&distro=azurelinux-3.0&epoch=1&upstream=openssl-3.3.5-5.azl3.src.rpm',
    );
    expect(packagePurl(PKGS[1] as SbomPackage, 'rhel:9')).toBe(
      'pkg:rpm/redhat/perl-Carp@1.54-509.azl3?arch=noarch&distro=rhel-9&upstream=perl-5.38.2-509.azl3.src.rpm',
    );
    const deb: SbomPackage = {
      family: 'deb',
      name: 'libssl3',
      epoch: null,
      version: '3.0.15-1~deb12u1',
      release: null,
      arch: 'amd64',
      sourceName: 'openssl',
      sourceVersion: null,
      license: null,
      sourceRpm: null,
    };
    expect(packagePurl(deb, 'debian:12')).toBe('pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl');
  });

  it.each([
    ['Apache-2.0', 'Apache-2.0'],
    ['GPL-1.0-or-later OR Artistic-1.0-Perl', 'GPL-1.0-or-later OR Artistic-1.0-Perl'],
    ['GPLv2+', null],
    ['Public Domain', null],
    ['(none)', null],
  ])('the license %j is given as an SPDX expression only when it is one', (text, want) => {
    expect(spdxLicense(text)).toBe(want);
  });

  it('reads back through the SBOM import as the same packages (epochs, arches, source names)', () => {
    const key = (p: InstalledPackage): string => `${p.name} ${String(p.epoch ?? 0)}:${p.version}-${p.release ?? ''} ${p.arch} ${p.sourceName ?? '-'}`;
    const want = PKGS.map(key).sort();
    for (const [doc, file] of [
      [cycloneDx(SUBJECT, PKGS, CTX), 'x.cdx.json'],
      [spdxDocument(SUBJECT, PKGS, CTX), 'x.spdx.json'],
    ] as const) {
      const inv = parseInventory(JSON.stringify(doc), file);
      expect(inv.packages.map(key).sort(), file).toEqual(want);
    }
  });

  it('keeps licenses that are not SPDX expressions as text, and SPDX ids unique and valid', () => {
    const cdx = cycloneDx(SUBJECT, PKGS, CTX) as {
      components: { name: string; licenses?: unknown[] }[];
      metadata: { component: { type: string; hashes: unknown[] } };
    };
    expect(cdx.components.find((c) => c.name === 'tzdata')?.licenses).toEqual([{ license: { name: 'Public Domain' } }]);
    expect(cdx.metadata.component).toMatchObject({ type: 'container', hashes: [{ alg: 'SHA-256', content: 'ab'.repeat(32) }] });
    const spdx = spdxDocument(SUBJECT, PKGS, CTX) as {
      packages: { SPDXID: string; licenseDeclared: string; licenseComments?: string }[];
      creationInfo: { created: string };
    };
    expect(spdx.creationInfo.created).toBe('2026-11-25T10:00:00Z');
    for (const p of spdx.packages) expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(new Set(spdx.packages.map((p) => p.SPDXID)).size).toBe(spdx.packages.length);
    expect(spdx.packages.find((p) => p.SPDXID.includes('tzdata'))).toMatchObject({
      licenseDeclared: 'NOASSERTION',
      licenseComments: 'as packaged: Public Domain',
    });
  });

  it("declares every LicenseRef its packages use (SPDX 2.3 §10.1), with the packages' own words as its text; a DocumentRef license is NOASSERTION", () => {
    const refs = [
      rpm('fonts', 0, '1', '1', 'noarch', null, 'OFL-1.1 AND LicenseRef-Fedora-Public-Domain'),
      rpm('tzdata', 0, '2026a', '1', 'noarch', null, 'LicenseRef-Fedora-Public-Domain'),
      rpm('bsdtool', 0, '1', '1', 'x86_64', null, '(MIT OR LicenseRef-Callaway-BSD) AND GPL-2.0-or-later WITH Classpath-exception-2.0'),
      rpm('elsewhere', 0, '1', '1', 'x86_64', null, 'MIT AND DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2'),
    ];
    const doc = spdxDocument(SUBJECT, [...PKGS, ...refs], CTX) as {
      packages: { name: string; licenseDeclared: string; licenseConcluded: string; licenseComments?: string }[];
      hasExtractedLicensingInfos?: { licenseId: string; extractedText: string; name: string }[];
    };
    const used = new Set(
      doc.packages
        .flatMap((p) => [p.licenseDeclared, p.licenseConcluded])
        .flatMap((l) => l.match(/(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+/g) ?? []),
    );
    const declared = (doc.hasExtractedLicensingInfos ?? []).map((e) => e.licenseId);
    expect([...used].sort()).toEqual(declared);
    expect(doc.hasExtractedLicensingInfos).toEqual([
      {
        licenseId: 'LicenseRef-Callaway-BSD',
        extractedText: '(MIT OR LicenseRef-Callaway-BSD) AND GPL-2.0-or-later WITH Classpath-exception-2.0',
        name: 'Callaway-BSD',
        comment: expect.any(String) as string,
      },
      {
        licenseId: 'LicenseRef-Fedora-Public-Domain',
        extractedText: 'OFL-1.1 AND LicenseRef-Fedora-Public-Domain\nLicenseRef-Fedora-Public-Domain',
        name: 'Fedora-Public-Domain',
        comment: expect.any(String) as string,
      },
    ]);
    expect(doc.packages.find((p) => p.name === 'elsewhere')).toMatchObject({
      licenseDeclared: 'NOASSERTION',
      licenseComments: 'as packaged: MIT AND DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2',
    });
    // Without a LicenseRef, no empty list.
    expect(spdxDocument(SUBJECT, PKGS, CTX)).not.toHaveProperty('hasExtractedLicensingInfos');
  });

  it('uses only values SPDX 2.3 defines for purposes, references and relationships (checked once against the official schema, spdx/spdx-spec support/2.3)', () => {
    // SPDX 2.3 §7.24, §7.21, §11.1: the enumerations as the specification spells them (underscores).
    const purposes = [
      'APPLICATION',
      'FRAMEWORK',
      'LIBRARY',
      'CONTAINER',
      'OPERATING_SYSTEM',
      'DEVICE',
      'FIRMWARE',
      'SOURCE',
      'ARCHIVE',
      'FILE',
      'INSTALL',
      'OTHER',
    ];
    for (const type of ['container', 'wsl', 'vm', 'bare-metal'] as const) {
      const doc = spdxDocument({ ...SUBJECT, type }, PKGS, CTX) as {
        packages: { primaryPackagePurpose: string; externalRefs?: { referenceCategory: string; referenceType: string }[] }[];
        relationships: { relationshipType: string }[];
      };
      for (const p of doc.packages) expect(purposes).toContain(p.primaryPackagePurpose);
      for (const r of doc.packages.flatMap((p) => p.externalRefs ?? [])) expect([r.referenceCategory, r.referenceType]).toEqual(['PACKAGE-MANAGER', 'purl']);
      for (const r of doc.relationships) expect(['DESCRIBES', 'CONTAINS']).toContain(r.relationshipType);
    }
    expect((spdxDocument({ ...SUBJECT, type: 'wsl' }, [], CTX) as { packages: { primaryPackagePurpose: string }[] }).packages[0]?.primaryPackagePurpose).toBe(
      'OPERATING_SYSTEM',
    );
  });
});

describe('parity', () => {
  const p = (name: string, evr: string, arch = 'x86_64'): InstalledPackage => {
    const [epoch, rest] = evr.split(':') as [string, string];
    const dash = rest.lastIndexOf('-');
    return {
      family: 'rpm',
      name,
      epoch: Number(epoch),
      version: rest.slice(0, dash),
      release: rest.slice(dash + 1),
      arch,
      sourceName: null,
      sourceVersion: null,
    };
  };

  it('compares installonly kernels as a set of builds, and an identical side as no difference', () => {
    const image = [p('kernel', '0:6.6.1-1.azl3'), p('bash', '0:5.2-3.azl3')];
    const host = [p('kernel', '0:6.6.1-1.azl3'), p('kernel', '0:6.6.9-1.azl3'), p('bash', '0:5.2-3.azl3')];
    const r = parity([
      { label: 'image', packages: image },
      { label: 'host', packages: host },
      { label: 'same', packages: [...image].reverse() },
    ]);
    expect(r.rows).toEqual([{ package: 'kernel', builds: ['0:6.6.1-1.azl3.x86_64', '0:6.6.1-1.azl3.x86_64, 0:6.6.9-1.azl3.x86_64', '0:6.6.1-1.azl3.x86_64'] }]);
    expect(r.summary.map((s) => [s.label, s.same, s.different, s.missing, s.extra])).toEqual([
      ['image', 2, 0, 0, 0],
      ['host', 1, 1, 0, 0],
      ['same', 2, 0, 0, 0],
    ]);
  });
});
