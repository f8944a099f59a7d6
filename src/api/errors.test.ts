import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { refusingTransport } from '../../test/refusing-transport.js';
import { BulwarkError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import { openStore } from '../services/store.js';
import { createToken } from '../services/tokens.js';
import { createApp } from './app.js';
import { errorResponse, STATUS, statusOf } from './errors.js';

/** Issue #20 items 6 and 11: a busy or full database is answered as such, not as a 500. */
describe('the error handler and database errors', () => {
  const app = new Hono();
  const logged: string[] = [];
  app.onError((err, c) => errorResponse(c, err, (msg) => logged.push(msg)));
  app.get('/full', () => {
    throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  });
  app.get('/busy', () => {
    throw Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' });
  });
  app.get('/bug', () => {
    throw new Error('a bug');
  });

  it.each([
    ['/full', 507, 'storage.full'],
    ['/busy', 409, 'storage.conflict'],
    ['/bug', 500, 'internal'],
  ])('%s answers %i %s', async (path, status, code) => {
    const res = await app.request(path);
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([status, code]);
  });
});

/**
 * Issue #19 item 4: one error→status table covering every error code, written here by hand from
 * what each code means over HTTP, and every answer the app writes itself (no route, a body over
 * its limit, the repositories' credential) says a code with its own status.
 */
describe('the error → status table', () => {
  const MEANS: Record<(typeof ERROR_CODES)[number], number> = {
    usage: 400,
    'config.invalid': 400,
    'version.invalid': 400,
    'package.invalid': 400,
    'input.invalid': 400,
    'input.too-large': 413,
    'storage.conflict': 409,
    'storage.not-found': 404,
    'storage.unavailable': 503,
    'storage.full': 507,
    'target.unreachable': 502,
    'auth.required': 401,
    'auth.forbidden': 403,
    'auth.rate-limited': 429,
    internal: 500,
  };

  it.each(ERROR_CODES.map((c) => [c]))('%s has its status', async (code) => {
    expect(statusOf(code)).toBe(MEANS[code]);
    // And a thrown error of that code is answered with it (internal says no more than that).
    const app = new Hono();
    app.onError((err, c) => errorResponse(c, err, () => undefined));
    app.get('/', () => {
      throw new BulwarkError(code, 'm');
    });
    const res = await app.request('/');
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([MEANS[code], code]);
  });

  it('covers exactly the error codes', () => {
    expect(Object.keys(STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('is what the app answers with when it writes an error itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-errors-'));
    const db = await openStore({ dbPath: join(dir, 'b.db'), env: {} });
    try {
      const app = createApp(db, {
        knownHostsFile: join(dir, 'kh'),
        transport: () => refusingTransport,
        version: 't',
        agentServerKey: randomBytes(32),
        reposNeedToken: true,
      });
      const viewer = (await createToken(db, { name: 'v', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
      // A missing run is not found, as a missing host is (issue #17: it was 400 usage).
      const run = await app.request('/api/v1/runs/999', { headers: { authorization: `Bearer ${viewer}` } });
      expect([run.status, ((await run.json()) as { error: { code: string } }).error.code]).toEqual([404, 'storage.not-found']);
      const plan = await app.request('/api/v1/policies/none/plan', { headers: { authorization: `Bearer ${viewer}` } });
      expect([plan.status, ((await plan.json()) as { error: { code: string } }).error.code]).toEqual([404, 'storage.not-found']);
      const answers = [
        await app.request('/api/v1/no-such-route'),
        await app.request('/agent/v1/enroll', { method: 'POST', headers: { 'content-length': '999999' }, body: 'x'.repeat(999_999) }),
        await app.request('/repos/v/prod/repodata/repomd.xml'),
        await app.request('/api/v1/me'),
      ];
      const got = await Promise.all(answers.map(async (r) => [r.status, ((await r.json()) as { error: { code: ErrorCode } }).error.code] as const));
      expect(got.map(([, code]) => code)).toEqual(['storage.not-found', 'input.too-large', 'auth.required', 'auth.required']);
      for (const [status, code] of got) expect([code, status]).toEqual([code, MEANS[code]]);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
