import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires, root, testbedTool, tools } from '../../../test/needs.js';
import { pmFixture } from '../../../test/pm-fixtures.js';
import { prepareRpmHost, type RpmHostFiles } from '../../../test/pm-hosts.js';
import { buildRepo, inNamespace } from '../../../test/ssh-fleet.js';
import { readDnfDryRun, readNameEvrLines } from '../rpm-family.js';
import type { Target } from '../types.js';
import { dnf5, readDnf5History } from './index.js';

const UP: Target[] = [
  { name: 'bw-openssl', version: '1:3.3.5-5.azl3' },
  { name: 'bw-curl', version: '0:8.11.1-3.azl3' },
];

describe('dnf5 argv', () => {
  it('runs quiet, chooses a repository with --repo, and gives repoquery a format ending in a backslash-n, without --', () => {
    expect(dnf5.precheckArgv(UP, { extra: dnf5.sourceArgv('azl4.prod:1'), exclude: ['kernel*'] })).toEqual([
      'dnf5',
      '--repo=azl4.prod:1',
      '-q',
      '--exclude=kernel*',
      '--assumeno',
      'install',
      'bw-openssl-1:3.3.5-5.azl3',
      'bw-curl-0:8.11.1-3.azl3',
    ]);
    expect(dnf5.installedArgvs(['bw-curl', 'bw-openssl'])).toEqual([
      ['dnf5', '-q', 'repoquery', '--installed', '--queryformat', '%{name} %{epoch}:%{version}-%{release}\\n', 'bw-curl', 'bw-openssl'],
    ]);
    // The release version is the host's own (/etc/dnf/vars, its release package).
    expect(dnf5.updateArgv(UP.slice(1), { releasever: '4.0' })).toEqual(['dnf5', '-q', '-y', 'install', 'bw-curl-0:8.11.1-3.azl3']);
    expect(() => dnf5.sourceArgv('--nogpgcheck')).toThrow(/is not a repository id/);
    expect(dnf5.capabilities).toEqual({ exclude: 'option', advisoryUpdate: true, historyUndo: false, restartCandidates: false });
    expect(dnf5.history).toBeUndefined();
  });
});

