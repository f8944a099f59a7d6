import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli.js';
import { startServe, stopServe } from '../../../test/serve-process.js';
import { requires, tool } from '../../../test/needs.js';

describe('bulwark serve and bulwark tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-serve-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the demo fleet, prints its address and a first admin token once, and stops on SIGTERM', async () => {
    const db = join(dir, 'a.db');
    const s = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--demo', '--no-scheduler']);
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(s.token).toMatch(/^bwk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      const me = await fetch(`${s.url}/api/v1/me`, { headers: { authorization: `Bearer ${s.token ?? ''}` } });
      expect((await me.json()) as { role: string; name: string }).toMatchObject({ role: 'admin', name: 'first-admin' });
      const hosts = (await (await fetch(`${s.url}/api/v1/hosts`, { headers: { authorization: `Bearer ${s.token ?? ''}` } })).json()) as {
        items: { name: string }[];
      };
      expect(hosts.items.map((h) => h.name)).toEqual(['demo-azl3-vm']);
      expect((await fetch(`${s.url}/api/v1/hosts`)).status).toBe(401);
      // The findings pages come from the read workers (SQLite): JSON, as every other route answers.
      for (const path of ['/api/v1/findings/groups?by=source&severity=low', '/api/v1/findings?sort=risk&limit=3', '/api/v1/findings?kev=true&sort=package']) {
        const r = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${s.token ?? ''}` } });
        expect(r.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await r.json()) as { total?: number; error?: { code: string } };
        if (path.includes('kev')) expect([r.status, body.error?.code]).toEqual([400, 'input.invalid']);
        else expect([r.status, (body.total ?? 0) > 0]).toEqual([200, true]);
      }
    } finally {
      expect(await stopServe(s.child)).toBe(0);
    }
    // A second start finds a usable admin token: no new one is printed.
    const again = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler']);
    expect(again.token).toBeNull();
    expect(await stopServe(again.child)).toBe(0);
    const list = await runCli(['--db', db, 'tokens', 'list', '--json']);
    expect((JSON.parse(list.out) as { name: string }[]).map((t) => t.name)).toEqual(['first-admin']);
    // Nor when the admin token is gone but an admin logs in with a password.
    const admin = JSON.parse(list.out) as { id: string }[];
    expect((await runCli(['--db', db, 'tokens', 'revoke', admin[0]?.id ?? ''])).code).toBe(0);
    expect((await runCli(['--db', db, 'users', 'set', 'root-admin', '--role', 'admin'], {}, 'a long admin passphrase\n')).code).toBe(0);
    const third = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler']);
    expect(third.token).toBeNull();
    expect(await stopServe(third.child)).toBe(0);
  });

  requires(tool('openssl', { probe: ['version'] })).it(
    'serves HTTPS with the given certificate',
    async () => {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'pipe' },
      );
      const s = await startServe(['--db', join(dir, 'tls.db'), 'serve', '--listen', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key, '--no-scheduler']);
      try {
        expect(s.url).toMatch(/^https:\/\//);
        const status = await new Promise<number>((resolve, reject) => {
          const req = request(`${s.url}/api/v1/health`, { ca: readFileSync(cert) }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(200);
      } finally {
        await stopServe(s.child);
      }
    },
    60_000,
  );

  it('refuses to start with a BULWARK_FEED_ALLOW entry it cannot read: a configuration error (exit 3) naming the entry', async () => {
    const r = await runCli(['--db', join(dir, 'allow.db'), 'serve', '--listen', '127.0.0.1:0', '--no-scheduler'], {
      BULWARK_FEED_ALLOW: 'mirror.corp.example,10.0.0.0/33',
    });
    expect([r.code, r.err]).toEqual([3, 'bulwark: BULWARK_FEED_ALLOW: "10.0.0.0/33" has a prefix longer than an IPv4 address\n']);
  });

  it('refuses to start with a BULWARK_AGENT_MEMORY_MB that is not megabytes: a configuration error (exit 3) naming it, nothing created', async () => {
    const r = await runCli(['--db', join(dir, 'memory.db'), 'serve', '--listen', '127.0.0.1:0', '--no-scheduler'], { BULWARK_AGENT_MEMORY_MB: '64MB' });
    expect([r.code, r.err]).toEqual([3, 'bulwark: BULWARK_AGENT_MEMORY_MB: expected a whole number of megabytes, 0 to 65536 (got "64MB")\n']);
    expect(existsSync(join(dir, 'memory.db'))).toBe(false);
  });

  it('creates, lists and revokes tokens from the CLI; the secret is printed once and never listed', async () => {
    const db = join(dir, 'c.db');
    const created = await runCli(['--db', db, 'tokens', 'create', '--name', 'ci', '--role', 'viewer', '--expires-days', '7'], { USER: 'bob' });
    expect(created.code).toBe(0);
    const token = created.out.trim();
    expect(token).toMatch(/^bwk_/);
    expect(created.err).toMatch(/viewer, expires /);
    const listed = await runCli(['--db', db, 'tokens', 'list']);
    expect(listed.out).toMatch(new RegExp(`ci\\s+viewer\\s+\\S+\\s+cli:${userInfo().username}`));
    expect(listed.out).not.toContain(token.slice('bwk_'.length + 13));
    const id = token.split('_')[1] ?? '';
    expect((await runCli(['--db', db, 'tokens', 'revoke', id])).out).toBe(`token ${id} revoked\n`);
    expect((await runCli(['--db', db, 'tokens', 'revoke', id])).code).toBe(2);
    expect((await runCli(['--db', db, 'tokens', 'create', '--name', 'x', '--role', 'root'])).code).toBe(2);
  });
});

describe('bulwark users', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-users-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets a user with the password from standard input (never an argument), lists and disables them', async () => {
    const db = join(dir, 'u.db');
    expect((await runCli(['--db', db, 'users', 'set', 'alice', '--role', 'operator'], {}, 'a long enough passphrase\n')).out).toBe('user alice: operator\n');
    const short = await runCli(['--db', db, 'users', 'set', 'bob', '--role', 'viewer'], {}, 'short\n');
    expect([short.code, short.err]).toEqual([2, 'bulwark: a password has at least 12 characters\n']);
    expect((await runCli(['--db', db, 'users', 'set', 'bob', '--role', 'viewer'], {}, '')).err).toMatch(/standard input/);
    const list = JSON.parse((await runCli(['--db', db, 'users', 'list', '--json'])).out) as { name: string; role: string; passwordHash?: string }[];
    expect(list.map((u) => [u.name, u.role, u.passwordHash])).toEqual([['alice', 'operator', undefined]]);
    expect((await runCli(['--db', db, 'users', 'disable', 'alice'])).out).toMatch(/alice disabled/);
    expect((await runCli(['--db', db, 'users', 'disable', 'alice'])).code).toBe(2);
  });

  it("copies the server's writes into the SQLite file from its checkpoint worker (the server's own thread checkpoints only past 10,000 pages)", async () => {
    const db = join(dir, 'wal.db');
    const s = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler']);
    try {
      // A write of a few pages by the server, long after start-up's own writes were checkpointed.
      const before = await settled(db);
      const r = await fetch(`${s.url}/api/v1/hosts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'wal-host', address: 'root@192.0.2.7' }),
      });
      expect(r.status).toBe(201);
      // The database file itself changes (its WAL is copied in): SQLite's own checkpoint would
      // wait for 10,000 pages, so only the worker does this. 20 s is a hundred of its 200 ms turns.
      const changed = await changes(db, before, 20_000);
      expect(changed).toBe(true);
    } finally {
      expect(await stopServe(s.child)).toBe(0);
    }
  });
});

/** The SQLite file's bytes once they stop changing (start-up's writes checkpointed). */
async function settled(file: string): Promise<string> {
  let last = digest(file);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = digest(file);
    if (now === last) return now;
    last = now;
  }
}

/** Whether the file's bytes differ from `before` within `ms`. */
async function changes(file: string, before: string, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (digest(file) !== before) return true;
  return false;
}

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
