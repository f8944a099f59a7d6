import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requires, tools } from '../../../test/needs.js';
import { pmFixture } from '../../../test/pm-fixtures.js';
import { buildDummyRpms } from '../../../test/rpm-tools.js';
import { compareRpmEvr } from '../../core/version/rpm.js';
import { resolveTargets } from '../resolve.js';
import type { CommandOptions, CommandResult, Target } from '../types.js';
import { dnf, readDnfHistory } from './index.js';

const UP: Target[] = [
  { name: 'bw-openssl', version: '1:3.3.5-5.azl3' },
  { name: 'bw-curl', version: '0:8.11.1-3.azl3' },
];

describe('dnf argv', () => {
  it('builds exact-version commands', () => {
    expect(dnf.updateArgv([{ name: 'openssl', version: '1:3.3.5-5.azl3', arch: 'x86_64' }])).toEqual(['dnf', '-y', 'install', 'openssl-1:3.3.5-5.azl3.x86_64']);
    expect(dnf.precheckArgv([{ name: 'curl', version: '8.11.1-3.azl3' }], { installroot: '/r', exclude: ['kernel*'] })).toEqual([
      'dnf',
      '--installroot=/r',
      '--exclude=kernel*',
      '--assumeno',
      'install',
      'curl-8.11.1-3.azl3',
    ]);
    expect(dnf.sourceArgv('bulwark-azl3-prod')).toEqual(['--disablerepo=*', '--enablerepo=bulwark-azl3-prod']);
    expect(dnf.refreshArgv()).toBeNull();
    expect(dnf.installedArgvs(['bash'])).toEqual([
      ['dnf', '-q', 'repoquery', '--installed', '--qf', '%{name} %{epoch}:%{version}-%{release}\\n', '--', 'bash'],
    ]);
    expect(dnf.history?.undoArgv(4)).toEqual(['dnf', '-y', 'history', 'undo', '4']);
  });

  it.each([
    ['-rf', '1-1'],
    ['curl', '1.0'],
    ['curl', '1-1; reboot'],
  ] as const)('refuses package %j version %j from a feed', (name, version) => {
    expect(() => dnf.updateArgv([{ name, version }])).toThrow(/is not a (package name|version)/);
  });

  // dnf installs a word ending in .rpm as a local file (over SSH as over the agent).
  it.each([
    { name: 'openssl', version: '1:3.3.5-5.rpm' },
    { name: 'openssl', version: '3.3.5-5.azl3', arch: 'rpm' },
  ])('refuses a target whose word ends in .rpm: %o', (t) => {
    expect(() => dnf.updateArgv([t])).toThrow(/ends in "\.rpm": dnf would read it as a local file/);
    expect(() => dnf.precheckArgv([t])).toThrow(/ends in "\.rpm"/);
    expect(() => dnf.availableArgvs(['bash', 'evil.rpm'])).toThrow(/"evil\.rpm" is not a package name dnf is given/);
    expect(() => dnf.precheckArgv([{ name: 'a', version: '1-1' }], { exclude: ['--setopt=x'] })).toThrow(/is not a package glob dnf is given to exclude/);
  });
});

