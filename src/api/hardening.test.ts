import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import type { Db } from '../services/store.js';
import { auditLog } from '../services/audit.js';
import { listPolicies } from '../services/policies.js';
import { createToken, type Role } from '../services/tokens.js';
import { createApp } from './app.js';

/**
 * What an attack on the service found (issue #20), on SQLite and PostgreSQL: NUL bytes, bodies
 * read before their credential, policy bodies that name another policy or nest deep, removals
 * of what does not exist.
 */
const policy = (name: string, reboot = 'never'): string => `apiVersion: bulwark/v1
kind: Policy
name: ${name}
cadence: { monthly: { weekday: tuesday, week: 2 } }
rollout: { rings: [{ name: all, percent: 100 }] }
reboot: ${reboot}
`;

describe.each(testDatabases())('the hardened HTTP API on $name', ({ open }) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-hard-'));
  let db: Db;
  let app: ReturnType<typeof createApp>;
  const tokens = new Map<Role, string>();
  const logged: string[] = [];

  beforeAll(async () => {
    db = await open();
    for (const role of ['viewer', 'operator', 'admin'] as const) tokens.set(role, (await createToken(db, { name: `t-${role}`, role, expiresInDays: 1, actor: 'test' })).token);
    app = createApp(db, { knownHostsFile: join(dir, 'known_hosts'), transport: () => refusingTransport, version: 'test', agentServerKey: randomBytes(32), authFailuresPerMinute: 1000, log: (msg, meta) => logged.push(`${msg} ${JSON.stringify(meta)}`) });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, o: { role?: Role; json?: string; text?: string } = {}): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (o.role !== undefined) headers['authorization'] = `Bearer ${tokens.get(o.role) ?? ''}`;
    if (o.json !== undefined) headers['content-type'] = 'application/json';
    const body = o.json ?? o.text;
    return Promise.resolve(app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }));
  };
  const answer = async (r: Response): Promise<string> => `${String(r.status)} ${((await r.json()) as { error?: { message: string } }).error?.message ?? 'ok'}`;

  it('refuses NUL in paths, queries and JSON or text bodies with 400, before any lookup (PostgreSQL answered 500)', async () => {
    const cases: [string, string, { role?: Role; json?: string; text?: string }, string][] = [
      ['GET', '/repos/%00/prod/x', {}, 'the path holds a NUL byte'],
      ['GET', '/repos/view/prod/repodata%00/repomd.xml', {}, 'the path holds a NUL byte'],
      ['GET', '/api/v1/hosts/a%00b', { role: 'viewer' }, 'the path holds a NUL byte'],
      ['GET', '/api/v1/advisories/osv/a%00', { role: 'viewer' }, 'the path holds a NUL byte'],
      ['GET', '/api/v1/hosts/a%00b', {}, 'the path holds a NUL byte'],
      ['GET', '/api/v1/findings?host=a%00b', { role: 'viewer' }, 'the query holds a NUL byte'],
      ['GET', '/api/v1/advisories?cve=CVE-2024-1%00', { role: 'viewer' }, 'the query holds a NUL byte'],
      ['GET', '/api/v1/audit?subject=%00', { role: 'operator' }, 'the query holds a NUL byte'],
      ['GET', '/api/v1/findings?a%00=1', { role: 'viewer' }, 'the query holds a NUL byte'],
      ['POST', '/api/v1/session', { json: '{"user":"a\\u0000b","password":"correct horse"}' }, 'the body holds a NUL byte'],
      ['POST', '/api/v1/feeds', { role: 'admin', json: '{"id":"f","location":"https://mirror.example/x","format":"osv","description":"a\\u0000"}' }, 'the body holds a NUL byte'],
      ['POST', '/api/v1/decisions', { role: 'operator', json: '{"policy":"p","advisory":"A-1","kind":"hold","reason":"r","x\\u0000":1}' }, 'the body holds a NUL byte'],
      ['POST', '/api/v1/tokens', { role: 'admin', json: '{"name":["a","b\\u0000"],"role":"viewer"}' }, 'the body holds a NUL byte'],
      ['PUT', '/api/v1/policies/p', { role: 'admin', text: policy('p').replace('never', 'never\0') }, 'the body holds a NUL byte'],
    ];
    const got = [];
    for (const [method, path, o] of cases) got.push(`${method} ${path} ${await answer(await call(method, path, o))}`);
    expect(got).toEqual(cases.map(([method, path, , msg]) => `${method} ${path} 400 ${msg}`));
    expect(logged).toEqual([]);
    expect(await listPolicies(db)).toEqual([]);
  });

  it('checks the credential and role before reading a body: a chunked body is not read for a caller without them', async () => {
    // 1.9 MB in 64 KiB chunks, under the 2 MB limit: a limit in front of authentication read it all.
    const sent = { bytes: 0 };
    const chunked = (): ReadableStream<Uint8Array> => {
      sent.bytes = 0;
      let left = 30;
      return new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (left-- === 0) {
            ctl.close();
            return;
          }
          sent.bytes += 65536;
          ctl.enqueue(new Uint8Array(65536).fill(0x20));
        },
      });
    };
    const put = (role: Role | null) => {
      const headers: Record<string, string> = { 'transfer-encoding': 'chunked' };
      if (role !== null) headers['authorization'] = `Bearer ${tokens.get(role) ?? ''}`;
      return Promise.resolve(app.request('/api/v1/policies/p', { method: 'PUT', headers, body: chunked(), duplex: 'half' }));
    };
    const noToken = await put(null);
    expect([noToken.status, sent.bytes <= 2 * 65536]).toEqual([401, true]);
    const viewer = await put('viewer');
    expect([viewer.status, sent.bytes <= 2 * 65536]).toEqual([403, true]);
    // With the role it needs, the body is read (and, all spaces, is no policy).
    const admin = await put('admin');
    expect([admin.status, sent.bytes]).toEqual([400, 30 * 65536]);
  });

  it('PUT /policies/A with a body naming B changes neither, answers 400 and audits nothing', async () => {
    expect(await answer(await call('PUT', '/api/v1/policies/b', { role: 'admin', text: policy('b') }))).toBe('200 ok');
    const before = await listPolicies(db);
    expect(await answer(await call('PUT', '/api/v1/policies/a', { role: 'admin', text: policy('b', 'when-required') }))).toBe('400 request body: the policy is named "b", not "a"');
    expect(await listPolicies(db)).toEqual(before);
    expect((await auditLog(db, { limit: 100 })).filter((e) => e.action === 'policy.apply').map((e) => e.subject)).toEqual(['b']);
  });

  it('answers a policy of 200,000 or 5,000 nested [ with 400, and goes on serving', async () => {
    for (const n of [200_000, 5_000]) expect(await answer(await call('PUT', '/api/v1/policies/x', { role: 'admin', text: '['.repeat(n) }))).toBe('400 request body:1: nested deeper than 64 levels');
    expect((await call('GET', '/api/v1/health')).status).toBe(200);
  });

  it('DELETE /feeds/<unknown> answers 404 and audits nothing', async () => {
    expect(await answer(await call('DELETE', '/api/v1/feeds/no-such-feed', { role: 'admin' }))).toBe('404 no feed source "no-such-feed" of your own');
    expect(await answer(await call('DELETE', '/api/v1/feeds/azurelinux-3.0-oval', { role: 'admin' }))).toBe('404 no feed source "azurelinux-3.0-oval" of your own');
    expect((await auditLog(db, { limit: 100 })).filter((e) => e.action === 'feed.remove')).toEqual([]);
  });
});
