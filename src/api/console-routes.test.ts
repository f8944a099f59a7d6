/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return -- JSON answers, checked by value */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { auditLog } from '../services/audit.js';
import { runDemo } from '../services/demo.js';
import type { Db } from '../services/store.js';
import { createToken } from '../services/tokens.js';
import { EXAMPLE_RELEASE } from '../distros/registry.js';
import { createApp } from './app.js';

/**
 * Issue #17: the routes the console reads and acts through — findings folded by advisory and by
 * source package (the demo's openssl and openssl-libs are one fix, not two rows), a run's preview,
 * host tags (imported targets too), users — on both databases.
 */
const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: console
cadence: { monthly: { weekday: tuesday, week: 2 }, timezone: Europe/Berlin }
approval: { autoApproveAfterDays: 0 }
rollout: { rings: [{ name: all, percent: 100 }] }
reboot: never
`;

describe.each(testDatabases())('console routes on $name', ({ open }) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-console-routes-'));
  let db: Db;
  let app: ReturnType<typeof createApp>;
  let admin = '';
  let viewer = '';
  const call = async (method: string, path: string, o: { body?: unknown; text?: string; token?: string } = {}): Promise<{ status: number; json: any }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${o.token ?? admin}` };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const r = await app.request(path, {
      method,
      headers,
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : o.text !== undefined ? { body: o.text } : {}),
    });
    return { status: r.status, json: await r.json() };
  };

  beforeAll(async () => {
    db = await open();
    await runDemo(db);
    admin = (await createToken(db, { name: 'admin', role: 'admin', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    viewer = (await createToken(db, { name: 'viewer', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    app = createApp(db, {
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => ({ ...refusingTransport, reaches: (t) => t.address !== null }),
      version: 'test',
      agentServerKey: randomBytes(32),
    });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('folds findings by advisory: one row per fix, its binaries and hosts under it, worst first', async () => {
    const r = await call('GET', '/api/v1/findings/groups?by=advisory', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(4);
    expect(
      r.json.items.map((g: any) => [g.advisory.id, g.severity, g.findings, g.hosts, g.key === `${String(g.advisory.source)}:${String(g.advisory.id)}`]),
    ).toEqual([
      ['DEMO-2024-0002', 'critical', 1, 1, true],
      ['DEMO-2024-0001', 'high', 2, 1, true],
      ['DEMO-2024-0005', 'high', 2, 1, true],
      ['DEMO-2024-0007', 'low', 1, 1, true],
    ]);
    const openssl = r.json.items[1];
    expect(openssl.advisory).toMatchObject({ id: 'DEMO-2024-0001', cves: ['CVE-2024-0001'] });
    expect(openssl.binaries.map((b: any) => [b.name, b.hosts])).toEqual([
      ['openssl', ['demo-azl3-vm']],
      ['openssl-libs', ['demo-azl3-vm']],
    ]);
  });

  it('folds findings by source package, filters (severity, cve, text, tag, release, host) and pages them', async () => {
    const bySource = await call('GET', '/api/v1/findings/groups?by=source&sort=key');
    expect(bySource.json.items.map((g: any) => [g.key, g.binaries.map((b: any) => b.name).join(' '), g.advisories.join(' ')])).toEqual([
      ['golang', 'golang', 'DEMO-2024-0002'],
      ['kernel', 'kernel kernel-tools', 'DEMO-2024-0005'],
      ['openssl', 'openssl openssl-libs', 'DEMO-2024-0001'],
      ['vim', 'vim', 'DEMO-2024-0007'],
    ]);
    const keys = async (q: string): Promise<string[]> =>
      ((await call('GET', `/api/v1/findings/groups?by=source&sort=key&${q}`)).json.items as any[]).map((g) => g.key);
    expect(await keys('severity=high')).toEqual(['golang', 'kernel', 'openssl']);
    expect(await keys('cve=cve-2024-0006')).toEqual(['kernel']);
    expect(await keys('text=LIBS')).toEqual(['openssl']);
    expect(await keys('text=smuggling')).toEqual(['golang']);
    expect(await keys('text=50%25')).toEqual([]);
    expect(await keys(`release=${encodeURIComponent(EXAMPLE_RELEASE)}`)).toHaveLength(4);
    expect(await keys('release=nowhere:1')).toEqual([]);
    expect(await keys('host=demo-azl3-vm&status=no-fix')).toEqual(['vim']);
    expect(await keys('tag=prod')).toEqual([]);
    const page = await call('GET', '/api/v1/findings/groups?by=source&sort=-key&limit=2&offset=1');
    expect([page.json.total, page.json.items.map((g: any) => g.key)]).toEqual([4, ['openssl', 'kernel']]);
    expect((await call('GET', '/api/v1/findings/groups?sort=nope')).status).toBe(400);
  });

  it('tags an imported target (audited as host.tag by the token), and the tag filters findings', async () => {
    const before = (await auditLog(db, { limit: 1000 })).length;
    const r = await call('POST', '/api/v1/hosts/demo-azl3-vm/tags', { body: { add: ['prod', 'web'] } });
    expect([r.status, r.json.tags]).toEqual([200, ['prod', 'web']]);
    expect((await auditLog(db, { limit: 1 }))[0]?.action).toBe('host.tag');
    expect((await auditLog(db, { limit: 1000 })).length).toBe(before + 1);
    expect((await call('GET', '/api/v1/findings/groups?tag=prod')).json.total).toBe(4);
    expect((await call('GET', '/api/v1/findings/groups?tag=pro')).json.total).toBe(0);
    const unknown = await call('POST', '/api/v1/hosts/demo-azl3/tags', { body: { add: ['x'] } });
    expect([unknown.status, unknown.json.error.message]).toEqual([400, expect.stringContaining('did you mean')]);
    expect((await call('POST', '/api/v1/hosts/demo-azl3-vm/tags', { body: { add: ['x'] }, token: viewer })).status).toBe(403);
  });

  it('previews a run without starting one: the imported target is left out as unreachable and said so', async () => {
    expect((await call('PUT', '/api/v1/policies/console', { text: POLICY })).status).toBe(200);
    const r = await call('GET', '/api/v1/policies/console/run-preview', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ policy: 'console', timezone: 'Europe/Berlin', hosts: [] });
    expect(r.json.warnings.join('\n')).toContain('demo-azl3-vm');
    expect((await call('GET', '/api/v1/runs')).json.items).toEqual([]);
  });

  it('the /plan route leaves the imported target out of the rings as a run does, warns, and marks its overdue finding unreachable (issue #17)', async () => {
    expect((await call('PUT', '/api/v1/policies/console', { text: POLICY })).status).toBe(200);
    const r = await call('GET', '/api/v1/policies/console/plan?at=2027-06-01T00:00:00Z', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ policy: 'console', timezone: 'Europe/Berlin', entries: [] });
    expect(r.json.warnings.filter((w: any) => w.kind === 'unreachable-target').map((w: any) => w.targets)).toEqual([['demo-azl3-vm']]);
    expect(r.json.breaches.length).toBeGreaterThan(0);
    expect(r.json.breaches.every((b: any) => b.target === 'demo-azl3-vm' && b.unreachable === true)).toBe(true);
  });

  it('adds, lists and disables users (never their hashes); a short password is refused', async () => {
    expect((await call('PUT', '/api/v1/users/erin', { body: { role: 'operator', password: 'a long enough password' } })).status).toBe(200);
    const list = await call('GET', '/api/v1/users');
    expect(list.json.items).toEqual([{ name: 'erin', role: 'operator', createdAt: expect.any(String), disabledAt: null }]);
    expect(JSON.stringify(list.json)).not.toContain('scrypt');
    expect((await call('PUT', '/api/v1/users/erin', { body: { role: 'operator', password: 'short' } })).status).toBe(400);
    expect((await call('DELETE', '/api/v1/users/erin')).status).toBe(200);
    expect((await call('DELETE', '/api/v1/users/erin')).status).toBe(404);
    expect((await call('GET', '/api/v1/users', { token: viewer })).status).toBe(403);
  });
});
