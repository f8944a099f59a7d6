import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseReleaseId } from '../core/release.js';
import { DISTROS } from './api.js';
import { zeta } from './__fixtures__/zeta/index.js';
import {
  canonicalDistro,
  csafStreamRelease,
  defaultPackageManager,
  elFamily,
  feedCatalog,
  lifecycleFacts,
  osvEcosystemRelease,
  ovalAdvisoryReferenceSources,
  ovalIdDialect,
  ovalNamespaceDistribution,
  purlVendor,
  releaseFamily,
  releaseFromDistTag,
  releaseFromOsReleaseFields,
  releaseFromOvalId,
  releaseFromPlatformComment,
  releaseFromUpdateinfoText,
  rpmDbInSysimage,
  severityWords,
  shippedSourceMap,
  shippedSourceMapReleaseIds,
} from './registry.js';
import type { DistroDescriptor } from './types.js';

const here = import.meta.dirname;
const folders = readdirSync(here).filter((f) => !f.startsWith('_') && statSync(join(here, f)).isDirectory());
const ISO = /^\d{4}-\d{2}-\d{2}$/;

/** The checks every descriptor passes, the real ones and the test fixture alike (Renovate's module shape test). */
function checkShape(d: DistroDescriptor): void {
  expect(d.id).toMatch(/^[a-z][a-z0-9-]*$/);
  expect(d.displayName.trim()).not.toBe('');
  expect(d.urls.length).toBeGreaterThan(0);
  for (const u of d.urls) expect(u).toMatch(/^https:\/\//);
  expect(['rpm', 'deb']).toContain(d.family);
  // os-release: the id itself is an ID it answers to (a host of it is recognised by its own name).
  expect(d.osRelease.ids).toContain(d.id);
  for (const a of d.aliases ?? []) expect(a).toMatch(/^[a-z][a-z0-9-]*$/);
  for (const f of d.lifecycle) {
    expect(parseReleaseId(f.release)?.distro).toBe(d.id);
    for (const date of [f.ga, f.endOfStandardSupport, f.endOfSecuritySupport, f.endOfExtendedSupport]) if (date !== null) expect(date).toMatch(ISO);
    expect(f.sources.length).toBeGreaterThan(0);
    // Every release it has dates for has a package manager and a family.
    expect(['dnf', 'dnf5', 'tdnf', 'apt']).toContain(d.packageManager(parseReleaseId(f.release)?.version ?? ''));
  }
  if (d.family === 'deb') {
    expect(d.packageManager('1')).toBe('apt');
    expect(d.image?.rpmDbSysimageSinceMajor).toBeUndefined();
  }
  for (const s of d.feeds) {
    expect(s.id).toMatch(/^[a-z0-9][a-z0-9._-]*$/);
    expect(s.location).toMatch(/^https:\/\//);
    if (s.release !== null) expect(parseReleaseId(s.release)?.distro).toBe(d.id);
    else expect(s.distribution).toBe(d.id);
  }
  for (const t of d.distTags ?? []) expect(t.tag).toMatch(/^[a-z0-9]+$/);
  // The parser compares reference sources in upper case.
  for (const r of d.oval?.advisoryReferenceSources ?? []) expect(r).toBe(r.toUpperCase());
  for (const re of [d.updateinfoRelease, d.osv?.ecosystem])
    if (re !== undefined) expect(new RegExp(`${re.source}|`).exec('')?.length, `${re.source} has one group: the version`).toBe(2);
  for (const [w, s] of Object.entries(d.severity?.words ?? {})) {
    expect(w).toBe(w.toLowerCase());
    expect(['critical', 'high', 'medium', 'low', 'none']).toContain(s);
  }
  for (const [v, m] of Object.entries(d.sourceMaps ?? {})) {
    expect(d.lifecycle.some((f) => f.release === `${d.id}:${v}`)).toBe(true);
    expect(m.text.startsWith('#SPECS\n')).toBe(true);
  }
}

describe('the distros registry', () => {
  it('lists exactly the folders of src/distros, each index.ts exporting its descriptor under its id', async () => {
    expect(DISTROS.map((d) => d.id).sort()).toEqual([...folders].sort());
    for (const f of folders) {
      const mod = (await import(/* @vite-ignore */ pathToFileURL(join(here, f, 'index.ts')).href)) as Record<string, unknown>;
      expect(mod[f], `${f}/index.ts exports \`${f}\``).toBe(DISTROS.find((d) => d.id === f));
    }
  });

  it.each([...DISTROS, zeta].map((d) => [d.id, d] as const))('%s has the shape of a descriptor', (_id, d) => {
    checkShape(d);
  });

  it('no two distributions share an id, alias, os-release ID, dist tag or feed source id', () => {
    const spellings = DISTROS.flatMap((d) => [d.id, ...(d.aliases ?? [])]);
    expect(new Set(spellings).size).toBe(spellings.length);
    const os = DISTROS.flatMap((d) => d.osRelease.ids);
    expect(new Set(os).size).toBe(os.length);
    const tags = DISTROS.flatMap((d) => (d.distTags ?? []).map((t) => t.tag));
    expect(new Set(tags).size).toBe(tags.length);
    expect(new Set(feedCatalog.map((s) => s.id)).size).toBe(feedCatalog.length);
    expect(new Set(lifecycleFacts.map((f) => f.release)).size).toBe(lifecycleFacts.length);
  });

  it("merges each format's publisher words without a conflict", () => {
    for (const format of ['oval', 'osv', 'csaf-vex', 'updateinfo']) expect(() => severityWords(format)).not.toThrow();
    expect(severityWords('native')).toEqual({});
  });
});

// The answers the rest of Bulwark relied on before the registry (core/release.ts, inventory/
// os-release.ts, executor managerFor, images rpmDbPathFor and sbom, feeds/oval/releases.ts,
// feeds/identity.ts, the osv, csaf-vex and updateinfo parsers): the same, now from descriptors.
describe('what the registry answers', () => {
  it.each([
    ['azurelinux:3.0', 'rpm', 'tdnf', false],
    ['azurelinux:4.0', 'rpm', 'dnf5', true],
    ['mariner:2.0', 'rpm', 'tdnf', false],
    ['cbl-mariner:2.0', 'rpm', 'tdnf', false],
    ['fedora:35', 'rpm', 'dnf', false],
    ['fedora:43', 'rpm', 'dnf5', true],
    ['rhel:9', 'rpm', 'dnf', false],
    ['rhel:10', 'rpm', 'dnf', true],
    ['almalinux:10', 'rpm', 'dnf', true],
    ['rocky:9', 'rpm', 'dnf', false],
    ['centos:10', 'rpm', 'dnf', false],
    ['ol:9', 'rpm', 'dnf', false],
    ['ubuntu:24.04', 'deb', 'apt', false],
    ['debian:12', 'deb', 'apt', false],
    ['gentoo:1', null, null, false],
    ['not a release', null, null, false],
  ] as const)('%s: family %s, manager %s, rpmdb in sysimage %s', (release, family, pm, sysimage) => {
    expect(releaseFamily(release)).toBe(family);
    expect(defaultPackageManager(release)).toBe(pm);
    expect(rpmDbInSysimage(release)).toBe(sysimage);
  });

  it.each([
    [{ ID: 'azurelinux', VERSION_ID: '3.0' }, 'azurelinux:3.0'],
    [{ ID: 'mariner', VERSION_ID: '2.0' }, 'mariner:2.0'],
    [{ ID: 'cbl-mariner', VERSION_ID: '2.0' }, 'cbl-mariner:2.0'],
    [{ ID: 'rhel', VERSION_ID: '9.4' }, 'rhel:9'],
    [{ ID: 'ol', VERSION_ID: '8.10' }, 'ol:8'],
    [{ ID: 'centos', VERSION_ID: '9' }, 'centos:9'],
    [{ ID: 'Fedora', VERSION_ID: '43' }, 'fedora:43'],
    [{ ID: 'ubuntu', VERSION_ID: '24.04', ID_LIKE: 'debian' }, 'ubuntu:24.04'],
    [{ ID: 'pop', VERSION_ID: '22.04', ID_LIKE: 'ubuntu debian' }, 'pop:22.04'],
    [{ ID: 'debian' }, null],
    [{ ID: 'bad id', VERSION_ID: '1' }, null],
  ])('os-release %o → %s', (fields, want) => {
    expect(releaseFromOsReleaseFields(fields)).toBe(want);
  });

  it('reads the publishers’ dialects', () => {
    expect(purlVendor('rhel')).toBe('redhat');
    expect(purlVendor('azurelinux')).toBe('azurelinux');
    expect(purlVendor('cbl-mariner')).toBe('cbl-mariner');
    expect(canonicalDistro('cbl-mariner')).toBe('mariner');
    expect(elFamily).toEqual(['rhel', 'almalinux', 'rocky', 'centos', 'ol']);
    expect(releaseFromDistTag('0:1.20.7-1.azl3')).toBe('azurelinux:3.0');
    expect(releaseFromDistTag('2.4-3.cm1.x')).toBe('mariner:1.0');
    expect(releaseFromDistTag('1.0-1.azl30')).toBeNull();
    expect(releaseFromDistTag('0:2023.05.07-1.cm2.azl3')).toBe('azurelinux:3.0');
    expect(releaseFromOvalId('oval:com.ubuntu.noble:def:1')).toBe('ubuntu:24.04');
    expect(releaseFromOvalId('oval:com.ubuntu.warty:def:1')).toBeNull();
    expect(releaseFromPlatformComment(' Red Hat Enterprise Linux 9 is installed ')).toBe('rhel:9');
    expect(ovalNamespaceDistribution('oval:com.redhat.unaffected:def:1')).toBe('rhel');
    expect(ovalNamespaceDistribution('oval:com.redhat.other:def:1')).toBeNull();
    expect(ovalNamespaceDistribution('oval:org.debian:def:1')).toBe('debian');
    expect([...ovalAdvisoryReferenceSources].sort()).toEqual(['ALSA', 'RHSA', 'USN']);
    expect(ovalIdDialect('oval:com.microsoft.anything:def:1')).toEqual({ packageKind: 'source', epochUnreliable: true });
    expect(ovalIdDialect('oval:com.redhat.rhsa:def:1')).toEqual({ packageKind: 'binary', epochUnreliable: false });
    expect(osvEcosystemRelease('Rocky Linux:9')).toEqual({ release: 'rocky:9', packageKind: 'binary' });
    expect(osvEcosystemRelease('Debian:12')).toEqual({ release: 'debian:12', packageKind: 'source' });
    expect(osvEcosystemRelease('Ubuntu:Pro:16.04:LTS', 'pkg:deb/ubuntu/openssl@1?arch=source&distro=esm-infra/xenial')).toEqual({
      release: 'ubuntu:16.04',
      packageKind: 'source',
      channel: 'Ubuntu Pro (esm-infra)',
    });
    expect(osvEcosystemRelease('Ubuntu:Pro:FIPS:20.04:LTS')).toMatch(/FIPS or real-time kernel/);
    expect(osvEcosystemRelease('PyPI')).toBe('ecosystem "PyPI" is not a distribution Bulwark matches');
    expect(csafStreamRelease('AppStream-9.2.0.Z.EUS', 'cpe:/a:redhat:rhel_eus:9.2::appstream')).toBe('rhel:9.2');
    expect(csafStreamRelease('openshift-4', 'cpe:/a:redhat:openshift:4')).toBeNull();
    expect(releaseFromUpdateinfoText('CentOS Stream 9')).toBe('centos:9');
    expect(releaseFromUpdateinfoText('Oracle Linux 8')).toBe('ol:8');
    expect(shippedSourceMap('cbl-mariner:2.0')).toBe(shippedSourceMap('mariner:2.0'));
    expect(shippedSourceMap('azurelinux:4.0')).toBeNull();
    expect(shippedSourceMapReleaseIds().sort()).toEqual(['azurelinux:3.0', 'cbl-mariner:2.0', 'mariner:2.0']);
  });
});