describe('dnf outputs, as recorded from the real dnf 4', () => {
  it('the recorded commands are the ones the module sends', () => {
    expect(pmFixture('dnf', 'precheck-upgrade').argv).toEqual(dnf.precheckArgv(UP));
    expect(pmFixture('dnf', 'update').argv).toEqual(dnf.updateArgv(UP));
    expect(pmFixture('dnf', 'installed').argv).toEqual(dnf.installedArgvs(['bw-openssl', 'bw-curl', 'bw-nosuch'])[0]);
  });

  it('reads repoquery (a blank line after each record) and the dry runs', () => {
    expect(
      dnf
        .readAvailable(pmFixture('dnf', 'available').stdout)
        .get('bw-openssl')
        ?.map((x) => x.version),
    ).toEqual(['1:3.2.0-1.azl3', '1:3.3.0-2.azl3', '1:3.3.5-5.azl3', '1:3.4.0-1.azl3']);
    expect(Object.fromEntries(dnf.readInstalled(pmFixture('dnf', 'installed').stdout))).toEqual({
      'bw-curl': ['0:8.8.0-1.azl3'],
      'bw-openssl': ['1:3.3.0-2.azl3'],
    });
    const read = (name: string): ReturnType<typeof dnf.readPrecheck> => dnf.readPrecheck(pmFixture('dnf', name), { targets: UP });
    expect(read('precheck-upgrade')).toEqual({ ok: true, missing: [], message: 'the transaction resolves' });
    expect(read('precheck-missing')).toMatchObject({ ok: false, missing: ['bw-openssl-1:9.9-1.azl3'] });
    expect(read('precheck-excluded')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^the update needs a package the policy excludes: All matches were filtered out/) as unknown,
    });
    expect(read('precheck-downgrade')).toMatchObject({ ok: false, message: 'the transaction would downgrade a package: refused' });
    expect(read('precheck-nothing')).toMatchObject({ ok: true, message: 'already at the planned versions' });
    expect(readDnfHistory(pmFixture('dnf', 'history-list').stdout)).toEqual([{ id: 1, command: '-y install bw-openssl-1:' }]);
    expect(readDnfHistory(readFileSync(join(import.meta.dirname, '__fixtures__', 'history-list-two.txt'), 'utf8')).map((e) => e.id)).toEqual([1, 2]);
    expect(readDnfHistory('No transactions\n')).toEqual([]);
    const restore = pmFixture('dnf', 'restore');
    expect(restore.argv).toEqual(dnf.restoreArgv([{ name: 'bw-openssl', version: '1:3.2.0-1.azl3' }]));
    expect([restore.code, restore.stdout]).toEqual([0, expect.stringMatching(/Downgraded:\n +bw-openssl-1:3\.2\.0-1\.azl3/)]);
    expect(() => dnf.restoreArgv([{ name: 'curl', version: '8 ; rm' }])).toThrow(/not a version/);
    expect(() => dnf.history?.undoArgv(0)).toThrow(/not a transaction id/);
  });
});

// Real dnf against a root and a local repository (../shared/testbed recipes 1-3).
const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));
const spawn = (argv: readonly string[]): CommandResult => {
  const r = spawnSync(argv[0] ?? 'false', argv.slice(1), { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

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
  const o: CommandOptions = { installroot: root, extra };
  const q = (): string[] =>
    execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' }).trim().split('\n').sort();

  it('prechecks, refuses a version the repository lacks, updates exactly, and resolves a superseded fix', () => {
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
    expect(dnf.readPrecheck(spawn(dnf.precheckArgv(plan, o)), { targets: plan })).toMatchObject({ ok: true, missing: [] });
    expect(q()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3']); // a dry run changes nothing
    const absent = [{ name: 'bw-openssl', version: '1:3.3.9-1.azl3' }];
    expect(dnf.readPrecheck(spawn(dnf.precheckArgv(absent, o)), { targets: absent })).toMatchObject({ ok: false, missing: ['bw-openssl-1:3.3.9-1.azl3'] });
    expect(dnf.readUpdate(spawn(dnf.updateArgv(plan, o)))).toEqual({ ok: true, message: 'updated' });
    // Exactly the planned build, not the newest (3.4.0) and nothing else touched.
    expect(q()).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3']);
    expect(dnf.readPrecheck(spawn(dnf.precheckArgv(plan, o)), { targets: plan })).toMatchObject({ ok: true, message: 'already at the planned versions' });
    const down = [{ name: 'bw-openssl', version: '1:3.3.0-2.azl3' }];
    expect(dnf.readPrecheck(spawn(dnf.precheckArgv(down, o)), { targets: down })).toMatchObject({
      ok: false,
      message: 'the transaction would downgrade a package: refused',
    });

    // A planned build the repository no longer offers (Fedora's updates keep only the newest):
    // repoquery lists what is, and the lowest later build is taken; a version written without its
    // 0 epoch is the repository's own.
    const listed = spawn(dnf.availableArgvs(['bw-openssl', 'bw-curl', 'bw-nope'], o)[0] ?? []);
    expect(listed.code).toBe(0);
    const offered = dnf.readAvailable(listed.stdout);
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
    expect(dnf.readPrecheck(spawn(dnf.precheckArgv(r.targets.slice(0, 2), o)), { targets: r.targets.slice(0, 2) })).toMatchObject({ ok: true, missing: [] });
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
    const free = spawn(dnf.precheckArgv(plan, { installroot: root, extra }));
    expect(`${free.stdout}${free.stderr}`).toMatch(/bw-ssl-libs/);
    const argv = dnf.precheckArgv(plan, { installroot: root, extra, exclude: ['bw-ssl-libs*'] });
    expect(argv).toContain('--exclude=bw-ssl-libs*');
    const read = dnf.readPrecheck(spawn(argv), { targets: plan, exclude: ['bw-ssl-libs*'] });
    expect(read.ok).toBe(false);
    expect(read.message).toMatch(/exclude/i);
  });
});
