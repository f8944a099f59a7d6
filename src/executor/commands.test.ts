import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { compareDebVersions } from '../core/version/deb.js';
import { compareRpmEvr } from '../core/version/rpm.js';
import { availableArgv, installedArgv, precheckArgv, readAvailable, readInstalled, readPrecheck, refreshArgv, resolveTargets, updateArgv } from './commands.js';
import { need, requires, tool, tools } from '../../test/needs.js';

describe('package manager argv', () => {
  it('builds exact-version commands for dnf, tdnf and apt', () => {
    expect(updateArgv('dnf', [{ name: 'openssl', version: '1:3.3.5-5.azl3', arch: 'x86_64' }])).toEqual([
      'dnf',
      '-y',
      'install',
      'openssl-1:3.3.5-5.azl3.x86_64',
    ]);
    expect(precheckArgv('tdnf', [{ name: 'curl', version: '8.11.1-3.azl3' }], { installroot: '/r' })).toEqual([
      'tdnf',
      '--installroot=/r',
      '--assumeno',
      'install',
      'curl-8.11.1-3.azl3',
    ]);
    expect(updateArgv('apt', [{ name: 'libssl3', version: '3.0.15-1~deb12u1', arch: 'amd64' }])).toEqual([
      'apt-get',
      '-y',
      '-q',
      '-o',
      'Dpkg::Options::=--force-confold',
      'install',
      '--only-upgrade',
      '--no-install-recommends',
      'libssl3:amd64=3.0.15-1~deb12u1',
    ]);
  });

  it('refreshes package lists first only where the manager does not (apt)', () => {
    expect(refreshArgv('apt')).toEqual(['apt-get', '-q', 'update']);
    expect(refreshArgv('dnf')).toBeNull();
    expect(refreshArgv('tdnf')).toBeNull();
  });

  it.each([
    ['dnf', '-rf', '1-1'],
    ['dnf', 'curl', '1.0'],
    ['dnf', 'curl', '1-1; reboot'],
    ['apt', 'Curl', '1.0'],
    ['apt', 'curl', '1.0 --allow-downgrades'],
  ] as const)('refuses %s package %j version %j from a feed', (pm, name, version) => {
    expect(() => updateArgv(pm, [{ name, version }])).toThrow(/is not a (package name|version)/);
  });

  // dnf and tdnf install a word ending in .rpm as a local file (over SSH as over the agent).
  it.each([
    ['dnf', { name: 'openssl', version: '1:3.3.5-5.rpm' }],
    ['tdnf', { name: 'openssl', version: '3.3.5-5.azl3.RPM' }],
    ['dnf', { name: 'openssl', version: '3.3.5-5.azl3', arch: 'rpm' }],
  ] as const)('refuses a %s target whose word ends in .rpm: %o', (pm, t) => {
    expect(() => updateArgv(pm, [t])).toThrow(/ends in "\.rpm": \w+ would read it as a local file/);
    expect(() => precheckArgv(pm, [t])).toThrow(/ends in "\.rpm"/);
  });

  it('refuses a package name ending in .rpm in a dnf query, and keeps a Debian name that merely contains rpm', () => {
    expect(() => availableArgv('dnf', ['bash', 'evil.rpm'])).toThrow(/"evil\.rpm" is not a package name dnf is given/);
    expect(() => installedArgv('dnf', ['evil.rpm'])).toThrow(/"evil\.rpm" is not a package name/);
    expect(updateArgv('apt', [{ name: 'librpm9', version: '4.18.0+dfsg-1' }])).toEqual([
      'apt-get',
      '-y',
      '-q',
      '-o',
      'Dpkg::Options::=--force-confold',
      'install',
      '--only-upgrade',
      '--no-install-recommends',
      'librpm9=4.18.0+dfsg-1',
    ]);
  });
});

