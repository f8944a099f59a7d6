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
});
