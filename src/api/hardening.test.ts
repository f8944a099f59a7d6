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
 * What an attack on the service found (issue #20), on SQLite and PostgreSQL: policy bodies that
 * name another policy or nest deep, removals of what does not exist.
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

  beforeAll(async () => {
    db = await open();
    for (const role of ['viewer', 'operator', 'admin'] as const) tokens.set(role, (await createToken(db, { name: `t-${role}`, role, expiresInDays: 1, actor: 'test' })).token);
    app = createApp(db, { knownHostsFile: join(dir, 'known_hosts'), transport: () => refusingTransport, version: 'test', agentServerKey: randomBytes(32), authFailuresPerMinute: 1000 });
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
