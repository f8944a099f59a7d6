import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isBulwarkError, type ErrorCode } from '../core/errors.js';
import { storageErrorOf } from '../services/store.js';

/**
 * The one HTTP error handler (DESIGN.md): every error becomes `{ "error": { "code", "message",
 * "details"? } }` with a stable code and the status that code means. Internal errors say no more
 * than that to the client; their stack goes to the log. Every error answer — thrown or written
 * by the app itself (404 of no route, 413 of a body limit, 401 of the repositories) — is made by
 * errorJson, which looks the status up here: a code and its status cannot disagree.
 */
export const STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  usage: 400,
  'input.invalid': 400,
  'input.too-large': 413,
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

/** An error answer with the status its code means (and, for auth.required, the challenge). */
export function errorJson(
  c: Context,
  code: ErrorCode,
  message: string,
  o: { details?: Readonly<Record<string, unknown>> | undefined; headers?: Record<string, string> } = {},
): Response {
  const headers = {
    ...(code === 'auth.required' && o.headers?.['WWW-Authenticate'] === undefined ? { 'WWW-Authenticate': 'Bearer realm="bulwark"' } : {}),
    ...(o.headers ?? {}),
  };
  return c.json({ error: { code, message, ...(o.details !== undefined ? { details: o.details } : {}) } }, STATUS[code], headers);
}

export function errorResponse(c: Context, thrown: unknown, log: (msg: string, meta: Record<string, unknown>) => void): Response {
  // A busy or full database is said as such (409, 507), not as an internal error.
  const err = storageErrorOf(thrown) ?? thrown;
  if (isBulwarkError(err) && err.code !== 'internal') return errorJson(c, err.code, err.message, { details: err.details });
  log('request failed', { method: c.req.method, path: c.req.path, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return errorJson(c, 'internal', 'internal error');
}
