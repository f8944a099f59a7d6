import { describe, expect, it } from 'vitest';
import type { InstalledPackage, LivePatch } from '../core/target.js';
import { mitigateByLivePatches } from './livepatch.js';
import type { Match } from './match.js';

const kernel = (version: string, release: string, name = 'kernel'): InstalledPackage => ({
  family: 'rpm',
  name,
  epoch: null,
  version,
  release,
  arch: 'x86_64',
  sourceName: 'kernel',
  sourceVersion: null,
});

const match = (id: string, cves: string[], installed = '6.6.57.1-6.azl3', pkg = 'kernel'): Match => ({
  advisorySource: 't',
  advisoryId: id,
  cves,
  severity: 'high',
  package: pkg,
  arch: 'x86_64',
  installed,
  fixed: '0:6.6.60.1-1.azl3',
  status: 'open',
  reason: null,
  packageSource: null,
});

const patch = (o: Partial<LivePatch> = {}): LivePatch => ({
  tool: 'kpatch',
  name: 'lp_1',
  state: 'enabled',
  active: true,
  package: null,
  cves: ['CVE-2024-1', 'CVE-2024-2'],
  ...o,
});

describe('findings mitigated by a live patch of the running kernel', () => {
  const running = kernel('6.6.57.1', '6.azl3');
  const judged = [running, kernel('2.0', '1.azl3', 'bash')];

  it('mitigates an advisory whose every CVE is patched; not one with a CVE the patch does not name', () => {
    const out = mitigateByLivePatches([match('A', ['CVE-2024-1']), match('B', ['CVE-2024-1', 'CVE-2024-3'])], judged, '6.6.57.1-6.azl3', [patch()]);
    expect(out.map((m) => [m.advisoryId, m.status])).toEqual([
      ['A', 'mitigated'],
      ['B', 'open'],
    ]);
    expect(out[0]?.reason).toMatch(/^live-patched: CVE-2024-1 fixed in the running kernel 6\.6\.57\.1-6\.azl3 by kpatch lp_1, loaded and enabled/);
  });

  it.each([
    ['the patch is loaded but disabled', [patch({ state: 'disabled', active: false })], '6.6.57.1-6.azl3', match('A', ['CVE-2024-1'])],
    ['the live patches were not collected', null, '6.6.57.1-6.azl3', match('A', ['CVE-2024-1'])],
    ['the running kernel is not known', [patch()], null, match('A', ['CVE-2024-1'])],
    ['the finding is not on the running kernel’s build', [patch()], '6.6.57.1-6.azl3', match('A', ['CVE-2024-1'], '6.6.51.1-5.azl3')],
    ['the finding is not on a kernel package', [patch()], '6.6.57.1-6.azl3', match('A', ['CVE-2024-1'], '2.0-1.azl3', 'bash')],
    ['the advisory names no CVE', [patch()], '6.6.57.1-6.azl3', match('A', [])],
  ] as const)('leaves a finding open when %s', (_why, patches, uname, m) => {
    const [out] = mitigateByLivePatches([m], [...judged, kernel('6.6.51.1', '5.azl3')], uname, patches);
    expect(out?.status).toBe('open');
    expect(out?.reason).toBeNull();
  });

  it('takes a CVE advisory’s own id when it lists no CVEs, and Canonical’s CVE names whatever their case', () => {
    const canonical = patch({ tool: 'canonical-livepatch', name: 'livepatch 104.1', state: 'applied', cves: ['CVE-2024-1086'] });
    const deb: InstalledPackage = {
      ...kernel('5.15.0-100.110', '', 'linux-image-5.15.0-100-generic'),
      family: 'deb',
      release: null,
      version: '5.15.0-100.110',
    };
    const m = { ...match('CVE-2024-1086', [], '5.15.0-100.110', 'linux-image-5.15.0-100-generic') };
    const [out] = mitigateByLivePatches([m], [deb], '5.15.0-100-generic', [canonical]);
    expect(out?.status).toBe('mitigated');
    expect(out?.reason).toMatch(/by canonical-livepatch livepatch 104\.1/);
  });
});
