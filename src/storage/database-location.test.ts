import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveLocation } from './database.js';

/** Which database a process opens, and a bad BULWARK_DATABASE_URL as a configuration error. */
describe('the database location', () => {
  it('takes --db first, then BULWARK_DATABASE_URL with its schema taken off', () => {
    expect(resolveLocation({ dbPath: '/x.db', env: { BULWARK_DATABASE_URL: 'postgres://a@h/d' } })).toEqual({ kind: 'sqlite', path: '/x.db' });
    expect(resolveLocation({ env: { BULWARK_DATABASE_URL: 'postgres://a:p@h:5432/d?schema=s1' } })).toEqual({
      kind: 'postgres',
      url: 'postgres://a:p@h:5432/d',
      schema: 's1',
    });
  });

  // It was a TypeError: an internal error (exit 70) with a stack.
  it.each(['postgres://bulwark:SECRETPW@[bad/x', 'postgres://bulwark:SECRETPW@host:99999/x'])(
    'refuses %s as a configuration error that does not echo the password',
    (url) => {
      let err: unknown;
      try {
        resolveLocation({ env: { BULWARK_DATABASE_URL: url } });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'config.invalid', message: 'BULWARK_DATABASE_URL is not a URL (postgres://user:password@host:port/database)' });
    },
  );

  // It made the directory and an empty database in it, as --db once did.
  it('refuses a sqlite: URL whose directory does not exist, and creates nothing', () => {
    const dir = join(tmpdir(), `bulwark-loc-${String(process.pid)}`, 'typo');
    expect(() => resolveLocation({ env: { BULWARK_DATABASE_URL: `sqlite:${join(dir, 'x.db')}` } })).toThrow(
      `BULWARK_DATABASE_URL: the directory ${dir} does not exist`,
    );
    expect(existsSync(dir)).toBe(false);
    expect(resolveLocation({ env: { BULWARK_DATABASE_URL: `sqlite:${join(tmpdir(), 'x.db')}` } })).toEqual({ kind: 'sqlite', path: join(tmpdir(), 'x.db') });
  });
});
