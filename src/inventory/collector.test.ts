import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { release as kernelRelease, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRpmRoot } from '../../test/rpm-tools.js';
import { inNamespace } from '../../test/ssh-fleet.js';
import { startSshHost, type SshHost } from '../../test/sshd-hosts.js';
import { requires, sshdHosts, tool } from '../../test/needs.js';
import { parseAgentReport } from './agent-report.js';
import {
  collect,
  DPKG_QUERY_ARGV,
  hostCollector,
  REBOOT_MARKER,
  REBOOT_MARKER_WRITERS,
  rebootRequired,
  type ExecResult,
  type Snapshot,
  type Transport,
} from './collector.js';
import { collectRoot, pathInRoot } from './root.js';
import { RPM_QA_ARGV } from './rpm-qa.js';
import { collectSsh } from './ssh.js';

/** A transport that answers from a table (argv joined by spaces → answer); anything else is "not found". */
function scripted(answers: Record<string, Partial<ExecResult>>, where = 'root@web-01'): Transport & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    id: 'test',
    where,
    live: true,
    failure: { code: 'target.unreachable', details: { host: where } },
    asked,
    exec: (argv) => {
      asked.push([...argv]);
      const a = answers[argv.join(' ')];
      return Promise.resolve(
        a === undefined ? { code: argv[0] === 'test' ? 1 : 127, stdout: '', stderr: 'not found' } : { code: 0, stdout: '', stderr: '', ...a },
      );
    },
  };
}

const marker = `test -e ${REBOOT_MARKER}`;
const [uu, notifier] = REBOOT_MARKER_WRITERS.map((w) => `test -e ${w}`) as [string, string];

describe('reboot detection: one rule for every transport', () => {
  // Before issue #19, local.ts said "no" for a deb host without the marker and never asked
  // needs-restarting; ssh.ts and the agent said "yes" whenever needs-restarting failed.
  it.each<[string, Record<string, Partial<ExecResult>>, boolean | null]>([
    ['the marker is there (Debian, Ubuntu)', { [marker]: {} }, true],
    ['needs-restarting -r exits 1 (a reboot is needed)', { 'needs-restarting -r': { code: 1 } }, true],
    ['needs-restarting -r exits 0 (none is): local.ts said unknown', { 'needs-restarting -r': { code: 0 } }, false],
    ['needs-restarting -r fails otherwise (exit 3): ssh.ts and the agent said yes', { 'needs-restarting -r': { code: 3 } }, null],
    ['a plain Debian: no marker, nothing that writes one: local.ts said no', {}, null],
    ["no marker, and unattended-upgrades' kernel hook would have written one", { [uu]: {} }, false],
    ["no marker, and Ubuntu's update-notifier would have written one", { [notifier]: {} }, false],
  ])('%s', async (_, answers, want) => {
    expect(await rebootRequired(scripted(answers))).toBe(want);
  });

  it.each([
    ['yes', true],
    ['no', false],
    ['unknown', null],
  ])('reads an agent\'s "@@reboot %s" as %j, through the same rule', async (word, want) => {
    const text = `bulwark-report 1\n@@os-release\nID=azurelinux\nVERSION_ID="3.0"\n@@uname\n6.6.57.1-2.azl3\nx86_64\n@@reboot\n${word}\n@@packages rpm\nbash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n`;
    expect((await parseAgentReport(text, 'report of agent x (host web-01)')).rebootRequired).toBe(want);
  });
});

