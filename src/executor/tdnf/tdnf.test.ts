import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires, root, testbedTool, tools } from '../../../test/needs.js';
import { pmFixture } from '../../../test/pm-fixtures.js';
import { prepareRpmHost, type RpmHostFiles } from '../../../test/pm-hosts.js';
import { buildRepo, inNamespace } from '../../../test/ssh-fleet.js';
import { compareRpmEvr } from '../../core/version/rpm.js';
import { resolveTargets } from '../resolve.js';
import type { CommandOptions, Target } from '../types.js';
import { readTdnfDryRun, readTdnfHistory, readTdnfRecords, tdnf } from './index.js';

const UP: Target[] = [
  { name: 'bw-openssl', version: '1:3.3.5-5.azl3' },
  { name: 'bw-curl', version: '0:8.11.1-3.azl3' },
];
const o: CommandOptions = { releasever: '3.0' };

describe('tdnf argv', () => {
  it('always names its configuration and the release version, dry-runs with -j --assumeno, and asks repoquery one name at a time', () => {
    expect(tdnf.precheckArgv(UP, o)).toEqual([
      'tdnf',
      '-c',
      '/etc/tdnf/tdnf.conf',
      '--releasever=3.0',
      '-j',
      '--assumeno',
      'install',
      'bw-openssl-1:3.3.5-5.azl3',
      'bw-curl-0:8.11.1-3.azl3',
    ]);
    expect(tdnf.updateArgv(UP.slice(1), { ...o, exclude: ['kernel*'], extra: tdnf.sourceArgv('azl3.prod:1') })).toEqual([
      'tdnf',
      '-c',
      '/etc/tdnf/tdnf.conf',
      '--releasever=3.0',
      '--disablerepo=*',
      '--enablerepo=azl3.prod:1',
      '--exclude=kernel*',
      '-y',
      'install',
      'bw-curl-0:8.11.1-3.azl3',
    ]);
    expect(tdnf.availableArgvs(['a', 'b'], { config: '/r/tdnf.conf', installroot: '/r' })).toEqual([
      ['tdnf', '-c', '/r/tdnf.conf', '--installroot=/r', '-j', 'repoquery', '--available', 'a'],
      ['tdnf', '-c', '/r/tdnf.conf', '--installroot=/r', '-j', 'repoquery', '--available', 'b'],
    ]);
    expect(() => tdnf.installedArgvs(['-x'])).toThrow(/"-x" is not a package name tdnf is given/);
    expect(() => tdnf.updateArgv([{ name: 'a', version: '1-1.rpm' }])).toThrow(/ends in "\.rpm"/);
    // Never -j for an undo: tdnf 3.5.9 runs a -j undo even with --assumeno (fixture history-undo-json-assumeno).
    expect(tdnf.history?.undoArgv(7, o)).toEqual(['tdnf', '-c', '/etc/tdnf/tdnf.conf', '--releasever=3.0', '-y', 'history', 'undo', '--from', '7']);
    expect(tdnf.capabilities).toEqual({ exclude: 'option', advisoryUpdate: false, historyUndo: true, restartCandidates: false });
  });
});