describe('dnf5 outputs, as recorded from the real dnf5 5.0.15', () => {
  it('the recorded commands are the ones the module sends', () => {
    expect(pmFixture('dnf5', 'precheck-upgrade').argv).toEqual(dnf5.precheckArgv(UP));
    expect(pmFixture('dnf5', 'update').argv).toEqual(dnf5.updateArgv(UP));
    expect(pmFixture('dnf5', 'available').argv).toEqual(dnf5.availableArgvs(['bw-openssl', 'bw-curl', 'bw-nosuch'])[0]);
    expect(pmFixture('dnf5', 'update').tool).toBe('dnf5 version 5.0.15');
  });

  it('reads repoquery with the epoch always printed, past the progress bar it prints on stdout even with -q', () => {
    const available = pmFixture('dnf5', 'available');
    expect(available.stdout).toMatch(/^ fleet +100% \|/);
    expect(Object.fromEntries([...dnf5.readAvailable(available.stdout)].map(([n, l]) => [n, l.map((x) => x.version)]))).toEqual({
      'bw-curl': ['0:8.11.1-3.azl3', '0:8.8.0-1.azl3'],
      'bw-openssl': ['1:3.2.0-1.azl3', '1:3.3.0-2.azl3', '1:3.3.5-5.azl3', '1:3.4.0-1.azl3'],
    });
    expect(Object.fromEntries(dnf5.readInstalled(pmFixture('dnf5', 'installed').stdout))).toEqual({
      'bw-curl': ['0:8.8.0-1.azl3'],
      'bw-openssl': ['1:3.3.0-2.azl3'],
    });
    // A backslash-t stays as it is and no line break is added; "--" is refused.
    expect(pmFixture('dnf5', 'repoquery-tab').stdout).toBe('bw-curl\\t8.8.0-1.azl3bw-openssl\\t1:3.3.0-2.azl3');
    expect(readNameEvrLines(pmFixture('dnf5', 'repoquery-tab').stdout).size).toBe(0);
    expect(pmFixture('dnf5', 'repoquery-dashdash')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Unknown argument "--" for command "repoquery"/) as unknown,
    });
  });

  it('reads the dry run: aborted by the user is a plan, a missing or excluded build and a downgrade are refused', () => {
    expect(readDnfDryRun(pmFixture('dnf5', 'precheck-upgrade'))).toEqual({ ok: true, missing: [], message: 'the transaction resolves' });
    expect(readDnfDryRun(pmFixture('dnf5', 'precheck-missing'))).toEqual({
      ok: false,
      missing: ['bw-openssl-1:9.9-1.azl3'],
      message: 'not available: bw-openssl-1:9.9-1.azl3',
    });
    expect(readDnfDryRun(pmFixture('dnf5', 'precheck-excluded'))).toMatchObject({
      ok: false,
      message: "the update needs a package the policy excludes: Argument 'bw-curl-0:8.11.1-3.azl3' matches only excluded packages.",
    });
    expect(readDnfDryRun(pmFixture('dnf5', 'precheck-downgrade'))).toMatchObject({ ok: false, message: 'the transaction would downgrade a package: refused' });
    expect(readDnfDryRun(pmFixture('dnf5', 'precheck-nothing'))).toMatchObject({ ok: true, message: 'already at the planned versions' });
    expect(dnf5.readUpdate(pmFixture('dnf5', 'unknown-option'))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/Unknown argument "--bogus"/) as unknown,
    });
  });

  it('its own advisory commands: advisory list, check-upgrade exiting 100, and upgrade --advisories taking the newest build, not the fix', () => {
    expect(pmFixture('dnf5', 'advisory-list').stdout).toMatch(/^ADV-SSL +security Critical +bw-openssl-1:3\.3\.5-5\.azl3\.noarch/m);
    expect(pmFixture('dnf5', 'check-upgrade').code).toBe(100);
    // Why runs install exact builds: the advisory names 3.3.5, dnf5 would install 3.4.0.
    expect(pmFixture('dnf5', 'upgrade-advisories-dry').stdout).toMatch(/bw-openssl +noarch 1:3\.4\.0-1\.azl3/);
  });

  it('has a history to list but no undo (5.0.15), and no needs-restarting without its plugins', () => {
    expect(readDnf5History(pmFixture('dnf5', 'history-list').stdout)).toEqual([
      { id: 1, command: 'dnf5 -q -y install bw-openssl-1:3.3.5-5.azl3 bw-curl-0:8.11.1-3.azl3' },
    ]);
    expect(pmFixture('dnf5', 'history-undo')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Unknown argument "undo" for command "history"/) as unknown,
    });
    // So a rollback installs the previous build exactly: `install` of an older build downgrades it (exit 0).
    const restore = pmFixture('dnf5', 'restore');
    expect(restore.argv).toEqual(dnf5.restoreArgv([{ name: 'bw-openssl', version: '1:3.2.0-1.azl3' }]));
    expect([restore.code, restore.stdout]).toEqual([0, expect.stringMatching(/Downgrading bw-openssl-1:3\.2\.0-1\./)]);
    expect(dnf5.readInstalled(pmFixture('dnf5', 'installed-after-restore').stdout).get('bw-openssl')).toEqual(['1:3.2.0-1.azl3']);
    expect(pmFixture('dnf5', 'needs-restarting')).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown argument "needs-restarting"/) as unknown });
  });
});

requires(testbedTool('dnf5'), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'unshare'), root('mount namespaces')).describe(
  'the real dnf5 manages the bound rpm database of a host, inside its mount namespace',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-dnf5-'));
    let host: RpmHostFiles;
    const run = (argv: readonly string[]) => inNamespace(host.binds, argv, { ...process.env, PATH: `/usr/local/sbin:${process.env['PATH'] ?? ''}` });
    beforeAll(() => {
      const repo = buildRepo(
        join(dir, 'repo'),
        [
          { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
          { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
          { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
        ],
        [],
      );
      host = prepareRpmHost(dir, { name: 'h', manager: 'dnf5', localRepo: repo, repoUrl: `file://${repo}`, initial: ['bw-openssl-1:3.3.0-2.azl3'] });
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('prechecks, installs exactly the planned build in one transaction, and reads it back', async () => {
      const plan = [{ name: 'bw-openssl', version: '1:3.3.5-5.azl3' }];
      expect(dnf5.readPrecheck(await run(dnf5.precheckArgv(plan)), { targets: plan })).toMatchObject({ ok: true });
      expect(host.installed()).toEqual(['bw-openssl-1:3.3.0-2.azl3']);
      expect(dnf5.readUpdate(await run(dnf5.updateArgv(plan)))).toEqual({ ok: true, message: 'updated' });
      expect(host.installed()).toEqual(['bw-openssl-1:3.3.5-5.azl3']);
      expect(host.transactions()).toHaveLength(1);
      expect(dnf5.readInstalled((await run(dnf5.installedArgvs(['bw-openssl'])[0] ?? [])).stdout).get('bw-openssl')).toEqual(['1:3.3.5-5.azl3']);
      // Below what is installed: a downgrade, refused.
      const down = [{ name: 'bw-openssl', version: '1:3.3.0-2.azl3' }];
      expect(dnf5.readPrecheck(await run(dnf5.precheckArgv(down)), { targets: down })).toMatchObject({
        ok: false,
        message: expect.stringMatching(/downgrade/) as unknown,
      });
    });
  },
);