describe('the host collector', () => {
  const AZL3 = {
    'cat /etc/os-release': { stdout: 'ID=azurelinux\nVERSION_ID="3.0"\n' },
    'uname -r': { stdout: '6.6.57.1-2.azl3\n' },
    'uname -m': { stdout: 'x86_64\n' },
  };

  it("asks argv arrays only, and lists the release family's database with privilege", async () => {
    const t = scripted({ ...AZL3, [RPM_QA_ARGV.join(' ')]: { stdout: 'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n' } });
    const snap = await collect(t);
    expect(snap).toEqual<Snapshot>({
      release: 'azurelinux:3.0',
      arch: 'x86_64',
      runningKernel: '6.6.57.1-2.azl3',
      rebootRequired: null,
      image: null,
      packages: [expect.objectContaining({ name: 'bash', version: '5.2.15' }) as never],
      // No /etc/dnf/modules.d (tdnf), and Azure Linux has no subscription channels: not known.
      streams: { modules: null, channels: null },
      // No livepatch sysfs, no kpatch, no canonical-livepatch: no live patches.
      livePatches: [],
    });
    expect(t.asked.map((a) => a[0])).toEqual([
      'cat',
      'uname',
      'uname',
      'rpm',
      'cat',
      'ls',
      'test',
      'needs-restarting',
      'test',
      'test',
      'ls',
      'kpatch',
      'canonical-livepatch',
    ]);
  });

  it('asks for nothing it does not declare in `needs`, with or without a known release', async () => {
    for (const os of ['ID=azurelinux\nVERSION_ID="3.0"\n', 'ID=unknown\n']) {
      const t = scripted({
        ...AZL3,
        'cat /etc/os-release': { stdout: os },
        'rpm --version': {},
        [RPM_QA_ARGV.join(' ')]: { stdout: 'bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n' },
      });
      await collect(t);
      const commands = new Set([...hostCollector.needs.commands.flat(), ...hostCollector.needs.optional]);
      expect(t.asked.filter((a) => !commands.has(a[0] ?? ''))).toEqual([]);
      const files = new Set(hostCollector.needs.files);
      // A file is declared itself or as a directory the collector lists (`ls -1`) and reads.
      expect(
        t.asked
          .filter((a) => a[0] === 'cat' || a[0] === 'test' || a[0] === 'ls')
          .map((a) => a.at(-1))
          .filter((f) => !files.has(f ?? '') && !files.has((f ?? '').replace(/\/[^/]+$/, ''))),
      ).toEqual([]);
    }
  });

  it.each([
    ['rpm', 'azurelinux', '3.0', RPM_QA_ARGV, /root@web-01: rpm found no installed packages .*azurelinux:3\.0, an rpm release/],
    ['dpkg', 'debian', '12', DPKG_QUERY_ARGV, /root@web-01: dpkg found no installed packages .*debian:12, an deb release/],
  ] as const)('refuses an empty %s list from a host whose os-release names its family, naming the host', async (_, id, ver, argv, message) => {
    const t = scripted({
      'cat /etc/os-release': { stdout: `ID=${id}\nVERSION_ID="${ver}"\n` },
      'uname -r': { stdout: 'k\n' },
      'uname -m': { stdout: 'x86_64\n' },
      [argv.join(' ')]: { stdout: '' },
    });
    await expect(collect(t)).rejects.toThrow(message);
  });

  it('names the host when the package command fails (sudo without a password, say)', async () => {
    const t = scripted({ ...AZL3, [RPM_QA_ARGV.join(' ')]: { code: 1, stderr: 'sudo: a password is required\n' } });
    await expect(collect(t)).rejects.toMatchObject({
      code: 'target.unreachable',
      message: 'root@web-01: rpm -qa failed (exit 1): sudo: a password is required',
    });
  });
});

