import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import { checkIdentityFile } from '../inventory/ssh.js';
import { addHost, sshKeyDir } from './hosts.js';
import { openStore, type Db } from './store.js';
import { createToken } from './tokens.js';

/**
 * Issue #20 item 12b: a host's identity file is read only from the SSH key directory. Named
 * anywhere else, existing or not, readable or not, the answer is the same, and nothing of the
 * file is read: before, /etc/shadow answered "Unsupported key format" and a missing file ENOENT,
 * so an API admin could tell which files exist.
 */
describe('identity files only from the SSH key directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-idfile-'));
  const keys = join(dir, 'ssh-keys');
  let db: Db;
  let app: ReturnType<typeof createApp>;
  let admin = '';
  let operator = '';

  beforeAll(async () => {
    mkdirSync(keys);
    writeFileSync(join(keys, 'id_ed25519'), 'not a key, but inside\n', { mode: 0o600 });
    symlinkSync('/etc/shadow', join(keys, 'escape'));
    db = await openStore({ dbPath: join(dir, 'b.db') });
    app = createApp(db, {
      knownHostsFile: join(dir, 'known_hosts'),
      sshKeyDir: keys,
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: randomBytes(32),
      authFailuresPerMinute: 1000,
    });
    admin = (await createToken(db, { name: 'a', role: 'admin', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    operator = (await createToken(db, { name: 'o', role: 'operator', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const addVia = async (identityFile: string): Promise<{ status: number; text: string }> => {
    const res = await app.request('/api/v1/hosts', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'web-01', address: 'root@127.0.0.1:1', identityFile }),
    });
    return { status: res.status, text: await res.text() };
  };

  it('refuses, through the API, a file outside the directory with one answer whether it exists or not', async () => {
    const answers = await Promise.all(['/etc/shadow', '/nonexistent/id_rsa', join(keys, '..', 'b.db'), join(keys, 'escape')].map(addVia));
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400]);
    for (const [i, f] of ['/etc/shadow', '/nonexistent/id_rsa', join(keys, '..', 'b.db'), join(keys, 'escape')].entries()) {
      expect(JSON.parse(answers[i]?.text ?? '{}')).toEqual({
        error: {
          code: 'config.invalid',
          message: `the identity file ${f} is not in the SSH key directory ${keys} (BULWARK_SSH_KEY_DIR): Bulwark reads private keys only from there`,
          details: { identityFile: f },
        },
      });
    }
    expect((await addVia(join(keys, 'id_ed25519'))).status).toBe(201);
  });

  it('refuses a host stored earlier with a file outside the directory when it is scanned, before reading the file', async () => {
    // Stored without the check (as before this setting existed).
    await addHost(db, { name: 'old-host', address: 'root@127.0.0.1:1', identityFile: '/etc/shadow' });
    const res = await app.request('/api/v1/hosts/old-host/scan', { method: 'POST', headers: { authorization: `Bearer ${operator}` } });
    const body = (await res.json()) as { error: { message: string } };
    expect([res.status, body.error.message]).toEqual([
      502,
      `root@[127.0.0.1]:1: the identity file /etc/shadow is not in the SSH key directory ${keys} (BULWARK_SSH_KEY_DIR): Bulwark reads private keys only from there`,
    ]);
    expect(body.error.message).not.toMatch(/Unsupported key format|ENOENT/);
  });

  it('takes a file in the directory, and reads any file when no directory is set (the CLI as its user)', async () => {
    await expect(checkIdentityFile(join(keys, 'id_ed25519'), keys)).resolves.toBeUndefined();
    await expect(checkIdentityFile('/etc/shadow', null)).resolves.toBeUndefined();
    expect(sshKeyDir({})).toBeNull();
    expect(sshKeyDir({ XDG_DATA_HOME: '/srv/data' }, { server: true })).toBe('/srv/data/bulwark/ssh-keys');
    expect(sshKeyDir({ BULWARK_SSH_KEY_DIR: '/etc/bulwark/keys' }, { server: true })).toBe('/etc/bulwark/keys');
    expect(() => sshKeyDir({ BULWARK_SSH_KEY_DIR: 'keys' })).toThrow(/must be an absolute path/);
  });
});
