import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isBulwarkError, type ErrorCode } from '../core/errors.js';
import { storageErrorOf } from '../services/store.js';

/**
 * The one HTTP error handler (DESIGN.md): every error becomes `{ "error": { "code", "message",
 * "details"? } }` with a stable code and the status that code means. Internal errors say no more
 * than that to the client; their stack goes to the log.
 */
const STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  usage: 400,
  'input.invalid': 400,
  'version.invalid': 400,
  'package.invalid': 400,
  'config.invalid': 400,
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

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

export function errorResponse(c: Context, thrown: unknown, log: (msg: string, meta: Record<string, unknown>) => void): Response {
  // A busy or full database is said as such (409, 507), not as an internal error.
  const err = storageErrorOf(thrown) ?? thrown;
  if (isBulwarkError(err) && err.code !== 'internal') {
    if (err.code === 'auth.required') c.header('WWW-Authenticate', 'Bearer realm="bulwark"');
    return c.json({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } }, STATUS[err.code]);
  }
  log('request failed', { method: c.req.method, path: c.req.path, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
}
