import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { file, requires } from '../../test/needs.js';
import { waitFor } from '../../test/events.js';
import { readPackageFiles, readStaleProcesses, restartArgv, staleProcessesArgv, unitActiveArgv, unitOfCgroup } from './host-processes.js';

describe('the manager-neutral commands of safe patching', () => {
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
    expect(unitActiveArgv('bw-demo.service')).toEqual(['systemctl', 'is-active', '--', 'bw-demo.service']);
    expect(() => unitActiveArgv('--now')).toThrow(/not a systemd unit/);
    expect([...readPackageFiles('/usr/lib64/libssl.so.3\n(contains no files)\npackage diverted by x to: /y\n/etc/ssl\n')]).toEqual([
      '/usr/lib64/libssl.so.3',
      '/etc/ssl',
    ]);
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
