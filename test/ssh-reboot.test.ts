import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { addHost } from '../src/services/hosts.js';
import { runTransport } from '../src/services/run-transport.js';
import { openStore } from '../src/services/store.js';
import { startSshHost } from './sshd-hosts.js';
import { requires, sshdHosts } from './needs.js';

/**
 * A run's reboot step over SSH, on a real sshd host (a mount namespace of this machine). Its
 * `systemctl` is a stand-in — a test must never reboot the machine it runs on — and its boot id
 * a file the stand-in may change, as a real reboot does. Rebooted means a new boot id: an answer
 * from a host that never went down (or has not gone down yet) is not a reboot.
 */
requires(sshdHosts()).describe('rebooting a host over SSH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-reboot-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for a new boot id: a host that answers but never rebooted fails the step, one that comes back with a new boot passes it', async () => {
    const bootFile = join(dir, 'boot_id');
    const comesBack = join(dir, 'comes-back');
    const log = join(dir, 'systemctl.log');
    writeFileSync(bootFile, '11111111-1111-4111-8111-111111111111\n');
    // The host's boot time, as /proc/stat gives it: 2027-01-15T08:00:00Z.
    const statFile = join(dir, 'stat');
    writeFileSync(statFile, 'cpu  1 2 3 4\nbtime 1800000000\nprocesses 1\n');
    const fake = join(dir, 'systemctl');
    // sshd runs the stand-in with no way to pass it arguments of ours: the paths are written in
    // as constants, and they are this test's own temporary directory, checked to be plain.
    expect(dir).toMatch(/^[A-Za-z0-9/_.-]+$/);
    writeFileSync(
      fake,
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nif [ "$1" = reboot ] && [ -e '${comesBack}' ]; then echo 22222222-2222-4222-8222-222222222222 > '${bootFile}'; fi\nexit 0\n`,
    );
    chmodSync(fake, 0o755);
    const host = await startSshHost(join(dir, 'host'), {
      address: '127.0.0.90',
      port: 2290,
      binds: [
        [fake, '/usr/bin/systemctl'],
        [bootFile, '/proc/sys/kernel/random/boot_id'],
        [statFile, '/proc/stat'],
      ],
    });
    const db = await openStore({ dbPath: join(dir, 'b.db') });
    try {
      const knownHosts = join(dir, 'known_hosts');
      writeFileSync(knownHosts, `[127.0.0.90]:2290 ${readFileSync(`${host.hostKeyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
      const t = await addHost(db, { name: 'web-1', address: 'root@127.0.0.90:2290', identityFile: host.clientKey });
      const transport = runTransport(db, { knownHostsFile: knownHosts, acceptNewHostKey: false, rebootWaitMs: 2000, rebootPollMs: 200 });

      const stayed = await transport.reboot(t.id);
      expect([stayed.code, stayed.stderr]).toEqual([
        null,
        'no new boot within 2 s of the reboot (boot id still 11111111-1111-4111-8111-111111111111, or the host is not back)',
      ]);
      // A reboot step a dead process had begun before the host's last boot: not rebooted again.
      const resumed = await transport.reboot(t.id, { since: '2027-01-15T07:59:00.000Z' });
      expect([resumed.code, resumed.stdout]).toEqual([
        0,
        'already rebooted: the host booted at 2027-01-15T08:00:00.000Z, after this step began at 2027-01-15T07:59:00.000Z\n',
      ]);
      expect(readFileSync(log, 'utf8')).toBe('reboot\n');
      writeFileSync(comesBack, '');
      const back = await transport.reboot(t.id);
      expect([back.code, back.stdout]).toEqual([0, 'rebooted: boot 11111111-1111-4111-8111-111111111111 -> 22222222-2222-4222-8222-222222222222\n']);
      expect(readFileSync(log, 'utf8')).toBe('reboot\nreboot\n');
    } finally {
      await db.close();
      await host.stop();
    }
  }, 60_000);
});
