import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { file, requires } from '../../test/needs.js';
import { waitFor } from '../../test/events.js';
import {
  historyListArgv,
  installedVersionsArgv,
  readHistoryIds,
  readInstalledVersions,
  readStaleProcesses,
  restartArgv,
  restoreArgv,
  staleProcessesArgv,
  undoArgv,
  unitOfCgroup,
} from './safety.js';

describe('safe patching commands per package manager', () => {
  it('reads the transaction ids of dnf 4 (its table, recorded from the real dnf) and tdnf (-j JSON)', () => {
    expect(readHistoryIds('dnf', readFileSync(join(import.meta.dirname, '__fixtures__', 'dnf4-history-list.txt'), 'utf8'))).toEqual([1, 2]);
    expect(readHistoryIds('dnf', 'No transactions\n')).toEqual([]);
    expect(readHistoryIds('tdnf', '[{"Id":3,"CmdLine":"install x","TimeStamp":1,"AddedCount":1,"RemovedCount":0},{"Id":1,"CmdLine":"init"}]')).toEqual([1, 3]);
    // Recorded from the real tdnf 3.5.9 (testbed build) after an install, an update and `history undo 3`:
    // its "(set)" creation and "(unknown)" rpm database syncs are not transactions to undo.
    expect(readHistoryIds('tdnf', readFileSync(join(import.meta.dirname, '__fixtures__', 'tdnf-3.5.9-history-list.json'), 'utf8'))).toEqual([2, 3, 6]);
    expect(() => readHistoryIds('tdnf', 'Error(1011)')).toThrow(/no JSON/);
    expect(historyListArgv('apt')).toBeNull();
    expect(historyListArgv('tdnf', { installroot: '/r' })).toEqual(['tdnf', '--installroot=/r', '-j', 'history', 'list']);
  });

  it('undoes with the history where the manager keeps one, and installs exact previous versions with apt', () => {
    expect(undoArgv('dnf', 7)).toEqual(['dnf', '-y', 'history', 'undo', '7']);
    expect(undoArgv('tdnf', 2)).toEqual(['tdnf', '-y', 'history', 'undo', '2']);
    expect(() => undoArgv('apt', 1)).toThrow(/no transaction history/);
    expect(() => undoArgv('dnf', 0)).toThrow(/not a transaction id/);
    expect(restoreArgv('apt', [{ name: 'curl', version: '7.88.1-10+deb12u5' }])).toEqual([
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
    expect(() => restoreArgv('apt', [{ name: '-oAPT::x', version: '1' }])).toThrow(/not a package name/);
    expect(() => restoreArgv('dnf', [{ name: 'curl', version: '8 ; rm' }])).toThrow(/not a version/);
  });

  it('reads installed versions: rpm lines, and only what dpkg has installed', () => {
    expect(installedVersionsArgv('dnf', ['openssl'])).toEqual(['rpm', '-q', '--qf', '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n', '--', 'openssl']);
    expect([...readInstalledVersions('dnf', 'kernel 0:6.6.1-1.azl3\nkernel 0:6.6.2-1.azl3\npackage nope is not installed\n')]).toEqual([
      ['kernel', ['0:6.6.1-1.azl3', '0:6.6.2-1.azl3']],
    ]);
    expect([...readInstalledVersions('apt', 'ii  curl 7.88.1-10+deb12u5\nrc  old 1.0\nii  libc6:amd64 2.36-9\n')]).toEqual([
      ['curl', ['7.88.1-10+deb12u5']],
      ['libc6', ['2.36-9']],
    ]);
  });

  it('finds the unit of a process from its cgroup (v1 name=systemd, v2), and restarts only valid unit names', () => {
    expect(unitOfCgroup('/system.slice/nginx.service')).toBe('nginx.service');
    expect(unitOfCgroup('/system.slice/nginx.service/worker')).toBe('nginx.service');
    expect(unitOfCgroup('/user.slice/user-0.slice/session-3.scope')).toBeNull();
    expect(unitOfCgroup('/')).toBeNull();
    const read = readStaleProcesses(
      [
        'P 10 nginx',
        'C 10 9:name=systemd:/system.slice/nginx.service',
        'C 10 0::/',
        'M 10 /usr/lib64/libssl.so.3',
        'P 1 systemd',
        'C 1 0::/init.scope',
        'M 1 /usr/lib64/libc.so.6',
      ].join('\n'),
    );
    expect(read).toEqual([
      { pid: 1, comm: 'systemd', unit: null, files: ['/usr/lib64/libc.so.6'] },
      { pid: 10, comm: 'nginx', unit: 'nginx.service', files: ['/usr/lib64/libssl.so.3'] },
    ]);
    expect(restartArgv(['nginx.service'])).toEqual(['systemctl', 'restart', '--', 'nginx.service']);
    expect(() => restartArgv(['x; reboot'])).toThrow(/not a systemd unit/);
  });
});

const needs = requires(file('/lib/x86_64-linux-gnu/libz.so.1', "zlib's shared library"));

needs.describe('the /proc scan for processes mapping replaced files', () => {
  needs.it('names a real process that maps a library deleted since it started, and not one whose file is still there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-stale-'));
    // Not under /tmp for the scan's sake (temporary files are left out): a directory of our own under /var/lib.
    const libDir = mkdtempSync('/var/lib/bulwark-stale-');
    const lib = join(libDir, 'libdemo.so.1');
    copyFileSync('/lib/x86_64-linux-gnu/libz.so.1', lib);
    const child = spawn('sleep', ['1000'], { env: { ...process.env, LD_PRELOAD: lib }, stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      await waitFor(() => readFileSync(`/proc/${String(pid)}/maps`, 'utf8').includes(lib), { what: 'sleep to map the library' });
      const [cmd = '', ...args] = staleProcessesArgv();
      const before = readStaleProcesses(execFileSync(cmd, args, { encoding: 'utf8' }));
      expect(before.find((p) => p.pid === pid)).toBeUndefined();
      rmSync(lib);
      const after = readStaleProcesses(execFileSync(cmd, args, { encoding: 'utf8' }));
      expect(after.find((p) => p.pid === pid)).toEqual({ pid, comm: 'sleep', unit: null, files: [lib] });
    } finally {
      child.kill('SIGKILL');
      rmSync(libDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