// Outputs of the real tdnf 3.5.9 (scripts/record-pm-fixtures.ts), read as a run reads them.
describe('tdnf outputs, as recorded from the real tdnf 3.5.9', () => {
  it('undoes one transaction with `history undo --from ID` (the positional `history undo ID` plans the same), and restores exact builds by downgrading', () => {
    const from = pmFixture('tdnf', 'history-undo-assumeno');
    const positional = pmFixture('tdnf', 'history-undo-positional-assumeno');
    expect(from.argv.slice(-3)).toEqual(['undo', '--from', '2']);
    expect(positional.argv.slice(-3)).toEqual(['history', 'undo', '2']);
    expect([positional.code, positional.stdout]).toEqual([from.code, from.stdout]);
    expect(from.stdout).toMatch(/Downgrading:\nbw-curl .*8\.8\.0-1\.azl3[\s\S]*bw-openssl .*1:3\.3\.0-2\.azl3/);
    const restore = pmFixture('tdnf', 'restore');
    expect(restore.argv).toEqual(tdnf.restoreArgv([{ name: 'bw-openssl', version: '1:3.2.0-1.azl3' }], o));
    expect([restore.code, restore.stdout]).toEqual([0, expect.stringMatching(/Downgrading:\nbw-openssl +noarch +1:3\.2\.0-1\.azl3/)]);
    expect(tdnf.readInstalled(pmFixture('tdnf', 'installed-after-restore').stdout).get('bw-openssl')).toEqual(['1:3.2.0-1.azl3']);
    expect(tdnf.packageFilesArgv(['bw-openssl'])).toEqual(['rpm', '-ql', '--', 'bw-openssl']);
    expect(() => tdnf.history?.undoArgv(0, o)).toThrow(/not a transaction id/);
  });

  it("marks its '(set)' creation and '(unknown)' rpm database syncs as nothing to undo (recorded under --installroot, where tdnf 3.5.9 logs them)", () => {
    const list = readTdnfHistory(readFileSync(join(import.meta.dirname, '__fixtures__', 'history-list-installroot.txt'), 'utf8'));
    expect(list.filter((e) => e.undoable !== false).map((e) => e.id)).toEqual([2, 3, 6]);
    expect(list.filter((e) => e.undoable === false).map((e) => e.command)).toEqual(['(set)', '(unknown)', '(unknown)', '(unknown)']);
  });

  it('the recorded commands are the ones the module sends', () => {
    expect(pmFixture('tdnf', 'precheck-upgrade').argv).toEqual(tdnf.precheckArgv(UP, o));
    expect(pmFixture('tdnf', 'update').argv).toEqual(tdnf.updateArgv(UP, o));
    expect(pmFixture('tdnf', 'available-bw-openssl').argv).toEqual(tdnf.availableArgvs(['bw-openssl'], o)[0]);
    expect(pmFixture('tdnf', 'history-list').argv).toEqual(tdnf.history?.listArgv(o));
    expect(pmFixture('tdnf', 'update').tool).toBe('tdnf: 3.5.9');
  });

  it('reads repoquery -j records, the epoch kept where tdnf prints it and 0 written where it leaves it out', () => {
    const joined = ['available-bw-openssl', 'available-bw-curl', 'available-bw-nosuch'].map((n) => pmFixture('tdnf', n).stdout).join('\n');
    const offered = readTdnfRecords(joined);
    expect(Object.fromEntries([...offered].map(([n, l]) => [n, l.map((x) => x.version)]))).toEqual({
      'bw-openssl': ['1:3.2.0-1.azl3', '1:3.3.0-2.azl3', '1:3.3.5-5.azl3', '1:3.4.0-1.azl3'],
      'bw-curl': ['0:8.11.1-3.azl3', '0:8.8.0-1.azl3'],
    });
    const installed = tdnf.readInstalled(['installed-bw-openssl', 'installed-bw-curl'].map((n) => pmFixture('tdnf', n).stdout).join('\n'));
    expect(Object.fromEntries(installed)).toEqual({ 'bw-openssl': ['1:3.3.0-2.azl3'], 'bw-curl': ['0:8.8.0-1.azl3'] });
    // A superseded fix resolves to the lowest later build the repository keeps.
    const r = resolveTargets([{ name: 'bw-openssl', version: '1:3.3.4-1.azl3' }], offered, compareRpmEvr, { installed });
    expect(r.targets).toEqual([{ name: 'bw-openssl', version: '1:3.3.5-5.azl3' }]);
    // Two names to one repoquery: Error(902), exit 134.
    expect(pmFixture('tdnf', 'repoquery-two-names')).toMatchObject({ code: 134, stdout: '{"Error":902,"ErrorMessage":"Invalid argument."}' });
  });

  it('reads the -j dry run: the planned transaction (its Evr without the epoch) against the targets', () => {
    expect(readTdnfDryRun(pmFixture('tdnf', 'precheck-upgrade'), { targets: UP })).toEqual({
      ok: true,
      missing: [],
      message: 'the transaction resolves (Upgrade)',
    });
    expect(readTdnfDryRun(pmFixture('tdnf', 'precheck-missing'), { targets: UP })).toEqual({
      ok: false,
      missing: ['bw-openssl-1:9.9-1.azl3'],
      message: 'not available: bw-openssl-1:9.9-1.azl3',
    });
    // An excluded target: tdnf drops it without a word and exits 0.
    const excluded = pmFixture('tdnf', 'precheck-excluded');
    expect([excluded.code, excluded.stdout, excluded.stderr]).toEqual([0, '', '']);
    expect(readTdnfDryRun(excluded, { targets: UP.slice(1), exclude: ['bw-curl'] })).toMatchObject({
      ok: false,
      message: "tdnf's transaction leaves out bw-curl-0:8.11.1-3.azl3 (excluded by the policy, or already installed)",
    });
    expect(readTdnfDryRun(pmFixture('tdnf', 'precheck-downgrade'), { targets: [{ name: 'bw-openssl', version: '1:3.2.0-1.azl3' }] })).toMatchObject({
      ok: false,
      message: 'the transaction would downgrade a package: refused',
    });
    // Excluded packages the transaction would still touch are refused, whatever tdnf decided.
    expect(readTdnfDryRun(pmFixture('tdnf', 'precheck-upgrade'), { targets: UP, exclude: ['bw-op*'] })).toMatchObject({
      ok: false,
      message: 'the update would also change excluded package(s): bw-openssl',
    });
  });

  it('reads exit statuses as its error numbers', () => {
    expect(tdnf.readUpdate(pmFixture('tdnf', 'update'))).toEqual({ ok: true, message: 'updated' });
    expect(tdnf.readUpdate(pmFixture('tdnf', 'unknown-option'))).toEqual({
      ok: false,
      message: 'tdnf exited 140 (Error(908) unknown option): Error(908) : Command line error: option is invalid.',
    });
    expect(tdnf.readUpdate(pmFixture('tdnf', 'no-releasever')).message).toMatch(/^tdnf exited 254 \(Error\(1022\) release version unknown.*distroverpkg/);
    expect(tdnf.readUpdate(pmFixture('tdnf', 'precheck-missing')).message).toMatch(/^tdnf exited 243 \(Error\(1011\) no matching packages\)/);
    // An update whose only target is excluded "succeeds" with nothing done: the run reads the installed versions back.
    expect(pmFixture('tdnf', 'update-excluded')).toMatchObject({ code: 0, stderr: 'Nothing to do.\n' });
  });

  it('check-update is not used: it prints a literal %s and ignores --exclude', () => {
    // Its columns are joined by carriage returns around a literal %s.
    expect(pmFixture('tdnf', 'check-update').stdout).toMatch(/fleet\r%s\rbw-curl\.noarch/);
    expect(pmFixture('tdnf', 'check-update').code).toBe(0);
    // --exclude=bw-curl was given: bw-curl is listed all the same.
    expect(readTdnfRecords(pmFixture('tdnf', 'check-update-json-exclude').stdout).get('bw-curl')).toEqual([
      { version: '0:8.11.1-3.azl3', source: '0:8.11.1-3.azl3' },
    ]);
  });

  it('reads its history: the "(set)" baseline first, then each transaction; a -j undo runs despite --assumeno', () => {
    expect(readTdnfHistory(pmFixture('tdnf', 'history-list').stdout)).toEqual([
      { id: 1, command: '(set)', undoable: false },
      { id: 2, command: '-c /etc/tdnf/tdnf.conf --releasever=3.0 -y install bw-openssl-1:3.3.5-5.azl3 bw-curl-0:8.11.1-3.azl3' },
    ]);
    expect(pmFixture('tdnf', 'history-undo-assumeno').code).toBe(8);
    expect(pmFixture('tdnf', 'history-undo-json-assumeno').code).toBe(0);
    expect(tdnf.readInstalled(pmFixture('tdnf', 'installed-after-json-undo-bw-openssl').stdout).get('bw-openssl')).toEqual(['1:3.3.0-2.azl3']);
  });
});

// The real tdnf on a host of its own (its rpm database, configuration, cache and history bound
// over this machine's in a mount namespace, as the sshd test hosts have them).
requires(testbedTool('tdnf'), tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'unshare'), root('mount namespaces')).describe(
  'the real tdnf manages the bound rpm database of a host, inside its mount namespace',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-tdnf-'));
    let host: RpmHostFiles;
    const run = (argv: readonly string[]) => inNamespace(host.binds, argv, { ...process.env, PATH: `/usr/local/sbin:${process.env['PATH'] ?? ''}` });
    beforeAll(() => {
      const repo = buildRepo(
        join(dir, 'repo'),
        [
          { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
          { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
          { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
          { name: 'bw-ssl-libs', version: '1.0', release: '1' },
          { name: 'bw-ssl-libs', version: '2.0', release: '1' },
          { name: 'bw-ssl', version: '1.0', release: '1' },
          { name: 'bw-ssl', version: '2.0', release: '1', requires: ['bw-ssl-libs >= 2.0'] },
        ],
        [],
      );
      host = prepareRpmHost(dir, {
        name: 'h',
        manager: 'tdnf',
        localRepo: repo,
        repoUrl: `file://${repo}`,
        initial: ['bw-openssl-1:3.3.0-2.azl3', 'bw-ssl-1.0-1', 'bw-ssl-libs-1.0-1'],
      });
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('prechecks, installs exactly the planned build, refuses what an exclude holds back, records one transaction, and undoes it', async () => {
      const plan = [{ name: 'bw-openssl', version: '1:3.3.5-5.azl3' }];
      const pre = await run(tdnf.precheckArgv(plan, o));
      expect(tdnf.readPrecheck(pre, { targets: plan })).toMatchObject({ ok: true });
      expect(host.installed()).toContain('bw-openssl-1:3.3.0-2.azl3');
      // A dependency the policy excludes: tdnf refuses the transaction, and so does the precheck.
      const ssl = [{ name: 'bw-ssl', version: '0:2.0-1' }];
      const held = await run(tdnf.precheckArgv(ssl, { ...o, exclude: ['bw-ssl-libs*'] }));
      expect([held.code, tdnf.readPrecheck(held, { targets: ssl, exclude: ['bw-ssl-libs*'] }).ok]).toEqual([held.code, false]);
      expect(held.code).not.toBe(0);
      const up = await run(tdnf.updateArgv(plan, o));
      expect(tdnf.readUpdate(up)).toEqual({ ok: true, message: 'updated' });
      // Exactly the planned build, not the newest (3.4.0), and nothing else touched.
      expect(host.installed()).toEqual(['bw-openssl-1:3.3.5-5.azl3', 'bw-ssl-0:1.0-1', 'bw-ssl-libs-0:1.0-1']);
      expect(host.transactions()).toEqual(['-c /etc/tdnf/tdnf.conf --releasever=3.0 -y install bw-openssl-1:3.3.5-5.azl3']);
      const installed = tdnf.readInstalled((await run(tdnf.installedArgvs(['bw-openssl'], o)[0] ?? [])).stdout);
      expect(installed.get('bw-openssl')).toEqual(['1:3.3.5-5.azl3']);
      // Its history, and the undo of that transaction: back on the old build.
      const list = tdnf.history?.readList((await run(tdnf.history.listArgv(o))).stdout) ?? [];
      expect(list.map((e) => e.command)).toEqual(['(set)', '-c /etc/tdnf/tdnf.conf --releasever=3.0 -y install bw-openssl-1:3.3.5-5.azl3']);
      const undo = await run(tdnf.history?.undoArgv(list[1]?.id ?? 0, o) ?? []);
      expect(undo.code).toBe(0);
      expect(host.installed()).toContain('bw-openssl-1:3.3.0-2.azl3');
    });
  },
);
