import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LivePatch } from '../core/target.js';
import { KERNEL, MODULE, standIn } from '../../test/livepatch-host.js';
import { requires, tools } from '../../test/needs.js';
import { parseAgentReport } from './agent-report.js';
import { collect } from './collector.js';
import { moduleOfPackage, parseCanonicalLivepatch, parseKpatchList, parseLivepatchPackages } from './livepatch.js';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '__fixtures__', 'livepatch', name), 'utf8');

describe('live patch parsers (issue #15), on outputs in the tools’ own formats', () => {
  it('reads `kpatch list`: loaded modules with their state, installed ones with their kernel', () => {
    expect(parseKpatchList(fixture('kpatch-list.txt'))).toEqual({
      loaded: [
        { module: 'livepatch_6_6_57_1_6_azl3_1_0_0_1_azl3', state: 'enabled' },
        { module: 'kpatch_test_disabled', state: 'disabled' },
      ],
      installed: [
        { module: 'livepatch_6_6_57_1_6_azl3_1_0_0_1_azl3', kernel: '6.6.57.1-6.azl3' },
        { module: 'livepatch_6_6_51_1_5_azl3_1_0_0_2_azl3', kernel: '6.6.51.1-5.azl3' },
      ],
    });
    expect(parseKpatchList(fixture('kpatch-list-empty.txt'))).toEqual({ loaded: [], installed: [] });
    // A patch in transition: kpatch prints the stalled processes between the two lists.
    expect(
      parseKpatchList('Loaded patch modules:\nkp_1 [enabling...]\n\nStalled processes:\n812 kworker/0:1\nstack:\n[<0>] x\n\nInstalled patch modules:\n').loaded,
    ).toEqual([{ module: 'kp_1', state: 'enabling...' }]);
  });

  it.each([
    ['not kpatch at all', 'usage: kpatch <command> [<args>]\n'],
    ['an unknown state', 'Loaded patch modules:\nkp_1 [half-done]\n'],
    ['a module name kpatch never prints', 'Loaded patch modules:\nkp-1 [enabled]\n'],
    ['an installed line without its kernel', 'Loaded patch modules:\n\nInstalled patch modules:\nkp_1\n'],
  ])('refuses `kpatch list` output it does not know: %s', (_why, text) => {
    expect(() => parseKpatchList(text)).toThrow(/kpatch list/);
  });

  it('reads an Azure Linux livepatch package: its module name and the CVEs it fixes (`*`), not those it cannot (`!`)', () => {
    const [p, ...rest] = parseLivepatchPackages(`@@package ${fixture('azl-livepatch-description.txt')}`);
    expect(rest).toEqual([]);
    expect(p).toEqual({ nvr: 'livepatch-6.6.57.1-6.azl3-1.0.0-1.azl3', cves: ['CVE-2024-50264', 'CVE-2024-53057'] });
    // The spec's rule: name-version-release with every character but [A-Za-z0-9_] made `_`.
    expect(moduleOfPackage(p?.nvr ?? '')).toBe('livepatch_6_6_57_1_6_azl3_1_0_0_1_azl3');
    expect(() => parseLivepatchPackages('@@package livepatch-x-1-1\nPatches list (…):\n*not-a-cve\n')).toThrow(/livepatch package/);
    expect(() => parseLivepatchPackages('no package provides livepatch = 6.6.57.1-6.azl3\n')).toThrow(/livepatch package/);
  });

  it('reads `canonical-livepatch status --format json`: the running kernel’s patch set and its patched CVEs', () => {
    expect(parseCanonicalLivepatch(fixture('canonical-livepatch-status.json'))).toEqual<LivePatch>({
      tool: 'canonical-livepatch',
      name: 'livepatch 104.1',
      state: 'applied',
      active: true,
      package: null,
      // cve-2024-26581 is listed with Patched: false.
      cves: ['CVE-2023-6270', 'CVE-2024-1086'],
    });
    const status = JSON.parse(fixture('canonical-livepatch-status.json')) as { Status: { Running: boolean; Livepatch: { State: string } }[] };
    const failed = structuredClone(status);
    if (failed.Status[0] !== undefined) failed.Status[0].Livepatch.State = 'apply-failed';
    expect(parseCanonicalLivepatch(JSON.stringify(failed))).toMatchObject({ state: 'apply-failed', active: false });
    const other = structuredClone(status);
    if (other.Status[0] !== undefined) other.Status[0].Running = false;
    expect(parseCanonicalLivepatch(JSON.stringify(other))).toBeNull();
    expect(() => parseCanonicalLivepatch('last check: 52 seconds ago\nkernel: 5.4.0-216.236-generic\n')).toThrow(/canonical-livepatch status/);
    expect(() => parseCanonicalLivepatch('{"Status": [{"Kernel": "5.15.0-100.110-generic"}]}')).toThrow(/not its JSON status/);
  });
});

const needs = requires(tools('rpmbuild', 'rpm'));

needs.describe('live patches collected from a host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-livepatch-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('over the collector: each loaded module, and the CVEs of the package that ships the running kernel’s patch', async () => {
    const snap = await collect(standIn(join(dir, 'on'), '1'));
    expect(snap.runningKernel).toBe(KERNEL);
    expect(snap.livePatches).toEqual<LivePatch[]>([
      { tool: 'kpatch', name: 'kpatch_other', state: 'disabled', active: false, package: null, cves: [] },
      { tool: 'kpatch', name: MODULE, state: 'enabled', active: true, package: `livepatch-${KERNEL}-1.0.0-1.azl3`, cves: ['CVE-2024-50264', 'CVE-2024-53057'] },
    ]);
    const off = await collect(standIn(join(dir, 'off'), '0'));
    expect(off.livePatches?.find((p) => p.name === MODULE)).toMatchObject({ state: 'disabled', active: false });
  });

  it('through an agent report: the same answers, replayed; an older agent’s report says nothing (not known)', async () => {
    const base = ['bulwark-report 1', '@@os-release', 'ID=azurelinux', 'VERSION_ID="3.0"', '@@uname', KERNEL, 'x86_64', '@@reboot', 'unknown'];
    const pkgs = ['@@packages rpm', `kernel\t0\t6.6.57.1\t6.azl3\tx86_64\tkernel-6.6.57.1-6.azl3.src.rpm`];
    const live = [
      '@@livepatch-sysfs',
      `${MODULE} 1`,
      '@@livepatch-package',
      `@@package livepatch-${KERNEL}-1.0.0-1.azl3`,
      ...fixture('azl-livepatch-description.txt').split('\n').slice(1),
      '@@livepatch-canonical',
      fixture('canonical-livepatch-status.json'),
    ];
    const r = await parseAgentReport([...base, ...live, ...pkgs].join('\n'), 'report');
    expect(r.livePatches?.map((p) => [p.tool, p.name, p.active, p.cves.join(' ')])).toEqual([
      ['kpatch', MODULE, true, 'CVE-2024-50264 CVE-2024-53057'],
      ['canonical-livepatch', 'livepatch 104.1', true, 'CVE-2023-6270 CVE-2024-1086'],
    ]);
    expect((await parseAgentReport([...base, ...pkgs].join('\n'), 'report')).livePatches).toBeNull();
    expect((await parseAgentReport([...base, '@@livepatch-sysfs', ...pkgs].join('\n'), 'report')).livePatches).toEqual([]);
  });
});
