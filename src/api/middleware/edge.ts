import type { MiddlewareHandler } from 'hono';
import { BulwarkError } from '../../core/errors.js';

/**
 * Responses are data about a fleet's weaknesses: never cached (but the dashboard's hashed
 * assets), never sniffed, never framed.
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  // Set on the response's own headers: c.header() after the handler makes the response anew,
  // which under @hono/node-server turned every answer into a web Response whose body is written
  // through a stream (an eighth of an agent report's time in the server, issue #14).
  const set = (h: Headers): void => {
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('X-Frame-Options', 'DENY');
  };
  try {
    set(c.res.headers);
  } catch {
    // Immutable headers (a response made by fetch, say): on a copy of the response, as before.
    if (c.res.headers.get('Cache-Control') === null) c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
  }
};

/**
 * NUL never belongs in a path, a query or a header we read; PostgreSQL refuses it in text and a
 * lookup with one answered 500 (issue #20, item 9). Refused at the edge, before any route.
 */
export const noNulAnywhere: MiddlewareHandler = async (c, next) => {
  if (decodedPath(c).includes('\0')) throw new BulwarkError('input.invalid', 'the path holds a NUL byte');
  for (const [k, v] of new URL(c.req.url).searchParams)
    if (k.includes('\0') || v.includes('\0')) throw new BulwarkError('input.invalid', 'the query holds a NUL byte');
  for (const [k, v] of c.req.raw.headers) if (v.includes('\0')) throw new BulwarkError('input.invalid', `the ${k} header holds a NUL byte`);
  await next();
};

/** The request's path, percent-decoded; a malformed escape (%E0%A4%A) is the client's error (400), not an internal one. */
export function decodedPath(c: { req: { path: string } }): string {
  try {
    return decodeURIComponent(c.req.path);
  } catch {
    throw new BulwarkError('input.invalid', 'the path has a malformed percent-encoding');
  }
}
