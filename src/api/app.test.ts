import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../services/demo.js';
import type { Db } from '../services/store.js';
import { testDatabases } from '../../test/databases.js';
import { setUser } from '../services/sessions.js';
import { createToken, type Role } from '../services/tokens.js';
import { apiRoutes, createApp, windowCounter } from './app.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { ADMIN_QUERY, MAY, mayCall } from '../../test/route-roles.js';

/**
 * The API on a real store (SQLite and PostgreSQL with the demo fleet), through `app.request()`: the OpenAPI
 * document against the routes, every route with every role, token expiry and revocation, the
 * rate limit on failed authentication, and the error shape.
 */
// Patch runs started here must not reach any host: a transport that refuses every step.
const refusing = refusingTransport;

const POLICY = `apiVersion: bulwark/v1
kind: Policy
name: demo
cadence: { monthly: { weekday: tuesday, week: 2 } }
rollout: { rings: [{ name: all, percent: 100 }] }
reboot: never
`;

// On both databases: PostgreSQL refuses what SQLite takes (NUL in text) and answered 500 where
// SQLite did not (issue #20).
describe.each(testDatabases())('the HTTP API on $name', ({ open }) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-api-'));
  let db: Db;
  const tokens = new Map<Role, string>();
  let app: ReturnType<typeof createApp>;
  const config = { knownHostsFile: join(dir, 'known_hosts'), transport: () => refusing, version: 'test', agentServerKey: randomBytes(32) };

  beforeAll(async () => {
    db = await open();
    await runDemo(db);
    for (const role of ['viewer', 'operator', 'admin'] as const)
      tokens.set(role, (await createToken(db, { name: `t-${role}`, role, expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token);
    app = createApp(db, { ...config, authFailuresPerMinute: 1000 });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, o: { role?: Role; token?: string; body?: unknown; text?: string; client?: string } = {}): Promise<Response> => {
    const token = o.token ?? (o.role === undefined ? undefined : tokens.get(o.role));
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (o.client !== undefined) headers['x-bulwark-test-client'] = o.client;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    return Promise.resolve(
      app.request(path, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : o.text !== undefined ? { body: o.text } : {}) }),
    );
  };

  it('serves an OpenAPI 3.1 document with exactly the routes the server answers, each with its role', async () => {
    const res = await call('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { 'x-bulwark-role': string; operationId: string }>> };
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${p} ${op['x-bulwark-role']}`))
      .sort();
    const table = apiRoutes()
      .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')} ${r.access}`)
      .sort();
    expect(documented).toEqual(table);
    // What Hono really routes: the same method and path pairs, and besides them only the
    // (public) package repositories of content views — files, not API.
    const served = [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`))];
    const api = table.map((t) => t.split(' ').slice(0, 2).join(' '));
    expect(served.filter((r) => api.includes(r)).sort()).toEqual(api);
    expect(served.filter((r) => !api.includes(r))).toEqual(['GET /repos/{view}/{env}/*']);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives each route the role written by hand in test/route-roles.ts, and has no route that list does not name', () => {
    const table = apiRoutes()
      .map((r) => `${r.method.toUpperCase()} ${r.path} ${r.access}`)
      .sort();
    const byHand = Object.entries(MAY)
      .flatMap(([access, routes]) => routes.map((route) => `${route} ${access}`))
      .sort();
    expect(table).toEqual(byHand);
  });

  it('every route with every role, as written by hand: no token is 401, too small a role is 403, enough gets through; agent routes refuse tokens', async () => {
    const rank: Record<Role | 'none', number> = { none: -1, viewer: 0, operator: 1, admin: 2 };
    const rows: string[] = [];
    for (const r of apiRoutes()) {
      // Who may call it comes from the hand-written list, not from the table under test.
      const access = mayCall(`${r.method.toUpperCase()} ${r.path}`);
      if (access === undefined) {
        rows.push(`${r.method.toUpperCase()} ${r.path}: not in test/route-roles.ts`);
        continue;
      }
      // Parameters name things that do not exist: a route that gets through answers 404 or 400,
      // and nothing in the store changes.
      const path = r.path.replace(/:([A-Za-z]+)/g, (_, p: string) => (p === 'id' ? '99999' : `no-such-${p}`));
      for (const who of ['none', 'viewer', 'operator', 'admin'] as const) {
        const res = await call(r.method.toUpperCase(), path, {
          ...(who === 'none' ? {} : { role: who }),
          ...(r.body !== undefined ? { body: {} } : r.textBody === true && r.method !== 'get' ? { text: 'x: 1' } : {}),
        });
        // Agent routes take an agent's signature, never a token.
        const need = access === 'public' ? -2 : access === 'agent' ? 99 : rank[access];
        const expected = rank[who] >= need ? 'through' : who === 'none' || access === 'agent' ? '401' : '403';
        let got = res.status === 401 ? '401' : res.status === 403 ? '403' : 'through';
        // Enrollment is public; its own credential is the token in the body, refused here with 401.
        if (got === '401' && r.path === '/agent/v1/enroll' && /enrollment token/.test(await res.clone().text())) got = 'through';
        rows.push(`${r.method.toUpperCase()} ${r.path} as ${who}: ${got === expected ? 'ok' : `expected ${expected}, got ${String(res.status)}`}`);
        if (got !== 'through') {
          const body = (await res.json()) as { error: { code: string } };
          expect(body.error.code).toBe(got === '401' ? 'auth.required' : 'auth.forbidden');
        } else expect([500, 502].includes(res.status) ? `${r.path}: ${await res.text()}` : 'no server error').toBe('no server error');
      }
    }
    expect(rows.filter((l) => !l.endsWith(': ok'))).toEqual([]);
    expect(rows.length).toBe(apiRoutes().length * 4);
  });

  it('admin-only query parameters, as written by hand: the route table declares exactly them, and below admin giving one is 403 before anything is looked up', async () => {
    expect(
      apiRoutes()
        .flatMap((r) => (r.adminQuery ?? []).map((q) => `${r.method.toUpperCase()} ${r.path}?${q}`))
        .sort(),
    ).toEqual([...ADMIN_QUERY].sort());
    const rows: string[] = [];
    for (const q of ADMIN_QUERY) {
      const [method = '', rest = ''] = q.split(' ');
      const [path = '', param = ''] = rest.split('?');
      // Names a repository that does not exist: an admin gets through to 404, nothing changes.
      const url = `${path.replace(/:([A-Za-z]+)/g, (_, p: string) => `no-such-${p}`)}?${param}=true`;
      for (const who of ['viewer', 'operator', 'admin'] as const) {
        const res = await call(method, url, { role: who });
        const code = ((await res.json()) as { error?: { code: string } }).error?.code ?? 'none';
        rows.push(`${q} as ${who}: ${String(res.status)} ${code}`);
      }
      rows.push(`${q}=false as operator: ${String((await call(method, url.replace(/=true$/, '=false'), { role: 'operator' })).status)}`);
    }
    expect(rows).toEqual(
      ADMIN_QUERY.flatMap((q) => [
        `${q} as viewer: 403 auth.forbidden`,
        `${q} as operator: 403 auth.forbidden`,
        `${q} as admin: 404 storage.not-found`,
        `${q}=false as operator: 404`,
      ]),
    );
  });

  it('every route, with every credential, hostile parameters, queries and bodies: no server error', async () => {
    // Each variant names nothing that exists, so nothing in the store changes; what matters is
    // that the answer is the client's error (4xx) or a success, never a 500 with a stack.
    const params = [
      '%00',
      'a%00b',
      '%C0%AE%C0%AE',
      'x'.repeat(5000),
      '%F0%9F%92%A9',
      '..%2F..%2Fetc%2Fpasswd',
      "'%20or%201=1%20--",
      '-1',
      '1e309',
      '99999999999999999999',
      '%EF%BF%BF',
      '%5C',
    ];
    const queries = [
      '?limit=%00&offset=-1&sort=%00',
      '?host=%00&status=open,%00',
      '?limit=1e309&offset=99999999999999999999',
      '?sort=-&severity=&cve=%27%22',
      '?at=2024-13-45&days=0&format=%00',
      `?tag=${'t'.repeat(5000)}`,
    ];
    const bodies = [
      '{"user":"a\\u0000b","password":"p"}',
      '[]',
      'null',
      '"s"',
      '{"__proto__":{"admin":true}}',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      '{"name":"\\ud800"}',
      '{',
      `{"tags":[${Array(100).fill('"\\u0000"').join(',')}]}`,
    ];
    const texts = ['x: 1', '\0', '['.repeat(5000), 'a: &a [*a]', '!!js/function "f"', `${'- '.repeat(100_000)}x`, '\ufeff\ud800'];
    const credentials: Record<string, string | undefined> = {
      none: undefined,
      viewer: tokens.get('viewer'),
      operator: tokens.get('operator'),
      admin: tokens.get('admin'),
      forged: 'bwk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      malformed: 'x'.repeat(300),
    };
    const failures: string[] = [];
    for (const r of apiRoutes()) {
      for (const [who, token] of Object.entries(credentials)) {
        const variants: { path: string; body?: string; text?: string }[] = [];
        for (const p of params) variants.push({ path: r.path.replace(/:([A-Za-z]+)/g, p).replace('/*', `/${p}`) });
        const base = r.path.replace(/:([A-Za-z]+)/g, 'no-such-thing');
        for (const q of queries) variants.push({ path: `${base}${q}` });
        if (r.method !== 'get')
          for (const b of r.textBody === true ? texts : bodies) variants.push(r.textBody === true ? { path: base, text: b } : { path: base, body: b });
        for (const v of variants) {
          const headers: Record<string, string> = { 'x-bulwark-test-client': `fuzz-${who}` };
          if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
          if (v.body !== undefined) headers['content-type'] = 'application/json';
          const res = await app.request(v.path, {
            method: r.method.toUpperCase(),
            headers,
            ...(v.body !== undefined ? { body: v.body } : v.text !== undefined ? { body: v.text } : {}),
          });
          if (res.status >= 500)
            failures.push(
              `${r.method.toUpperCase()} ${v.path.slice(0, 120)} as ${who}${v.body !== undefined ? ` body ${v.body.slice(0, 40)}` : v.text !== undefined ? ` text ${JSON.stringify(v.text.slice(0, 20))}` : ''}: ${String(res.status)} ${(await res.text()).slice(0, 200)}`,
            );
        }
      }
    }
    // The content-view repositories beside the API, public by default.
    for (const p of params) {
      for (const path of [`/repos/${p}/prod/repodata/repomd.xml`, `/repos/view/${p}/x`, `/repos/view/prod/${p}`, `/repos/view/prod/repodata/${p}`]) {
        const res = await app.request(path);
        if (res.status >= 500) failures.push(`GET ${path.slice(0, 120)}: ${String(res.status)} ${(await res.text()).slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('refuses expired, revoked, malformed and forged tokens; limits failed authentications per client', async () => {
    const past = await createToken(
      db,
      { name: 'short', role: 'admin', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } },
      () => new Date(Date.now() - 2 * 86_400_000),
    );
    expect((await call('GET', '/api/v1/me', { token: past.token })).status).toBe(401);
    const t = await createToken(db, { name: 'soon-revoked', role: 'viewer', expiresInDays: 30, actor: { kind: 'cli', name: 'test' } });
    const me = await call('GET', '/api/v1/me', { token: t.token });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { name: string; role: string }).role).toBe('viewer');
    const admin = tokens.get('admin') ?? '';
    expect((await call('DELETE', `/api/v1/tokens/${t.info.id}`, { token: admin })).status).toBe(200);
    expect((await call('GET', '/api/v1/me', { token: t.token })).status).toBe(401);
    expect((await call('DELETE', `/api/v1/tokens/${t.info.id}`, { token: admin })).status).toBe(404);
    // The right id with another secret, and shapes that are not tokens at all.
    // Secrets are base64url and may hold "_": the id is the fixed-width part after "bwk_".
    const forged = `bwk_${t.info.id}_${'A'.repeat(43)}`;
    for (const bad of [forged, 'bwk_zz', 'Basic abc', '']) expect((await call('GET', '/api/v1/me', { token: bad })).status).toBe(401);
    // The token list never shows a secret or its hash.
    const list = await (await call('GET', '/api/v1/tokens', { token: admin })).text();
    expect(list).not.toContain(t.token.slice('bwk_'.length + 13));
    expect(list).not.toMatch(/secret|sha256/i);

    const limited = createApp(db, { ...config, authFailuresPerMinute: 5 });
    const req = (token: string, client: string) =>
      limited.request('/api/v1/me', { headers: { authorization: `Bearer ${token}`, 'x-bulwark-test-client': client } });
    for (let i = 0; i < 5; i++) expect((await req('bwk_nope', '10.0.0.1')).status).toBe(401);
    const blocked = await req(admin, '10.0.0.1');
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('auth.rate-limited');
    expect((await req(admin, '10.0.0.2')).status).toBe(200);
  });

  it('logs a person in with a session cookie (HttpOnly, SameSite=Strict); changes need the CSRF token; logout ends it; wrong passwords count towards the limit', async () => {
    await setUser(db, { name: 'carol', role: 'operator', password: 'correct horse battery', actor: { kind: 'cli', name: 'test' } });
    const bad = await call('POST', '/api/v1/session', { body: { user: 'carol', password: 'wrong password!!' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const res = await call('POST', '/api/v1/session', { body: { user: 'carol', password: 'correct horse battery' } });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^bulwark_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Strict$/);
    const { csrfToken, role } = (await res.json()) as { csrfToken: string; role: string };
    expect(role).toBe('operator');
    const jar = cookie.split(';')[0] ?? '';
    const withSession = (method: string, path: string, o: { csrf?: string; body?: unknown } = {}): Promise<Response> =>
      Promise.resolve(
        app.request(path, {
          method,
          headers: {
            cookie: jar,
            ...(o.csrf !== undefined ? { 'x-csrf-token': o.csrf } : {}),
            ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
        }),
      );
    expect((await withSession('GET', '/api/v1/findings?limit=1')).status).toBe(200);
    const me = (await (await withSession('GET', '/api/v1/session')).json()) as { user: string; csrfToken: string };
    expect(me).toMatchObject({ user: 'carol', csrfToken });
    // A change without the CSRF token (what a forged cross-site form would send) is refused.
    const forged = await withSession('POST', '/api/v1/decisions', { body: { policy: 'demo', advisory: 'X-1', kind: 'approve', reason: 'r' } });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toMatch(/CSRF/);
    expect(
      (await withSession('POST', '/api/v1/decisions', { csrf: 'A'.repeat(43), body: { policy: 'demo', advisory: 'X-1', kind: 'approve', reason: 'r' } }))
        .status,
    ).toBe(403);
    // With it, the operator gets through the role check (the policy does not exist: 404, not 403).
    expect([200, 201, 404]).toContain(
      (await withSession('POST', '/api/v1/decisions', { csrf: csrfToken, body: { policy: 'nope', advisory: 'X-1', kind: 'approve', reason: 'r' } })).status,
    );
    // Role still applies: tokens are admin-only.
    expect((await withSession('GET', '/api/v1/tokens')).status).toBe(403);
    const out = await withSession('DELETE', '/api/v1/session', { csrf: csrfToken });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^bulwark_session=; Max-Age=0/);
    expect((await withSession('GET', '/api/v1/findings?limit=1')).status).toBe(401);

    // A new password ends every session of the user (a stolen cookie with them).
    const again = await call('POST', '/api/v1/session', { body: { user: 'carol', password: 'correct horse battery' } });
    const second = (again.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const asSecond = () => Promise.resolve(app.request('/api/v1/findings?limit=1', { headers: { cookie: second } }));
    expect((await asSecond()).status).toBe(200);
    await setUser(db, { name: 'carol', role: 'operator', password: 'another horse battery', actor: { kind: 'cli', name: 'test' } });
    expect((await asSecond()).status).toBe(401);
    await setUser(db, { name: 'carol', role: 'operator', password: 'correct horse battery', actor: { kind: 'cli', name: 'test' } });

    const limited = createApp(db, { ...config, authFailuresPerMinute: 3 });
    const attempt = (password: string) =>
      limited.request('/api/v1/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-bulwark-test-client': '10.9.9.9' },
        body: JSON.stringify({ user: 'carol', password }),
      });
    for (let i = 0; i < 3; i++) expect((await attempt('guess number ' + String(i))).status).toBe(401);
    expect((await attempt('correct horse battery')).status).toBe(429);
  });

  it('counts a password login when it starts, per address and per user name, apart from tokens; a burst waits for a few scrypt checks at a time', async () => {
    await setUser(db, { name: 'erin', role: 'viewer', password: 'correct horse battery', actor: { kind: 'cli', name: 'test' } });
    const admin = tokens.get('admin') ?? '';
    const login = (a: ReturnType<typeof createApp>, client: string, password: string, user = 'erin') =>
      Promise.resolve(
        a.request('/api/v1/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-bulwark-test-client': client },
          body: JSON.stringify({ user, password }),
        }),
      );
    const statuses = async (rs: Promise<Response>[]) => {
      const out = new Map<string, number>();
      for (const r of await Promise.all(rs)) {
        const key = `${String(r.status)} ${((await r.json()) as { error?: { message: string } }).error?.message ?? 'ok'}`;
        out.set(key, (out.get(key) ?? 0) + 1);
      }
      return Object.fromEntries(out);
    };

    // 200 wrong passwords at once from one address: 20 are checked, the rest refused unchecked.
    const flooded = createApp(db, { ...config, authFailuresPerMinute: 20, loginAttemptsPerUserPerMinute: 1000 });
    expect(await statuses(Array.from({ length: 200 }, (_, i) => login(flooded, '10.7.7.7', `guess ${String(i)}`)))).toEqual({
      '401 wrong user name or password': 20,
      '429 too many logins from this address; try again in a minute': 180,
    });
    // Tokens have their own budget: the same address's valid token still works.
    expect((await flooded.request('/api/v1/me', { headers: { authorization: `Bearer ${admin}`, 'x-bulwark-test-client': '10.7.7.7' } })).status).toBe(200);
    expect((await login(flooded, '10.7.7.7', 'correct horse battery')).status).toBe(429);
    expect((await login(flooded, '10.7.7.8', 'correct horse battery')).status).toBe(200);

    // Successful logins give their attempt back; failures keep it.
    const few = createApp(db, { ...config, loginAttemptsPerMinute: 3 });
    for (let i = 0; i < 5; i++) expect((await login(few, '10.7.7.9', 'correct horse battery')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login(few, '10.7.7.9', 'wrong password!!')).status).toBe(401);
    expect((await login(few, '10.7.7.9', 'correct horse battery')).status).toBe(429);

    // Per user name, from any address: a spread-out guess at one account stops too.
    const spread = createApp(db, { ...config, authFailuresPerMinute: 1000, loginAttemptsPerUserPerMinute: 5 });
    expect(await statuses(Array.from({ length: 8 }, (_, i) => login(spread, `10.8.0.${String(i)}`, 'wrong password!!')))).toEqual({
      '401 wrong user name or password': 5,
      '429 too many logins as erin; try again in a minute': 3,
    });
    expect((await login(spread, '10.8.1.1', 'wrong password!!', 'carol')).status).toBe(401);

    // A burst from many addresses: a few scrypt checks at a time and a short queue; the rest are refused unchecked.
    const wide = createApp(db, { ...config, authFailuresPerMinute: 1000, loginAttemptsPerUserPerMinute: 1000 });
    const burst = await statuses(Array.from({ length: 200 }, (_, i) => login(wide, `10.9.${String(i >> 8)}.${String(i & 255)}`, 'wrong password!!')));
    expect(burst['401 wrong user name or password'] ?? 0).toBeLessThan(100);
    expect((burst['401 wrong user name or password'] ?? 0) + (burst['429 too many logins at once; try again in a moment'] ?? 0)).toBe(200);
  });

  it("adds feeds through the API only from https:// URLs outside the server's own network; local files stay with the CLI", async () => {
    const add = (location: string) => call('POST', '/api/v1/feeds', { role: 'admin', body: { id: 'api-feed', format: 'osv', location } });
    const refused = [
      '/etc/passwd',
      'file:///etc/passwd',
      './feed.json',
      'http://mirror.example/osv/all.zip',
      'ftp://mirror.example/all.zip',
      'https://169.254.169.254/latest/meta-data/',
      'https://127.0.0.1/x',
      'https://2130706433/x',
      'https://0x7f.1/x',
      'https://[::1]/x',
      'https://[::ffff:169.254.169.254]/x',
      'https://[fe80::1]/x',
      'https://[fd00::1]/x',
      'https://10.1.2.3/x',
      'https://172.16.0.1/x',
      'https://192.168.1.1/x',
      'https://0.0.0.0/x',
      'https://localhost/x',
      'https://a.localhost/x',
      'https://[::127.0.0.1]/x',
      'https://[64:ff9b::7f00:1]/x',
      'https://[2002:7f00:1::]/x',
      'https://[fec0::1]/x',
      'https://198.18.0.1/x',
      'https://224.0.0.1/x',
      'https://255.255.255.255/x',
      'https://[ff02::1]/x',
    ];
    const answers = await Promise.all(
      refused.map(async (l) => {
        const r = await add(l);
        return [
          l,
          r.status,
          ((await r.json()) as { error?: { message: string } }).error?.message.replace(/^body\.location: (?:\S+ )?(through the API|is a loopback).*$/, '$1'),
        ];
      }),
    );
    expect(answers).toEqual(refused.map((l) => [l, 400, /^(\/|\.|file|http:|ftp)/.test(l) ? 'through the API' : 'is a loopback']));
    expect(JSON.stringify(await (await call('GET', '/api/v1/feeds', { role: 'admin' })).json())).not.toContain('api-feed');
    const ok = await add('https://mirror.example/osv/all.zip');
    expect([ok.status, ((await ok.json()) as { location: string }).location]).toEqual([201, 'https://mirror.example/osv/all.zip']);
    expect((await call('DELETE', '/api/v1/feeds/api-feed', { role: 'admin' })).status).toBe(200);
    // An access key in a feed's URL is never shown to viewers, nor kept in the audit log.
    expect((await add('https://mirror.example/osv/all.zip?token=s3cret-key')).status).toBe(201);
    const listed = JSON.stringify(await (await call('GET', '/api/v1/feeds', { role: 'viewer' })).json());
    expect(listed).toContain('https://mirror.example/osv/all.zip?token=***');
    expect(listed).not.toContain('s3cret');
    expect(JSON.stringify(await (await call('GET', '/api/v1/audit', { role: 'operator' })).json())).not.toContain('s3cret');
    expect((await call('DELETE', '/api/v1/feeds/api-feed', { role: 'admin' })).status).toBe(200);
  });

  it('answers a path with a malformed percent-encoding with 400, logging nothing', async () => {
    const web = join(dir, 'web');
    mkdirSync(web, { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>b</title>');
    const logged: string[] = [];
    const withWeb = createApp(db, { ...config, webRoot: web, log: (msg) => logged.push(msg) });
    for (const path of ['/%E0%A4%A', '/hosts/%', '/repos/view/env/repodata/%E0%A4%A']) {
      const r = await withWeb.request(path);
      expect([path, r.status, await r.json()]).toEqual([path, 400, { error: { code: 'input.invalid', message: 'the path has a malformed percent-encoding' } }]);
    }
    expect(logged).toEqual([]);
    expect((await withWeb.request('/hosts/%C3%A9')).status).toBe(200);
  });

  it('keeps counting when addresses pass the limit of windows: the oldest give way, one by one', () => {
    const w = windowCounter(1, 3);
    for (const who of ['a', 'b', 'c', 'd']) w.add(who, 1000);
    expect([w.size(), ...['a', 'b', 'c', 'd'].map((who) => w.blocked(who, 1000))]).toEqual([3, false, true, true, true]);
    // A window that ended starts again, counted as the newest.
    w.add('b', 70_000);
    w.add('e', 70_000);
    expect(['b', 'c', 'd', 'e'].map((who) => w.blocked(who, 70_000))).toEqual([true, false, false, true]);
    expect(w.size()).toBe(3);
  });

  it('lists findings filtered, sorted and paged; reports in other formats; errors are JSON with stable codes', async () => {
    const all = (await (await call('GET', '/api/v1/findings?limit=1000', { role: 'viewer' })).json()) as {
      items: { package: string; severity: string }[];
      total: number;
    };
    expect(all.total).toBeGreaterThan(3);
    expect(all.items).toHaveLength(all.total);
    const page = (await (await call('GET', '/api/v1/findings?limit=2&offset=1&sort=package', { role: 'viewer' })).json()) as {
      items: { package: string }[];
      total: number;
      limit: number;
      offset: number;
    };
    const sorted = all.items.map((f) => f.package).sort((a, b) => a.localeCompare(b));
    expect(page.items.map((f) => f.package)).toEqual(sorted.slice(1, 3));
    expect([page.total, page.limit, page.offset]).toEqual([all.total, 2, 1]);
    const bySeverity = (await (await call('GET', '/api/v1/findings?limit=1000&sort=-severity', { role: 'viewer' })).json()) as {
      items: { severity: string }[];
    };
    const rank = ['unknown', 'none', 'low', 'medium', 'high', 'critical'];
    const ranks = bySeverity.items.map((f) => rank.indexOf(f.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    const high = (await (await call('GET', '/api/v1/findings?severity=high&limit=1000', { role: 'viewer' })).json()) as { items: { severity: string }[] };
    expect(high.items.every((f) => f.severity === 'high' || f.severity === 'critical')).toBe(true);
    const csv = await call('GET', '/api/v1/reports/findings?format=csv', { role: 'viewer' });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\n')[0]).toMatch(/severity/i);

    const bad = await call('GET', '/api/v1/findings?severity=dreadful', { role: 'viewer' });
    expect(bad.status).toBe(400);
    const err = (await bad.json()) as { error: { code: string; message: string; details: { issues: { path: string }[] } } };
    expect(err.error.code).toBe('input.invalid');
    expect(err.error.details.issues[0]?.path).toBe('query.severity');
    expect((await call('GET', '/api/v1/findings?sort=secret', { role: 'viewer' })).status).toBe(400);
    const missing = await call('GET', '/api/v1/nothing-here', { role: 'viewer' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('storage.not-found');
    expect((await call('POST', '/api/v1/hosts', { role: 'admin', body: { name: 'x', address: 'root@h', extra: 1 } })).status).toBe(400);
    const big = await call('PUT', '/api/v1/policies/demo', { role: 'admin', text: 'x'.repeat(3 * 1024 * 1024) });
    expect(big.status).toBe(413);
  });

  it('gives the fleet at a glance: hosts, open exposure by severity and release, open findings per day', async () => {
    const o = (await (await call('GET', '/api/v1/overview?days=7', { role: 'viewer' })).json()) as {
      hosts: { total: number; byRelease: Record<string, number> };
      open: { total: number; bySeverity: Record<string, number>; byRelease: Record<string, Record<string, number>> };
      exposureOverTime: { day: string; open: number; bySeverity: Record<string, number> }[];
    };
    const listed = (await (await call('GET', '/api/v1/findings?limit=1000', { role: 'viewer' })).json()) as { total: number; items: { severity: string }[] };
    expect(o.hosts.total).toBe(1);
    expect(o.hosts.byRelease).toEqual({ 'azurelinux:3.0': 1 });
    expect(o.open.total).toBe(listed.total);
    for (const sev of ['critical', 'high', 'medium', 'low'])
      expect([sev, o.open.bySeverity[sev]]).toEqual([sev, listed.items.filter((f) => f.severity === sev).length]);
    expect(o.open.byRelease['azurelinux:3.0']?.['high']).toBe(o.open.bySeverity['high']);
    expect(o.exposureOverTime).toHaveLength(7);
    expect(o.exposureOverTime.at(-1)).toEqual({ day: new Date().toISOString().slice(0, 10), open: o.open.total, bySeverity: o.open.bySeverity });
  });

  it('applies a policy, plans, decides and starts a run; the audit log names the token', async () => {
    const put = await call('PUT', '/api/v1/policies/demo', { role: 'admin', text: POLICY });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ name: 'demo', version: 1, created: true });
    expect((await call('PUT', '/api/v1/policies/other', { role: 'admin', text: POLICY })).status).toBe(400);
    const plan = (await (await call('GET', '/api/v1/policies/demo/plan', { role: 'viewer' })).json()) as {
      entries: { target: string; packages: { advisories: string[] }[] }[];
    };
    expect(plan.entries.map((e) => e.target)).toEqual(['demo-azl3-vm']);
    const advisory = plan.entries[0]?.packages[0]?.advisories[0] ?? '';
    const hold = await call('POST', '/api/v1/decisions', {
      role: 'operator',
      body: { policy: 'demo', advisory, kind: 'hold', reason: 'waiting for the vendor' },
    });
    expect(hold.status).toBe(201);
    const held = (await (await call('GET', '/api/v1/policies/demo/plan', { role: 'viewer' })).json()) as { entries: { held: { advisory: string }[] }[] };
    expect(held.entries[0]?.held.map((h) => h.advisory)).toEqual([advisory]);
    expect((await call('DELETE', `/api/v1/decisions?policy=demo&advisory=${encodeURIComponent(advisory)}&kind=hold`, { role: 'operator' })).status).toBe(200);

    const started = await call('POST', '/api/v1/runs', { role: 'operator', body: { policy: 'demo' } });
    expect(started.status).toBe(202);
    const { run } = (await started.json()) as { run: number };
    // The refusing transport fails the host's precheck: the run halts, and the API shows why.
    let shown: { run: { status: string }; failedHosts: string[] } = { run: { status: 'running' }, failedHosts: [] };
    for (let i = 0; i < 100 && shown.run.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      shown = (await (await call('GET', `/api/v1/runs/${String(run)}`, { role: 'viewer' })).json()) as typeof shown;
    }
    expect(shown.run.status).toBe('halted');
    expect(shown.failedHosts).toEqual(['demo-azl3-vm']);
    const audit = (await (await call('GET', '/api/v1/audit?subject=demo', { role: 'operator' })).json()) as { items: { action: string; actor: string }[] };
    const operatorId = tokens.get('operator')?.split('_')[1] ?? '';
    expect(audit.items.find((a) => a.action === 'run.start')?.actor).toBe(`token:${operatorId}:t-operator`);
    expect(audit.items.find((a) => a.action === 'advisory.hold')?.actor).toBe(`token:${operatorId}:t-operator`);
    expect(audit.items.find((a) => a.action === 'policy.apply')?.actor).toMatch(/^token:[0-9a-f]{12}:t-admin$/);
    const overview = (await (await call('GET', '/api/v1/overview', { role: 'viewer' })).json()) as {
      sla: { policy: string; plannedHosts: number; breaches: number }[];
    };
    expect(overview.sla.map((p) => [p.policy, p.plannedHosts])).toEqual([['demo', 1]]);
    expect(overview.sla[0]?.breaches).toBe(
      plan.entries.length === 0
        ? 0
        : ((await (await call('GET', '/api/v1/policies/demo/plan', { role: 'viewer' })).json()) as { breaches: unknown[] }).breaches.length,
    );
    // The host's page: packages, open findings, and the run in its history.
    const host = (await (await call('GET', '/api/v1/hosts/demo-azl3-vm', { role: 'viewer' })).json()) as {
      packages: { name: string }[];
      findings: unknown[];
      history: { runs: { run: number; steps: { kind: string; state: string }[] }[] };
    };
    expect(host.packages).toHaveLength(10);
    expect(host.findings.length).toBeGreaterThan(3);
    expect(host.history.runs.map((r) => [r.run, r.steps.map((x) => `${x.kind}:${x.state}`).join(' ')])).toEqual([
      [run, 'precheck:failed update:skipped rescan:skipped'],
    ]);
  });
});
