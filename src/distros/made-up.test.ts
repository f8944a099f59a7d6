import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { Advisory } from '../core/advisory.js';
import { managerFor } from '../executor/registry.js';
import { catalog } from '../feeds/catalog.js';
import { parseUpdateinfo, releaseFromText } from '../feeds/updateinfo/parser.js';
import { rpmDbPathFor } from '../images/build.js';
import { packagePurl } from '../images/sbom.js';
import { releaseFromPackages } from '../inventory/imports.js';
import { parseOsRelease, releaseFromOsRelease } from '../inventory/os-release.js';
import { lifecycleStatus } from '../lifecycle/catalog.js';
import { releaseFamily } from './registry.js';

// Issue #19's "done when": adding a distribution touches only its folder and the registry line.
// The folder is a fixture shaped like a real one (src/distros/__fixtures__/zeta/index.ts); the
// registry line is api.ts's list, which this file replaces with the real list plus Zeta, as the
// one added line would. Nothing else is changed: the modules below are Bulwark's own, unmocked.
vi.mock('./api.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./api.js')>();
  const { zeta } = await import('./__fixtures__/zeta/index.js');
  return { DISTROS: [...real.DISTROS, zeta] };
});

describe('a made-up distribution added as one folder and one registry line', () => {
  it('is recognised from its os-release (its own ID, cut to the major)', () => {
    const fields = parseOsRelease('NAME="Zeta Linux"\nID=zetaos\nID_LIKE=fedora\nVERSION_ID="7.3"\n');
    expect(releaseFromOsRelease(fields)).toBe('zeta:7');
    expect(releaseFamily('zeta:7')).toBe('rpm');
  });

  it('has its lifecycle', () => {
    const s = lifecycleStatus('zeta:7', new Date('2026-06-01T00:00:00Z'));
    expect(s.state).toBe('security-only');
    expect(s.facts?.name).toBe('Zeta Linux 7');
    expect(lifecycleStatus('zeta:8', new Date('2026-01-01T00:00:00Z')).state).toBe('preview');
    expect(lifecycleStatus('zeta:6', new Date('2026-01-01T00:00:00Z')).state).toBe('unknown');
  });

  it('has its package manager and image facts', () => {
    expect(managerFor('zeta:7')).toBe('tdnf');
    expect(managerFor('zeta:8')).toBe('dnf');
    expect(rpmDbPathFor('zeta:7')).toBe('/var/lib/rpm');
    expect(rpmDbPathFor('zeta:8')).toBe('/usr/lib/sysimage/rpm');
    const purl = packagePurl(
      {
        family: 'rpm',
        name: 'bash',
        epoch: 0,
        version: '5.2',
        release: '1.zt7',
        arch: 'x86_64',
        sourceRpm: null,
        sourceName: null,
        sourceVersion: null,
        sourceOrigin: 'assumed',
        license: null,
      },
      'zeta:7',
    );
    expect(purl).toBe('pkg:rpm/zeta/bash@5.2-1.zt7?arch=x86_64&distro=zeta-7');
  });

  it('has its feed source, updateinfo release text and dist tags', () => {
    expect(catalog.find((s) => s.id === 'zeta-7-updateinfo')?.release).toBe('zeta:7');
    expect(releaseFromText('Zeta Linux 7')).toBe('zeta:7');
    const pkgs = ['bash', 'glibc'].map((name) => ({ name, epoch: 0, version: '1', release: '1.zt7', arch: 'x86_64', sourceName: null }));
    expect(releaseFromPackages(pkgs as unknown as Parameters<typeof releaseFromPackages>[0])).toBe('zeta:7');
  });

  it("reads its publisher's updateinfo: its release text, its own severity word, its dist tag", async () => {
    const xml = `<updates><update type="security"><id>ZLSA-2026:1</id><title>t</title><release>Zeta Linux 7</release><severity>Severe</severity>
      <pkglist><collection><package name="bash" version="5.2" release="2.zt7" epoch="0" arch="x86_64"/></collection></pkglist></update></updates>`;
    const facts: unknown[] = [];
    const out: Advisory[] = [];
    for await (const a of parseUpdateinfo(Readable.from([Buffer.from(xml)]), {
      source: 'zeta-7-updateinfo',
      name: 'updateinfo.xml',
      warn: () => {},
      identity: (f) => facts.push(f),
    }))
      out.push(a);
    expect(out.map((a) => [a.severity, a.fixes.map((f) => `${f.release} ${f.package} ${f.fixed ?? ''}`)])).toEqual([['critical', ['zeta:7 bash 0:5.2-2.zt7']]]);
    expect(facts).toContainEqual(expect.objectContaining({ distribution: 'zeta', release: 'zeta:7' }));
  });

  it('leaves the real distributions as they were', () => {
    expect(releaseFromOsRelease({ ID: 'rhel', VERSION_ID: '9.4' })).toBe('rhel:9');
    expect(managerFor('azurelinux:3.0')).toBe('tdnf');
    expect(() => managerFor('omega:1')).toThrow(/no package manager known for release "omega:1"/);
  });
});
