import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRpmRoot } from '../../test/rpm-tools.js';
import { startSshHost, type SshHost } from '../../test/sshd-hosts.js';
import { appendKnownHost, fingerprint, hostKeyName, knownHostsLine, parseKnownHosts, verifyHostKey } from './known-hosts.js';
import { collectSsh, mapBounded, shellQuote } from './ssh.js';
import { requires, sshdHosts, tool } from '../../test/needs.js';

describe('known_hosts', () => {
  const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 4, 1, 2, 3, 4])]).toString('base64');
  const other = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 4, 9, 9, 9, 9])]).toString('base64');
  it('accepts the recorded key, refuses a changed one, and says what to do with an unknown host', () => {
    const entries = parseKnownHosts(
      `# comment\n${knownHostsLine('[10.0.0.5]:2222', key)}web-01,10.0.0.6 ssh-ed25519 ${key}\n@revoked * ssh-ed25519 ${other}\n`,
    );
    expect(verifyHostKey(entries, '[10.0.0.5]:2222', key)).toEqual({ ok: true });
    expect(verifyHostKey(entries, '10.0.0.6', key)).toEqual({ ok: true });
    const third = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 4, 5, 5, 5, 5])]).toString('base64');
    const changed = verifyHostKey(entries, '[10.0.0.5]:2222', third);
    expect(changed).toMatchObject({ ok: false, reason: 'changed' });
    expect(verifyHostKey(entries, '10.0.0.9', other)).toMatchObject({ ok: false, reason: 'revoked' });
    const unknown = verifyHostKey(entries, 'new-host', key);
    expect(unknown).toMatchObject({ ok: false, reason: 'unknown' });
    expect(unknown.ok ? '' : unknown.message).toContain(fingerprint(key));
    expect(hostKeyName('h', 22)).toBe('h');
  });

  it('appends a new key on a line of its own when the file does not end with a newline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-kh-'));
    try {
      const f = join(dir, 'known_hosts');
      writeFileSync(f, `web-01 ssh-ed25519 ${other}`);
      await appendKnownHost(f, '[10.0.0.5]:2222', key);
      await appendKnownHost(f, 'web-02', other);
      expect(readFileSync(f, 'utf8')).toBe(`web-01 ssh-ed25519 ${other}\n[10.0.0.5]:2222 ssh-ed25519 ${key}\nweb-02 ssh-ed25519 ${other}\n`);
      const entries = parseKnownHosts(readFileSync(f, 'utf8'));
      expect([verifyHostKey(entries, 'web-01', other), verifyHostKey(entries, '[10.0.0.5]:2222', key)]).toEqual([{ ok: true }, { ok: true }]);
      // A new file is made private to its owner.
      await appendKnownHost(join(dir, 'new_hosts'), 'web-03', key);
      expect([readFileSync(join(dir, 'new_hosts'), 'utf8'), statSync(join(dir, 'new_hosts')).mode & 0o777]).toEqual([`web-03 ssh-ed25519 ${key}\n`, 0o600]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  requires(tool('ssh-keygen', { probe: ['-?'], startsOnly: true })).it('matches hashed entries as ssh-keygen -H writes them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-kh-'));
    try {
      const f = join(dir, 'known_hosts');
      writeFileSync(f, knownHostsLine('[127.0.0.9]:2200', key));
      execFileSync('ssh-keygen', ['-H', '-f', f], { stdio: 'pipe' });
      const text = readFileSync(f, 'utf8');
      expect(text.startsWith('|1|')).toBe(true);
      expect(verifyHostKey(parseKnownHosts(text), '[127.0.0.9]:2200', key)).toEqual({ ok: true });
      expect(verifyHostKey(parseKnownHosts(text), '[127.0.0.9]:2201', key)).toMatchObject({ reason: 'unknown' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const OS_AZL3 =
  'NAME="Microsoft Azure Linux"\nVERSION="3.0.20250206"\nID=azurelinux\nVERSION_ID="3.0"\nPRETTY_NAME="Microsoft Azure Linux 3.0"\nID_LIKE=fedora\n';

requires(sshdHosts(), tool('rpmbuild')).describe('collecting over SSH from real sshd hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ssh-'));
  const hosts: SshHost[] = [];
  afterAll(async () => {
    for (const h of hosts) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies host keys (refuses unknown without consent, records with it, refuses a changed key) and reads each host's own packages", async () => {
    const rootA = buildRpmRoot(
      join(dir, 'a-build'),
      join(dir, 'a-root'),
      [
        { name: 'openssl', version: '3.3.0', release: '2.azl3' },
        { name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3' },
      ],
      { ownSource: true },
    );
    const a = await startSshHost(join(dir, 'a'), { address: '127.0.0.2', port: 2222, rpmRoot: rootA, osRelease: OS_AZL3 });
    hosts.push(a);
    const knownHostsFile = join(dir, 'known_hosts');
    const target = { host: a.address, port: a.port, user: 'root', identityFile: a.clientKey, sudo: false };
    await expect(collectSsh(target, { knownHostsFile, acceptNewHostKey: false })).rejects.toThrow(
      /\[127\.0\.0\.2\]:2222 is not in known_hosts \(its key is SHA256:.*--accept-new-host-key/,
    );
    const inv = await collectSsh(target, { knownHostsFile, acceptNewHostKey: true });
    expect(inv.release).toBe('azurelinux:3.0');
    expect(inv.packages.map((p) => `${p.name} ${String(p.epoch)}:${p.version}-${p.release ?? ''} ${p.sourceName ?? ''}`).sort()).toEqual([
      'openssl 0:3.3.0-2.azl3 openssl',
      'perl 4:5.38.2-509.azl3 perl',
    ]);
    expect(inv.runningKernel).toMatch(/\S/);
    // The key was recorded as ssh would: a second connection needs no consent.
    expect(readFileSync(knownHostsFile, 'utf8')).toContain(`[127.0.0.2]:2222 ssh-ed25519 ${a.hostPublicKey.split(' ')[1] ?? ''}`);
    expect((await collectSsh(target, { knownHostsFile, acceptNewHostKey: false })).packages).toHaveLength(2);
    // The same address with a new key: refused, even with --accept-new-host-key.
    await a.stop();
    hosts.pop();
    const a2 = await startSshHost(join(dir, 'a2'), { address: '127.0.0.2', port: 2222, rpmRoot: rootA, osRelease: OS_AZL3, clientKey: a.clientKey });
    hosts.push(a2);
    await expect(collectSsh(target, { knownHostsFile, acceptNewHostKey: true })).rejects.toThrow(/host key of \[127\.0\.0\.2\]:2222 has CHANGED/);
  });

  it('scans several hosts with bounded concurrency; a dead host is an error on that host only', async () => {
    const rootB = buildRpmRoot(join(dir, 'b-build'), join(dir, 'b-root'), [{ name: 'curl', version: '8.8.0', release: '1.azl3' }], { ownSource: true });
    const b = await startSshHost(join(dir, 'b'), { address: '127.0.0.3', port: 2222, rpmRoot: rootB, osRelease: OS_AZL3 });
    hosts.push(b);
    const c = await startSshHost(join(dir, 'c'), { address: '127.0.0.4', port: 2222, rpmRoot: rootB, osRelease: OS_AZL3 });
    hosts.push(c);
    const knownHostsFile = join(dir, 'known_hosts-fleet');
    // A file whose last line has no final newline (edited by hand): new entries start a line of their own.
    const handKey = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 4, 9, 9, 9, 9])]).toString('base64');
    writeFileSync(knownHostsFile, `old-host ssh-ed25519 ${handKey}`);
    const targets = [
      { host: b.address, port: 2222, user: 'root', identityFile: b.clientKey, sudo: false },
      { host: '127.0.0.5', port: 2222, user: 'root', identityFile: b.clientKey, sudo: false },
      { host: c.address, port: 2222, user: 'root', identityFile: c.clientKey, sudo: false },
    ];
    const results = await mapBounded(targets, 2, (t) => collectSsh(t, { knownHostsFile, acceptNewHostKey: true, timeoutMs: 5000 }));
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const bad = results[1];
    expect(bad?.ok === false ? bad.error.message : '').toMatch(/root@\[127\.0\.0\.5\]:2222: cannot connect/);
    expect(results[0]?.ok === true ? results[0].value.packages.map((p) => p.name) : []).toEqual(['curl']);
    // Both recorded keys are known now, and the hand-written host's key is as it was.
    for (const t of [targets[0], targets[2]])
      if (t !== undefined) expect((await collectSsh(t, { knownHostsFile, acceptNewHostKey: false, timeoutMs: 5000 })).packages).toHaveLength(1);
    expect(verifyHostKey(parseKnownHosts(readFileSync(knownHostsFile, 'utf8')), 'old-host', handKey)).toEqual({ ok: true });
  });
});

describe('shellQuote', () => {
  it.each([
    ['dnf', 'dnf'],
    ['openssl-1:3.3.5-5.azl3.x86_64', 'openssl-1:3.3.5-5.azl3.x86_64'],
    ["it's", "'it'\\''s'"],
    ['a b;rm -rf /', "'a b;rm -rf /'"],
    ['$(reboot)', "'$(reboot)'"],
    ['', "''"],
  ])('%j → %s', (arg, quoted) => {
    expect(shellQuote(arg)).toBe(quoted);
    // The real shell reads it back as the same single word.
    expect(execFileSync('sh', ['-c', `printf '%s' ${quoted}`], { encoding: 'utf8' })).toBe(arg);
  });
});
