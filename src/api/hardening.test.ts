import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import type { Db } from '../services/store.js';
import { auditLog } from '../services/audit.js';
import { addSource } from '../services/feeds.js';
import { saveFeedState } from '../storage/index.js';
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
  const feed = readFileSync(join(import.meta.dirname, '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml'));
  let feedServer: Server;
  let feedBase = '';
  const logged: string[] = [];

  beforeAll(async () => {
    db = await open();
    for (const role of ['viewer', 'operator', 'admin'] as const)
      tokens.set(role, (await createToken(db, { name: `t-${role}`, role, expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token);
    feedServer = createServer((req, res) => {
      if (req.url?.startsWith('/busy') === true) res.writeHead(503).end('busy');
      else res.writeHead(200).end(feed);
    });
    await new Promise<void>((r) => feedServer.listen(0, '127.0.0.1', r));
    feedBase = `http://127.0.0.1:${String((feedServer.address() as AddressInfo).port)}`;
    app = createApp(db, {
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: randomBytes(32),
      authFailuresPerMinute: 1000,
      log: (msg, meta) => logged.push(`${msg} ${JSON.stringify(meta)}`),
    });
  });
  afterAll(async () => {
    feedServer.closeAllConnections();
    await new Promise<void>((r) =>
      feedServer.close(() => {
        r();
      }),
    );
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
      [
        'POST',
        '/api/v1/feeds',
        { role: 'admin', json: '{"id":"f","location":"https://mirror.example/x","format":"osv","description":"a\\u0000"}' },
        'the body holds a NUL byte',
      ],
      [
        'POST',
        '/api/v1/decisions',
        { role: 'operator', json: '{"policy":"p","advisory":"A-1","kind":"hold","reason":"r","x\\u0000":1}' },
        'the body holds a NUL byte',
      ],
      ['POST', '/api/v1/tokens', { role: 'admin', json: '{"name":["a","b\\u0000"],"role":"viewer"}' }, 'the body holds a NUL byte'],
      ['PUT', '/api/v1/policies/p', { role: 'admin', text: policy('p').replace('never', 'never\0') }, 'the body holds a NUL byte'],
    ];
    const got = [];
    for (const [method, path, o] of cases) got.push(`${method} ${path} ${await answer(await call(method, path, o))}`);
    expect(got).toEqual(cases.map(([method, path, , msg]) => `${method} ${path} 400 ${msg}`));
    expect(logged).toEqual([]);
    expect(await listPolicies(db)).toEqual([]);
  });

  it('refuses a query parameter the route does not take, or one given twice, naming it (a misspelt filter answered every finding)', async () => {
    const cases: [string, string][] = [
      [
        '/api/v1/findings?sevrity=high',
        'query.sevrity: GET /api/v1/findings has no such parameter (it takes limit, offset, sort, host, severity, cve, status, kev, epssAbove)',
      ],
      ['/api/v1/findings?status=open&status=fixed', 'query.status: given 2 times; give it once (a list is comma-separated, e.g. status=open,fixed)'],
      ['/api/v1/findings?severity=high&severity=low', 'query.severity: given 2 times; give it once (a list is comma-separated, e.g. status=open,fixed)'],
      ['/api/v1/me?x=1', 'query.x: GET /api/v1/me has no such parameter (it takes none)'],
      ['/api/v1/hosts/web-01?verbose', 'query.verbose: GET /api/v1/hosts/:name has no such parameter (it takes none)'],
    ];
    const got = [];
    for (const [path] of cases) got.push(`${path} ${await answer(await call('GET', path, { role: 'admin' }))}`);
    expect(got).toEqual(cases.map(([path, msg]) => `${path} 400 ${msg}`));
    // What the routes do take still answers.
    for (const path of ['/api/v1/findings?severity=high&status=open,fixed&limit=5', '/api/v1/me', '/api/v1/findings/groups?by=source&text=x'])
      expect(`${path} ${await answer(await call('GET', path, { role: 'viewer' }))}`).toBe(`${path} 200 ok`);
    // The credential comes first: no parameter is judged for a caller without one.
    expect((await call('GET', '/api/v1/findings?sevrity=high')).status).toBe(401);
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
    expect(await answer(await call('PUT', '/api/v1/policies/a', { role: 'admin', text: policy('b', 'when-required') }))).toBe(
      '400 request body: the policy is named "b", not "a"',
    );
    expect(await listPolicies(db)).toEqual(before);
    expect((await auditLog(db, { limit: 100 })).filter((e) => e.action === 'policy.apply').map((e) => e.subject)).toEqual(['b']);
  });

  it('answers a policy of 200,000 or 5,000 nested [ with 400, and goes on serving', async () => {
    for (const n of [200_000, 5_000])
      expect(await answer(await call('PUT', '/api/v1/policies/x', { role: 'admin', text: '['.repeat(n) }))).toBe(
        '400 request body:1: nested deeper than 64 levels',
      );
    expect((await call('GET', '/api/v1/health')).status).toBe(200);
  });

  it('DELETE /feeds/<unknown> answers 404 and audits nothing', async () => {
    expect(await answer(await call('DELETE', '/api/v1/feeds/no-such-feed', { role: 'admin' }))).toBe('404 no feed source "no-such-feed" of your own');
    expect(await answer(await call('DELETE', '/api/v1/feeds/azurelinux-3.0-oval', { role: 'admin' }))).toBe(
      '404 no feed source "azurelinux-3.0-oval" of your own',
    );
    expect((await auditLog(db, { limit: 100 })).filter((e) => e.action === 'feed.remove')).toEqual([]);
  });

  it("never shows a feed's access key: not in the list (state, summary), not in a sync's answer or error, not even from state stored before", async () => {
    // Sources on the server's own network are the CLI's (addSource), synced through the API.
    await addSource(db, { id: 'keyed', format: 'oval', release: 'azurelinux:3.0', location: `${feedBase}/feed.xml?key=s3cret-key&x=1` });
    await addSource(db, {
      id: 'keyed-busy',
      format: 'oval',
      release: 'azurelinux:3.0',
      location: `${feedBase.replace('//', '//bulwark:s3cret-pass@')}/busy.xml?token=s3cret-token`,
    });
    const synced = await call('POST', '/api/v1/feeds/keyed/sync', { role: 'operator' });
    const syncedText = await synced.text();
    expect([synced.status, (JSON.parse(syncedText) as { status: string; location: string }).location]).toEqual([200, `${feedBase}/feed.xml?key=***&x=***`]);
    const failed = await call('POST', '/api/v1/feeds/keyed-busy/sync', { role: 'operator' });
    const failedText = await failed.text();
    expect(JSON.parse(failedText)).toMatchObject({
      status: 'failed',
      location: `${feedBase.replace('//', '//***:***@')}/busy.xml?token=***`,
      error: expect.stringMatching(/busy\.xml\?token=\*\*\*: HTTP 503 Service Unavailable$/) as unknown,
    });
    // A state written by an older version, with the key in its location and its summary.
    await saveFeedState(db, {
      source: 'keyed-busy',
      location: `${feedBase}/busy.xml?token=s3cret-token`,
      etag: null,
      lastModified: null,
      fingerprint: 'x',
      syncedAt: new Date().toISOString(),
      summary: { location: `${feedBase}/busy.xml?token=s3cret-token`, note: 'from busy.xml?token=s3cret-token' },
    });
    const listed = await (await call('GET', '/api/v1/feeds', { role: 'viewer' })).text();
    const keyed = (
      JSON.parse(listed) as { items: { id: string; location: string; state: { location: string; summary: { location: string } } | null }[] }
    ).items.find((f) => f.id === 'keyed');
    expect([keyed?.location, keyed?.state?.location, keyed?.state?.summary.location]).toEqual(Array(3).fill(`${feedBase}/feed.xml?key=***&x=***`));
    for (const text of [syncedText, failedText, listed]) expect(text).not.toMatch(/s3cret/);
  });

  it('syncs through the API from public addresses only: a redirect to loopback and a name that resolves to it are refused with one neutral error, and nothing is stored', async () => {
    const neutral = /: cannot connect \(the host is not reachable, refused the connection, or is not at a public address\)$/;
    // A name is not the operator's choice of an address (the CLI names one literally).
    await addSource(db, { id: 'by-name', format: 'oval', release: 'azurelinux:3.0', location: `${feedBase.replace('127.0.0.1', 'localhost')}/feed.xml` });
    // The feed server answers the feed itself; here its redirect to another port of the host.
    const redirector = createServer((_req, res) => res.writeHead(302, { location: `${feedBase}/feed.xml` }).end());
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    try {
      await addSource(db, {
        id: 'redirected',
        format: 'oval',
        release: 'azurelinux:3.0',
        location: `http://127.0.0.1:${String((redirector.address() as AddressInfo).port)}/feed.xml`,
      });
      for (const id of ['by-name', 'redirected']) {
        const r = (await (await call('POST', `/api/v1/feeds/${id}/sync`, { role: 'operator' })).json()) as { status: string; error: string };
        expect([id, r.status, r.error]).toEqual([id, 'failed', expect.stringMatching(neutral)]);
      }
    } finally {
      redirector.closeAllConnections();
      await new Promise<void>((r) =>
        redirector.close(() => {
          r();
        }),
      );
    }
    expect(await (await call('GET', '/api/v1/advisories?source=by-name', { role: 'viewer' })).json()).toEqual({ items: [] });
    expect(await (await call('GET', '/api/v1/advisories?source=redirected', { role: 'viewer' })).json()).toEqual({ items: [] });
  });
});
