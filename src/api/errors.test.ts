import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorResponse } from './errors.js';

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
