import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StoredTarget } from '../../storage/index.js';
import { HOST_TRANSPORTS, packageManagerOf, requireTransport, transportOf } from './index.js';
import { sshAddress, sshTargetOf } from './ssh.js';

const target = (address: string | null): StoredTarget => ({ name: 'web-01', address }) as StoredTarget;

describe('the host transport registry', () => {
  it('lists every module of its folder once, under its own id, each able to run, reboot and re-inventory a host', () => {
    const modules = readdirSync(import.meta.dirname)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts' && f !== 'types.ts')
      .map((f) => f.slice(0, -3));
    expect(Object.keys(HOST_TRANSPORTS).sort()).toEqual(modules.sort());
    for (const [id, t] of Object.entries(HOST_TRANSPORTS)) {
      expect(t.id).toBe(id);
      expect([typeof t.exec, typeof t.reboot]).toEqual(['function', 'function']);
      // Re-inventory: the server collects (SSH), or the host reports when asked (agent).
      expect(t.collect !== undefined || t.rescan !== undefined).toBe(true);
    }
  });

  it.each([
    ['ssh://root@10.0.0.5:22', 'ssh'],
    ['ssh://bulwark@[fd00::5]:2222?sudo=1&pm=dnf', 'ssh'],
    ['agent://0123456789abcdef?pm=dnf', 'agent'],
    ['telnet://10.0.0.5', null],
    ['sshx://10.0.0.5', null],
    [null, null],
  ])('reads the transport of %j as %j', (address, id) => {
    expect(transportOf(target(address))?.id ?? null).toBe(id);
  });

  it('names the host that has no transport, and reads ?pm= only from addresses it knows', () => {
    expect(() => requireTransport(target(null))).toThrow(/target "web-01" has no address Bulwark reaches it by/);
    expect([
      packageManagerOf(target('agent://0123456789abcdef?pm=dnf')),
      packageManagerOf(target('ssh://root@h:22?pm=apt')),
      packageManagerOf(target('file://x?pm=dnf')),
      packageManagerOf(target('ssh://root@h:22?pm=yum')),
    ]).toEqual(['dnf', 'apt', null, null]);
  });

  it('writes an SSH address that reads back the same', () => {
    const address = sshAddress({ user: 'bulwark', host: 'fd00::5', port: 2222, identityFile: '/keys/id ed25519', sudo: true, packageManager: 'dnf' });
    expect(address).toBe('ssh://bulwark@[fd00::5]:2222?identity=%2Fkeys%2Fid+ed25519&sudo=1&pm=dnf');
    expect(sshTargetOf(target(address))).toEqual({ host: 'fd00::5', port: 2222, user: 'bulwark', identityFile: '/keys/id ed25519', sudo: true });
  });
});
