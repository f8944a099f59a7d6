import { describe, expect, it } from 'vitest';
import { parseAgentReport } from './agent-report.js';

const OS = 'NAME="Microsoft Azure Linux"\nID=azurelinux\nVERSION_ID="3.0"';
const PKG = 'openssl\t1\t3.3.0\t2.azl3\tx86_64\topenssl-3.3.0-2.azl3.src.rpm\n';
const report = (pkgs: string, extra = ''): string =>
  `bulwark-report 1\n@@os-release\n${OS}\n@@uname\n6.6.57.1-2.azl3\nx86_64\n@@managers\ntdnf\ncurl\n@@reboot\nno\n${extra}@@packages rpm\n${pkgs}`;

describe('agent reports', () => {
  it('reads the release, kernel, arch, managers, reboot flag and packages', async () => {
    const r = await parseAgentReport(report('openssl\t1\t3.3.0\t2.azl3\tx86_64\topenssl-3.3.0-2.azl3.src.rpm\n'), 'test');
    expect([r.release, r.runningKernel, r.arch, r.rebootRequired, r.managers]).toEqual(['azurelinux:3.0', '6.6.57.1-2.azl3', 'x86_64', false, ['tdnf']]);
    expect(r.packages.map((p) => `${p.name} ${String(p.epoch)}:${p.version}-${p.release ?? ''} ${p.sourceName ?? ''}`)).toEqual([
      'openssl 1:3.3.0-2.azl3 openssl',
    ]);
    expect(r.bootId).toBeNull(); // agents before the @@boot section
  });

  it.each([
    ['E1F2A3B4-0000-4000-8000-00000000000A\n', 'e1f2a3b4-0000-4000-8000-00000000000a'],
    ['unknown\n', null],
    ['$(reboot)\n', null],
  ])('reads the boot id %j as %j', async (line, want) => {
    expect((await parseAgentReport(report(PKG, `@@boot\n${line}`), 'test')).bootId).toBe(want);
  });

  it.each([
    ['1733480000\n', '2024-12-06T10:13:20.000Z'],
    ['\n', null],
    ['-5\n', null],
    ['99999999999999\n', null],
  ])('reads the boot time %j (/proc/stat btime, the line after the boot id) as %j', async (line, want) => {
    expect((await parseAgentReport(report(PKG, `@@boot\ne1f2a3b4-0000-4000-8000-00000000000a\n${line}`), 'test')).bootedAt).toBe(want);
    expect((await parseAgentReport(report(PKG, '@@boot\ne1f2a3b4-0000-4000-8000-00000000000a\n'), 'test')).bootedAt).toBeNull(); // agents before the boot time
  });

  it('reads the image build the host was made from (@@image, /etc/bulwark-image), or none', async () => {
    expect((await parseAgentReport(report(PKG, '@@image\nimage=azl3-base\nbuild=4\nview=azl3-prod\nview_version=12\n'), 'test')).image).toBe('azl3-base@4');
    expect((await parseAgentReport(report(PKG, '@@image\n'), 'test')).image).toBeNull();
    expect((await parseAgentReport(report(PKG), 'test')).image).toBeNull();
  });

  it('reads module streams from the module state files in @@files (streams not known from an agent without the section)', async () => {
    const files =
      '@@files\n=/etc/dnf/modules.d/\n=/etc/dnf/modules.d/nodejs.module\n [nodejs]\n name=nodejs\n stream=20\n state=enabled\n' +
      '=/etc/dnf/modules.d/ruby.module\n [ruby]\n name=ruby\n stream=3.1\n state=disabled\n' +
      // A file outside a reported directory, and one in place of an answer the report gives otherwise: not read.
      '=/etc/dnf/other/perl.module\n [perl]\n name=perl\n stream=5.32\n state=enabled\n=/etc/\n=/etc/os-release\n ID=debian\n';
    const r = await parseAgentReport(report(PKG, files), 'test');
    expect([r.release, r.streams]).toEqual(['azurelinux:3.0', { modules: ['nodejs:20'], channels: null }]);
    expect((await parseAgentReport(report(PKG, '@@files\n'), 'test')).streams).toEqual({ modules: null, channels: null });
    expect((await parseAgentReport(report(PKG, '@@files\n=/etc/dnf/modules.d/\n'), 'test')).streams).toEqual({ modules: [], channels: null });
    expect((await parseAgentReport(report(PKG), 'test')).streams).toEqual({ modules: null, channels: null });
  });

  it.each([
    ['another header', 'bulwark-report 2\n@@os-release\nID=x\n', /not a bulwark-report 1/],
    ['no packages section', `bulwark-report 1\n@@os-release\n${OS}\n@@uname\nk\nx\n`, /needs @@os-release, @@uname and @@packages/],
    ['a section twice', report(PKG, '@@uname\nk\nx\n'), /section @@uname twice/],
    ['a malformed package line', report('openssl 3.3.0\n'), /report: rpm-qa:1/],
    // An rpm release with no packages is a database not read, not a host emptied (issue #19).
    ['an empty package list from an rpm release', report(''), /^report: rpm found no installed packages .*azurelinux:3\.0, an rpm release/],
    [
      'a package list of the other family',
      report(PKG).replace('@@packages rpm', '@@packages dpkg'),
      /report: rpm -qa failed \(exit 127\): the report has no @@packages rpm section/,
    ],
  ])('refuses %s, naming it', async (_, text, message) => {
    await expect(parseAgentReport(text, 'report')).rejects.toThrow(message);
  });
});