// Real dnf against a root and a local repository (../shared/testbed recipes 1-3).
const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));
needs.describe('dnf updates a root to exactly the planned versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dnf-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = join(dir, 'rpms');
  const root = join(dir, 'root');
  const extra = [
    '--releasever=3.0',
    '--disablerepo=*',
    `--repofrompath=local,file://${repo}`,
    '--enablerepo=local',
    '--nogpgcheck',
    '--setopt=install_weak_deps=False',
    '--setopt=reposdir=/nonexistent',
    '--setopt=cachedir=' + join(dir, 'cache'),
  ];
  const q = (): string[] =>
    execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' }).trim().split('\n').sort();

  it('prechecks, refuses a version the repository lacks, and updates exactly', () => {
    buildDummyRpms(dir, [
      { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
      { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
      { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
      { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
    ]);
    execFileSync('createrepo_c', ['--quiet', repo]);
    execFileSync('dnf', ['-y', `--installroot=${root}`, ...extra, 'install', 'bw-openssl-1:3.3.0-2.azl3', 'bw-curl-8.8.0-1.azl3'], { stdio: 'pipe' });
    expect(q()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3']);

    const plan = [{ name: 'bw-openssl', version: '1:3.3.5-5.azl3' }];
    const pre = spawnSync(precheckArgv('dnf', plan, { installroot: root, extra })[0]!, precheckArgv('dnf', plan, { installroot: root, extra }).slice(1), {
      encoding: 'utf8',
    });
    expect(readPrecheck('dnf', pre.status, pre.stdout, pre.stderr)).toMatchObject({ ok: true, missing: [] });
    expect(q()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3']); // a dry run changes nothing

    const absent = [{ name: 'bw-openssl', version: '1:3.3.9-1.azl3' }];
    const bad = spawnSync('dnf', precheckArgv('dnf', absent, { installroot: root, extra }).slice(1), { encoding: 'utf8' });
    expect(readPrecheck('dnf', bad.status, bad.stdout, bad.stderr)).toMatchObject({ ok: false, missing: ['bw-openssl-1:3.3.9-1.azl3'] });

    const up = spawnSync('dnf', updateArgv('dnf', plan, { installroot: root, extra }).slice(1), { encoding: 'utf8' });
    expect(up.status).toBe(0);
    // Exactly the planned build, not the newest (3.4.0) and nothing else touched.
    expect(q()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3']);
    const again = spawnSync('dnf', precheckArgv('dnf', plan, { installroot: root, extra }).slice(1), { encoding: 'utf8' });
    expect(readPrecheck('dnf', again.status, again.stdout, again.stderr)).toMatchObject({ ok: true, message: 'already at the planned versions' });

    // A version below the installed one is a downgrade: refused at the precheck.
    const down = spawnSync('dnf', precheckArgv('dnf', [{ name: 'bw-openssl', version: '1:3.3.0-2.azl3' }], { installroot: root, extra }).slice(1), {
      encoding: 'utf8',
    });
    expect(readPrecheck('dnf', down.status, down.stdout, down.stderr)).toMatchObject({
      ok: false,
      message: 'the transaction would downgrade a package: refused',
    });

    // A planned build the repository no longer offers (Fedora's updates keep only the newest):
    // repoquery lists what is, and the lowest later build is taken; a version written without its
    // 0 epoch is the repository's own.
    const argv = availableArgv('dnf', ['bw-openssl', 'bw-curl', 'bw-nope'], { installroot: root, extra }) ?? [];
    const listed = spawnSync('dnf', argv.slice(1), { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    const offered = readAvailable('dnf', listed.stdout);
    expect(offered.get('bw-openssl')?.map((x) => x.version)).toEqual(['1:3.3.0-2.azl3', '1:3.3.5-5.azl3', '1:3.4.0-1.azl3']);
    const r = resolveTargets(
      [
        { name: 'bw-openssl', version: '1:3.3.9-1.azl3' },
        { name: 'bw-curl', version: '8.11.1-3.azl3' },
        { name: 'bw-nope', version: '1-1' },
      ],
      offered,
      compareRpmEvr,
    );
    expect(r.targets.map((t) => `${t.name}-${t.version}`)).toEqual(['bw-openssl-1:3.4.0-1.azl3', 'bw-curl-0:8.11.1-3.azl3', 'bw-nope-1-1']);
    expect(r.changed).toEqual(['bw-openssl 1:3.4.0-1.azl3 (the planned 1:3.3.9-1.azl3 is no longer offered)']);
    const pre2 = spawnSync('dnf', precheckArgv('dnf', r.targets.slice(0, 2), { installroot: root, extra }).slice(1), { encoding: 'utf8' });
    expect(readPrecheck('dnf', pre2.status, pre2.stdout, pre2.stderr)).toMatchObject({ ok: true, missing: [] });
  });
});

needs.describe("a policy's excludes hold for dependencies too", () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-exclude-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('dnf is given --exclude: an update that needs an excluded package fails its precheck instead of changing it', () => {
    buildDummyRpms(dir, [
      { name: 'bw-ssl', version: '1.0', release: '1' },
      { name: 'bw-ssl-libs', version: '1.0', release: '1' },
      { name: 'bw-ssl', version: '2.0', release: '1', requires: ['bw-ssl-libs >= 2.0'] },
      { name: 'bw-ssl-libs', version: '2.0', release: '1' },
    ]);
    const repo = join(dir, 'rpms');
    const root = join(dir, 'root');
    execFileSync('createrepo_c', ['--quiet', repo]);
    const extra = [
      '--releasever=3.0',
      '--disablerepo=*',
      `--repofrompath=local,file://${repo}`,
      '--enablerepo=local',
      '--nogpgcheck',
      '--setopt=reposdir=/nonexistent',
      `--setopt=cachedir=${join(dir, 'cache')}`,
    ];
    execFileSync('dnf', ['-y', `--installroot=${root}`, ...extra, 'install', 'bw-ssl-1.0-1', 'bw-ssl-libs-1.0-1'], { stdio: 'pipe' });
    const plan = [{ name: 'bw-ssl', version: '0:2.0-1' }];
    // Without the exclude, the update takes bw-ssl-libs 2.0 along.
    const free = spawnSync('dnf', precheckArgv('dnf', plan, { installroot: root, extra }).slice(1), { encoding: 'utf8' });
    expect(`${free.stdout}${free.stderr}`).toMatch(/bw-ssl-libs/);
    const argv = precheckArgv('dnf', plan, { installroot: root, extra, exclude: ['bw-ssl-libs*'] });
    expect(argv).toContain('--exclude=bw-ssl-libs*');
    const held = spawnSync('dnf', argv.slice(1), { encoding: 'utf8' });
    const read = readPrecheck('dnf', held.status, held.stdout, held.stderr, { exclude: ['bw-ssl-libs*'] });
    expect(read.ok).toBe(false);
    expect(read.message).toMatch(/exclude/i);
    expect(() => precheckArgv('dnf', plan, { exclude: ['--setopt=x'] })).toThrow(/is not a package glob dnf is given to exclude/);
  });

  it("apt has no exclude option: its dry run's Inst lines are read", () => {
    const sim =
      'Inst libssl3 [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian:12/stable [amd64])\nInst openssl [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian:12/stable [amd64])\nConf libssl3 (3.0.15-1~deb12u1 Debian:12/stable [amd64])\n';
    expect(readPrecheck('apt', 0, sim, '', { exclude: ['libssl*'] })).toEqual({
      ok: false,
      missing: [],
      message: 'the update would also change excluded package(s): libssl3',
    });
    expect(readPrecheck('apt', 0, sim, '', { exclude: ['kernel*'] }).ok).toBe(true);
  });
});

// Real apt-get -s on this machine's own package database (Debian): a dry run only.
requires(tools('apt-get', 'dpkg-query')).describe('apt-get -s prechecks against the real package database', () => {
  it('sees an installed version as done and a missing version or package as missing', () => {
    const v = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'bash'], { encoding: 'utf8' });
    const run = (version: string, name = 'bash') => {
      const argv = precheckArgv('apt', [{ name, version }]);
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      return readPrecheck('apt', r.status, r.stdout, r.stderr);
    };
    expect(run(v)).toMatchObject({ ok: true });
    expect(run('9.9-9')).toMatchObject({ ok: false, missing: ['bash=9.9-9'] });
    expect(run('1.0-1', 'bulwark-no-such-package')).toMatchObject({ ok: false, missing: ['bulwark-no-such-package'] });
  });
});

describe('resolving planned Debian versions against what the host is offered', () => {
  const SHOW = [
    'Package: libssl3',
    'Source: openssl',
    'Version: 3.0.17-1~deb12u2',
    '',
    'Package: libssl3',
    'Source: openssl',
    'Version: 3.0.20-1~deb12u2',
    '',
    'Package: libldb2',
    'Source: samba (2:4.17.12+dfsg-0+deb12u4)',
    'Version: 2:2.6.2+samba4.17.12+dfsg-0+deb12u4',
    '',
  ].join('\n');
  it('keeps a version still offered, takes the lowest later build of a superseded one, and compares a binary by its source version', () => {
    const available = readAvailable('apt', SHOW);
    expect(available.get('libldb2')).toEqual([{ version: '2:2.6.2+samba4.17.12+dfsg-0+deb12u4', source: '2:4.17.12+dfsg-0+deb12u4' }]);
    const r = resolveTargets(
      [
        { name: 'libssl3', version: '3.0.17-1~deb12u2' },
        { name: 'libssl3', version: '3.0.18-1~deb12u1' },
        { name: 'libldb2', version: '2:4.17.12+dfsg-0+deb12u3' },
        { name: 'libssl3', version: '3.1.0-1' },
        { name: 'bw-gone', version: '1.0-1' },
      ],
      available,
      compareDebVersions,
    );
    expect(r.targets.map((t) => `${t.name}=${t.version}`)).toEqual([
      'libssl3=3.0.17-1~deb12u2',
      'libssl3=3.0.20-1~deb12u2',
      'libldb2=2:2.6.2+samba4.17.12+dfsg-0+deb12u4',
      'libssl3=3.1.0-1',
      'bw-gone=1.0-1',
    ]);
    expect(r.changed).toEqual([
      'libssl3 3.0.20-1~deb12u2 (the planned 3.0.18-1~deb12u1 is no longer offered)',
      'libldb2 2:2.6.2+samba4.17.12+dfsg-0+deb12u4 (the planned 2:4.17.12+dfsg-0+deb12u3 is no longer offered)',
    ]);
    expect(availableArgv('apt', ['libssl3'])).toEqual(['apt-cache', 'show', 'libssl3']);
    expect(availableArgv('tdnf', ['openssl'])).toBeNull();
    expect(() => availableArgv('apt', ['-oAPT::x=1'])).toThrow(/not a package name/);
  });

  it("never goes below what is installed, keeps to the pin, and compares a content view's build as it is", () => {
    const offered = new Map([
      [
        'bw-ssl',
        [
          { version: '3.3.6-1', source: '3.3.6-1' },
          { version: '3.4.0-1', source: '3.4.0-1' },
          { version: '3.5.0-1', source: '3.5.0-1' },
        ],
      ],
      [
        'cpp',
        [
          { version: '4:12.2.0-3', source: '1.203' },
          { version: '4:12.2.0-4', source: '1.204' },
        ],
      ],
    ]);
    // Installed 3.4.0 since the scan, the planned 3.3.5 gone: 3.3.6 would be a downgrade.
    const up = resolveTargets([{ name: 'bw-ssl', version: '3.3.5-5' }], offered, compareDebVersions, { installed: new Map([['bw-ssl', ['3.4.0-1']]]) });
    expect([up.targets, up.current]).toEqual([[], ['bw-ssl 3.4.0-1 (at or above the planned 3.3.5-5)']]);
    const older = resolveTargets([{ name: 'bw-ssl', version: '3.3.5-5' }], offered, compareDebVersions, { installed: new Map([['bw-ssl', ['3.3.0-1']]]) });
    expect(older.targets.map((t) => t.version)).toEqual(['3.3.6-1']);
    // A pin (3.4.*) rules out 3.3.6 and 3.5.0.
    expect(resolveTargets([{ name: 'bw-ssl', version: '3.3.5-5', pin: '3.4.*' }], offered, compareDebVersions).targets.map((t) => t.version)).toEqual([
      '3.4.0-1',
    ]);
    expect(resolveTargets([{ name: 'bw-ssl', version: '3.3.5-5', pin: '3.9.*' }], offered, compareDebVersions).targets.map((t) => t.version)).toEqual([
      '3.3.5-5',
    ]);
    // A view's build (4:12.2.0-2) is compared with builds, not with their source's version (1.203).
    expect(resolveTargets([{ name: 'cpp', version: '4:12.2.0-2' }], offered, compareDebVersions, { basis: 'build' }).targets.map((t) => t.version)).toEqual([
      '4:12.2.0-3',
    ]);
    expect(installedArgv('apt', ['bash'])).toEqual(['apt-cache', 'policy', 'bash']);
    expect(installedArgv('dnf', ['bash'])).toEqual([
      'dnf',
      '-q',
      'repoquery',
      '--installed',
      '--qf',
      '%{name} %{epoch}:%{version}-%{release}\\n',
      '--',
      'bash',
    ]);
  });

  requires(tools('apt-cache', 'dpkg-query')).it('reads what the real apt-cache policy says is installed, as dpkg-query does', () => {
    const policy = spawnSync('apt-cache', ['policy', 'bash', 'bulwark-no-such-package'], { encoding: 'utf8' });
    const v = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'bash'], { encoding: 'utf8' });
    expect(Object.fromEntries(readInstalled('apt', policy.stdout))).toEqual({ bash: [v] });
  });

  // This machine's own apt lists (Debian): libldb2 is built from samba, with a version of its own.
  const show = tool('apt-cache').missing === null ? spawnSync('apt-cache', ['show', 'libldb2'], { encoding: 'utf8' }) : null;
  requires(
    tool('apt-cache'),
    need(
      "libldb2 in apt's package lists",
      show !== null && show.status !== 0 ? `apt-cache show libldb2 exits ${String(show.status)}: run apt-get update` : null,
    ),
  ).it(
    'reads the real apt-cache show and resolves a samba fix to a libldb2 build, the lowest whose source reaches it (checked with dpkg --compare-versions)',
    () => {
      const offered = readAvailable('apt', show?.stdout ?? '').get('libldb2') ?? [];
      expect(offered.length).toBeGreaterThan(0);
      expect(offered.every((o) => o.source !== o.version)).toBe(true);
      const ge = (a: string, b: string): boolean => spawnSync('dpkg', ['--compare-versions', a, 'ge', b]).status === 0;
      const want = offered.map((o) => o.source).sort(compareDebVersions)[0] ?? '';
      const r = resolveTargets([{ name: 'libldb2', version: want }], new Map([['libldb2', offered]]), compareDebVersions);
      const chosen = offered.find((o) => o.version === r.targets[0]?.version);
      expect(chosen).toBeDefined();
      expect(ge(chosen?.source ?? '', want)).toBe(true);
      for (const o of offered) if (ge(o.source, want)) expect(ge(o.version, chosen?.version ?? '')).toBe(true);
    },
  );
});