describe('a directory tree', () => {
  it("follows the tree's own symbolic links inside it, never out to this machine's files", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-root-'));
    try {
      mkdirSync(join(dir, 'usr/lib'), { recursive: true });
      mkdirSync(join(dir, 'etc'));
      writeFileSync(join(dir, 'usr/lib/os-release'), 'ID=fedora\nVERSION_ID=43\n');
      symlinkSync('/usr/lib/os-release', join(dir, 'etc/os-release')); // absolute, as images have it
      symlinkSync('../../..', join(dir, 'usr/lib/up'));
      expect(await pathInRoot(dir, '/etc/os-release')).toBe(join(dir, 'usr/lib/os-release'));
      expect(await pathInRoot(dir, '/usr/lib/up/../../etc/passwd')).toBe(join(dir, 'etc/passwd'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

requires(tool('dpkg-query')).describe('a Debian directory tree', () => {
  it("reads its dpkg database with the machine's dpkg-query --admindir, and its os-release through its own link", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-debroot-'));
    try {
      mkdirSync(join(dir, 'var/lib/dpkg'), { recursive: true });
      mkdirSync(join(dir, 'usr/lib'), { recursive: true });
      mkdirSync(join(dir, 'etc'));
      writeFileSync(join(dir, 'usr/lib/os-release'), 'ID=debian\nVERSION_ID="12"\n');
      symlinkSync('../usr/lib/os-release', join(dir, 'etc/os-release'));
      // dpkg's status file, as dpkg writes it (trimmed to the fields dpkg-query needs).
      const stanza = (name: string, version: string, source: string): string =>
        `Package: ${name}\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nSource: ${source}\nVersion: ${version}\nDescription: test\n`;
      writeFileSync(
        join(dir, 'var/lib/dpkg/status'),
        [stanza('libssl3', '3.0.15-1~deb12u1', 'openssl'), stanza('bash', '5.2.15-2+b7', 'bash (5.2.15-2)')].join('\n'),
      );
      const inv = await collectRoot(dir);
      expect(inv.release).toBe('debian:12');
      expect(inv.argv.slice(0, 2)).toEqual(['dpkg-query', `--admindir=${join(dir, 'var/lib/dpkg')}`]);
      expect(inv.packages.map((p) => `${p.family} ${p.name} ${p.sourceName ?? ''} ${p.sourceVersion ?? ''}`).sort()).toEqual([
        'deb bash bash 5.2.15-2',
        'deb libssl3 openssl 3.0.15-1~deb12u1',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const OS_AZL3 =
  'NAME="Microsoft Azure Linux"\nVERSION="3.0.20250206"\nID=azurelinux\nVERSION_ID="3.0"\nPRETTY_NAME="Microsoft Azure Linux 3.0"\nID_LIKE=fedora\n';

requires(sshdHosts(), tool('rpmbuild')).describe('one rpm database through local, root and ssh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-collectors-'));
  const hosts: SshHost[] = [];
  afterAll(async () => {
    for (const h of hosts) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const worker = join(import.meta.dirname, '../../test/collect-local-worker.ts');
  const norm = (s: Snapshot): Snapshot => ({ ...s, packages: [...s.packages].sort((a, b) => a.name.localeCompare(b.name)) });

  it('gives the same snapshot (packages, release, kernel, reboot flag), with and without a pending reboot', async () => {
    const root = buildRpmRoot(
      join(dir, 'build'),
      join(dir, 'root'),
      [
        { name: 'openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
        { name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3' },
        { name: 'ca-certificates', version: '3.0.0', release: '8.azl3' },
      ],
      { ownSource: true },
    );
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/os-release'), OS_AZL3);
    // Local and ssh read this machine's /etc: the tree has dnf's module states as this machine does (none enabled).
    if (existsSync('/etc/dnf/modules.d')) mkdirSync(join(root, 'etc/dnf/modules.d'), { recursive: true });
    const osFile = join(dir, 'os-release');
    writeFileSync(osFile, OS_AZL3);
    const db = execFileSync('rpm', ['--eval', '%_dbpath'], { encoding: 'utf8' }).trim();
    const fromRoot = await collectRoot(root);
    // This machine, but for its /run (where the reboot marker lives): without and with the marker.
    const writers = REBOOT_MARKER_WRITERS.some((w) => existsSync(w));
    for (const [i, pending] of [false, true].entries()) {
      const run = join(dir, `run-${String(i)}`);
      mkdirSync(join(run, 'sshd'), { recursive: true });
      if (pending) writeFileSync(join(run, 'reboot-required'), '');
      const binds = [
        [join(root, db), db],
        [osFile, '/etc/os-release'],
        [run, '/run'],
      ] as const;
      const local = await inNamespace(binds, [process.execPath, '--import', 'tsx', worker]);
      expect(local.stderr).toBe('');
      const fromLocal = JSON.parse(local.stdout) as Snapshot;
      const host = await startSshHost(join(dir, `host-${String(i)}`), {
        address: `127.0.0.${String(41 + i)}`,
        port: 2222,
        rpmRoot: root,
        osRelease: OS_AZL3,
        binds: [[run, '/run']],
      });
      hosts.push(host);
      const fromSsh = await collectSsh(
        { host: host.address, port: host.port, user: 'root', identityFile: host.clientKey, sudo: false },
        { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: true },
      );
      expect(norm(fromLocal)).toEqual(norm(fromSsh));
      expect(fromSsh.packages.map((p) => `${p.name} ${String(p.epoch)}:${p.version}-${p.release ?? ''}.${p.arch}`).sort()).toEqual([
        'ca-certificates 0:3.0.0-8.azl3.noarch',
        'openssl 1:3.3.0-2.azl3.noarch',
        'perl 4:5.38.2-509.azl3.noarch',
      ]);
      expect(norm({ ...fromSsh, runningKernel: null, arch: null, rebootRequired: null })).toEqual(
        norm({
          release: fromRoot.release,
          packages: fromRoot.packages,
          image: fromRoot.image,
          streams: fromRoot.streams,
          livePatches: fromSsh.livePatches,
          runningKernel: null,
          arch: null,
          rebootRequired: null,
        }),
      );
      expect([fromSsh.release, fromSsh.runningKernel]).toEqual(['azurelinux:3.0', kernelRelease()]);
      // A pending reboot is seen by both; without one, a machine with no marker writer cannot tell (before, local.ts said no).
      expect(fromSsh.rebootRequired).toBe(pending ? true : writers ? false : null);
    }
  }, 120_000);

  it('refuses an empty package database from a host whose os-release names an rpm release, naming the host', async () => {
    const empty = join(dir, 'empty-root');
    mkdirSync(empty, { recursive: true });
    execFileSync('rpm', ['--root', empty, '--initdb']);
    const host = await startSshHost(join(dir, 'host-empty'), { address: '127.0.0.43', port: 2222, rpmRoot: empty, osRelease: OS_AZL3 });
    hosts.push(host);
    // Before, the host was stored with no packages and all its findings closed as fixed.
    await expect(
      collectSsh(
        { host: host.address, port: host.port, user: 'root', identityFile: host.clientKey, sudo: false },
        { knownHostsFile: join(dir, 'known_hosts'), acceptNewHostKey: true },
      ),
    ).rejects.toThrow(/^root@\[127\.0\.0\.43\]:2222: rpm found no installed packages .*azurelinux:3\.0, an rpm release/);
  }, 60_000);
});
