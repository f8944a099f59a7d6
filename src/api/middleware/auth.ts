import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { BulwarkError } from '../../core/errors.js';
import { agentOfHeaders, type AgentRow } from '../../services/agents.js';
import { csrfToken, sessionUser } from '../../services/sessions.js';
import type { Db } from '../../services/store.js';
import { roleAllows, verifyToken } from '../../services/tokens.js';
import { SESSION_COOKIE, type Principal, type Route } from '../routes/route.js';
import { signedHeaders } from './agent-signature.js';
import type { AuthBudgets } from './rate-limit.js';

export interface Authenticated {
  principal: Principal;
  sessionId: string | null;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,256})$/;

/** A bearer token, else a dashboard session cookie (which then needs its CSRF token to change anything). */
export async function authenticate(db: Db, budgets: AuthBudgets, c: Context): Promise<Authenticated> {
  budgets.checkFailures(c);
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const m = BEARER.exec(header);
    const t = m?.[1] === undefined ? null : await verifyToken(db, m[1]);
    // Counted by the route wrapper, with every other failed credential.
    if (t === null) throw new BulwarkError('auth.required', 'the token is not valid (unknown, expired or revoked)');
    return { principal: { kind: 'token', id: t.id, name: t.name, role: t.role, expiresAt: t.expiresAt }, sessionId: null };
  }
  const sid = getCookie(c, SESSION_COOKIE);
  if (sid !== undefined) {
    const u = await sessionUser(db, sid);
    if (u === null) throw new BulwarkError('auth.required', 'the session has ended; log in again');
    if (!['GET', 'HEAD'].includes(c.req.method)) checkCsrf(c, sid);
    return { principal: { kind: 'session', id: u.name, name: u.name, role: u.role, expiresAt: u.expiresAt }, sessionId: sid };
  }
  throw new BulwarkError('auth.required', 'this route needs a token (Authorization: Bearer bwk_…) or a session');
}

/** A change made with a session carries the session's CSRF token (X-CSRF-Token), compared in constant time. */
function checkCsrf(c: Context, sid: string): void {
  const sent = c.req.header('x-csrf-token') ?? '';
  const want = csrfToken(sid);
  if (sent.length !== want.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(want)))
    throw new BulwarkError('auth.forbidden', 'a change made with a session needs its CSRF token (X-CSRF-Token)');
}

/**
 * What is refused before a route's body is read: a blocked client, a request no enrolled agent
 * signed, a missing or wrong credential, too small a role. Returns who calls: the principal (null
 * on public and agent routes), or, on agent routes, the agent the headers name (its signature is
 * checked once the body is read, with this row: read once a request).
 */
export async function guard(db: Db, budgets: AuthBudgets, r: Route, c: Context): Promise<Authenticated | AgentRow | null> {
  if (r.access === 'agent' || r.checksCredentials === true) budgets.checkFailures(c);
  if (r.access === 'agent') return agentOfHeaders(db, signedHeaders(c));
  if (r.access === 'public') return null;
  const auth = await authenticate(db, budgets, c);
  if (!roleAllows(auth.principal.role, r.access))
    throw new BulwarkError(
      'auth.forbidden',
      `${r.method.toUpperCase()} ${r.path} needs the ${r.access} role; this ${auth.principal.kind} is ${auth.principal.role}`,
    );
  return auth;
}

/**
 * Whether a request may read the content-view repositories when they need a token: a bearer
 * token, or HTTP Basic with the token as the password (what dnf's `username=`/`password=` and
 * apt's auth.conf send). A wrong one counts as a failed authentication.
 */
export async function repositoryTokenValid(db: Db, budgets: AuthBudgets, c: Context): Promise<boolean> {
  budgets.checkFailures(c);
  const header = c.req.header('authorization') ?? '';
  let token: string | null = BEARER.exec(header)?.[1] ?? null;
  const basic = /^Basic ([A-Za-z0-9+/=]{1,512})$/.exec(header)?.[1];
  if (token === null && basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    token = decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : null;
  }
  const t = token === null ? null : await verifyToken(db, token);
  if (t === null) {
    if (header !== '') budgets.failed(c);
    return false;
  }
  return true;
}
