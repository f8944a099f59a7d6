import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { need, requires, tool, tools } from '../../../test/needs.js';
import { compareDebVersions } from '../../core/version/deb.js';
import { resolveTargets } from '../resolve.js';
import type { CommandResult } from '../types.js';
import { apt } from './index.js';

describe('apt argv', () => {
  it('installs exactly name=version, keeps configuration files, and refreshes its lists first', () => {
    expect(apt.updateArgv([{ name: 'libssl3', version: '3.0.15-1~deb12u1', arch: 'amd64' }])).toEqual([
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
    expect(apt.refreshArgv()).toEqual(['apt-get', '-q', 'update']);
    expect(apt.sourceArgv('bulwark-deb12-prod')).toEqual([]);
    // A Debian name that merely contains rpm is a Debian name.
    expect(apt.updateArgv([{ name: 'librpm9', version: '4.18.0+dfsg-1' }]).at(-1)).toBe('librpm9=4.18.0+dfsg-1');
    expect(apt.capabilities).toEqual({ exclude: 'read-dry-run', advisoryUpdate: false, historyUndo: false, restartCandidates: false });
  });

  it('rolls back by installing the previous versions exactly (no history to undo)', () => {
    expect(apt.restoreArgv([{ name: 'curl', version: '7.88.1-10+deb12u5' }])).toEqual([
      'apt-get',
      '-y',
      '-q',
      '-o',
      'Dpkg::Options::=--force-confold',
      '--allow-downgrades',
      'install',
      '--no-install-recommends',
      'curl=7.88.1-10+deb12u5',
    ]);
    expect(() => apt.restoreArgv([{ name: '-oAPT::x', version: '1' }])).toThrow(/not a package name/);
    expect(apt.packageFilesArgv(['curl'])).toEqual(['dpkg-query', '-L', '--', 'curl']);
  });

  it.each([
    ['Curl', '1.0'],
    ['curl', '1.0 --allow-downgrades'],
  ] as const)('refuses package %j version %j from a feed', (name, version) => {
    expect(() => apt.updateArgv([{ name, version }])).toThrow(/is not a (package name|version)/);
  });

  it("has no exclude option: its dry run's Inst lines are read", () => {
    const sim: CommandResult = {
      code: 0,
      stdout:
        'Inst libssl3 [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian:12/stable [amd64])\nInst openssl [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian:12/stable [amd64])\nConf libssl3 (3.0.15-1~deb12u1 Debian:12/stable [amd64])\n',
      stderr: '',
    };
    expect(apt.readPrecheck(sim, { targets: [], exclude: ['libssl*'] })).toEqual({
      ok: false,
      missing: [],
      message: 'the update would also change excluded package(s): libssl3',
    });
    expect(apt.readPrecheck(sim, { targets: [], exclude: ['kernel*'] }).ok).toBe(true);
  });
});

// Real apt-get -s on this machine's own package database (Debian): a dry run only.
requires(tools('apt-get', 'dpkg-query')).describe('apt-get -s prechecks against the real package database', () => {
  it('sees an installed version as done and a missing version or package as missing', () => {
    const v = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'bash'], { encoding: 'utf8' });
    const run = (version: string, name = 'bash') => {
      const argv = apt.precheckArgv([{ name, version }]);
      const r = spawnSync(argv[0] ?? 'false', argv.slice(1), { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      return apt.readPrecheck({ code: r.status, stdout: r.stdout, stderr: r.stderr }, { targets: [{ name, version }] });
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
    const available = apt.readAvailable(SHOW);
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
    expect(apt.availableArgvs(['libssl3'])).toEqual([['apt-cache', 'show', 'libssl3']]);
    expect(() => apt.availableArgvs(['-oAPT::x=1'])).toThrow(/not a package name/);
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
    expect(apt.installedArgvs(['bash'])).toEqual([['apt-cache', 'policy', 'bash']]);
  });

  requires(tools('apt-cache', 'dpkg-query')).it('reads what the real apt-cache policy says is installed, as dpkg-query does', () => {
    const policy = spawnSync('apt-cache', ['policy', 'bash', 'bulwark-no-such-package'], { encoding: 'utf8' });
    const v = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'bash'], { encoding: 'utf8' });
    expect(Object.fromEntries(apt.readInstalled(policy.stdout))).toEqual({ bash: [v] });
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
      const offered = apt.readAvailable(show?.stdout ?? '').get('libldb2') ?? [];
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
