import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Db } from '../services/store.js';
import { createToken } from '../services/tokens.js';
import { rawKysely } from '../storage/index.js';
import { publicUrlOf, startServer } from './server.js';
import { refusingTransport } from '../../test/refusing-transport.js';

/**
 * The agent install command an admin is given names the server as hosts reach it: the public URL
 * when one is set (BULWARK_PUBLIC_URL), else what a trusted proxy forwards (X-Forwarded-Proto and
 * -Host), never the Host or forwarded headers of a client that is not a trusted proxy. On the real
 * server, with real sockets (node:http, which lets a test set Host).
 */
const refusing = refusingTransport;

function installFrom(url: string, token: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/api/v1/agents/enrollment-tokens`,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { install?: string };
          resolve(/^curl -fsS (\S+)\/agent\/v1\/bulwark-agent\.sh /.exec(body.install ?? '')?.[1] ?? `status ${String(res.statusCode)}`);
        });
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

describe('the agent install command names the server as hosts reach it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-origin-'));
  let db: Db;
  let admin = '';
  const servers: { url: string; close: () => Promise<void> }[] = [];
  const serve = async (o: { trustProxy?: string[]; publicUrl?: string }) => {
    const s = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'kh'),
      transport: () => refusing,
      version: 'test',
      agentServerKey: randomBytes(32),
      ...o,
    });
    servers.push(s);
    return s.url;
  };

  beforeAll(async () => {
    db = await openStore({ dbPath: join(dir, 'b.db') });
    admin = (await createToken(db, { name: 'a', role: 'admin', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the public URL whatever Host or forwarded headers say', async () => {
    const url = await serve({ publicUrl: 'https://bulwark.example.com:8443', trustProxy: ['127.0.0.1'] });
    expect(await installFrom(url, admin, { host: 'attacker.example' })).toBe('https://bulwark.example.com:8443');
    expect(await installFrom(url, admin, { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'attacker.example' })).toBe('https://bulwark.example.com:8443');
  });

  it('believes X-Forwarded-Proto and -Host from a trusted proxy only', async () => {
    const behind = await serve({ trustProxy: ['127.0.0.1'] });
    expect(await installFrom(behind, admin, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'bulwark.example.com' })).toBe('https://bulwark.example.com');
    // A malformed forwarded host is not used.
    expect(await installFrom(behind, admin, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example/x?' })).toBe(behind);
    const direct = await serve({});
    expect(await installFrom(direct, admin, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'attacker.example' })).toBe(direct);
  });

  it('without a public URL, refuses a Host header that is not a plain host name (it went unquoted into a root shell command), and makes no token', async () => {
    const direct = await serve({});
    const port = new URL(direct).port;
    const tokens = async () => (await rawKysely(db).selectFrom('enrollment_tokens').select('id').execute()).length;
    const before = await tokens();
    for (const host of [`a.example;reboot:${port}`, `a$(id):${port}`, `a&&reboot:${port}`, 'a`id`', `a'b:${port}`])
      expect([host, await installFrom(direct, admin, { host })]).toEqual([host, 'status 400']);
    expect(await installFrom(direct, admin, { host: `bulwark.example:${port}` })).toBe(`http://bulwark.example:${port}`);
    expect(await installFrom(direct, admin, { host: `[::1]:${port}` })).toBe(`http://[::1]:${port}`);
    // Only the two good requests made tokens.
    expect((await tokens()) - before).toBe(2);
  });

  it('takes BULWARK_PUBLIC_URL as scheme://host[:port] only', () => {
    expect(publicUrlOf('https://bulwark.example.com/')).toBe('https://bulwark.example.com');
    expect(publicUrlOf('http://[fd00::1]:8080')).toBe('http://[fd00::1]:8080');
    expect(publicUrlOf(undefined)).toBeUndefined();
    for (const bad of ['bulwark.example.com', 'https://a.example/path', 'https://u@a.example', 'ftp://a.example', 'https://a.example;id'])
      expect(() => publicUrlOf(bad)).toThrow(/BULWARK_PUBLIC_URL/);
  });
});
