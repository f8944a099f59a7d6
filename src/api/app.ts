import { timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';
import type { Db } from '../services/store.js';
import { agentOfHeaders, verifyAgentRequest, type AgentRow } from '../services/agents.js';
import { environmentDir } from '../services/content-views.js';
import { csrfToken, sessionUser } from '../services/sessions.js';
import { roleAllows, verifyToken } from '../services/tokens.js';

import { errorResponse } from './errors.js';
import { openApiDocument } from './openapi.js';
import { requestOrigin } from './origin.js';
import { AGENT_BODY_LIMIT, API_BODY_LIMIT, Raw, ROUTES, SESSION_COOKIE, WithCookie, type ApiConfig, type Principal, type Route } from './routes.js';

/**
 * The HTTP API (issue #6) on Hono: each route of the table gets authentication (a bearer token),
 * its role check, strict validation of query and body, and the one error handler. Tests call
 * `app.request()` without a socket; `bulwark serve` puts the same app on a listening server.
 */
export interface ApiOptions extends ApiConfig {
  log?: (msg: string, meta: Record<string, unknown>) => void;
  /** Failed authentications (tokens, sessions, agent signatures, enrollment tokens) allowed per client address per minute (default 20). */
  authFailuresPerMinute?: number;
  /** Password logins per client address per minute, counted when they start and given back when they succeed (default: authFailuresPerMinute). */
  loginAttemptsPerMinute?: number;
  /** Password logins per user name per minute, from any address, counted the same way (default 10). */
  loginAttemptsPerUserPerMinute?: number;
  /** Who is calling from (the socket's address; behind a proxy, set by the server). */
  clientAddress?: (c: Context) => string;
  /** The built dashboard to serve at / (findWebRoot()); null: answer that it is not built; undefined: API only. */
  webRoot?: string | null;
  /** True when a trusted proxy says the client used HTTPS (session cookies are then Secure). */
  forwardedHttps?: (c: Context) => boolean;
  /**
   * scheme://host[:port] hosts reach this server at, for the agent install command
   * (BULWARK_PUBLIC_URL). Without it: what a trusted proxy forwards (forwardedOrigin), else the
   * request's own scheme and Host.
   */
  publicUrl?: string | undefined;
  /** scheme://host[:port] from a trusted proxy's X-Forwarded-Proto and X-Forwarded-Host; null when not from one. */
  forwardedOrigin?: (c: Context) => string | null;
  /**
   * Content-view repositories under /repos need a viewer token: `Authorization: Bearer`, or HTTP
   * Basic with the token as the password (what dnf's `username=`/`password=` and apt's
   * auth.conf send). Default: public, as distribution mirrors are.
   */
  reposNeedToken?: boolean;
}

/** The full route table: the API's routes and the OpenAPI document's own. */
export function apiRoutes(): Route[] {
  return [
    ...ROUTES,
    {
      method: 'get',
      path: '/api/v1/openapi.json',
      access: 'public',
      tag: 'service',
      summary: 'This OpenAPI 3.1 document',
      handle: (c) => Promise.resolve(openApiDocument(apiRoutes(), c.config.version)),
    },
  ];
}

/**
 * Fixed one-minute windows counting attempts per key (a client address, a user name). Past
 * `maxKeys` keys the oldest windows give way, one by one — clearing them all let a flood from
 * many addresses wipe every count.
 */
export function windowCounter(perMinute: number, maxKeys = 10_000): { blocked: (key: string, now: number) => boolean; add: (key: string, now: number) => () => void; size: () => number } {
  const windows = new Map<string, { start: number; n: number }>();
  const current = (key: string, now: number): { start: number; n: number } | undefined => {
    const w = windows.get(key);
    return w !== undefined && now - w.start < 60_000 ? w : undefined;
  };
  return {
    blocked: (key, now) => (current(key, now)?.n ?? 0) >= perMinute,
    /** Counts one; returns what gives it back (while its window lasts). */
    add(key, now) {
      let w = current(key, now);
      if (w === undefined) {
        // Re-inserted, so the map's order stays the order windows started in.
        windows.delete(key);
        w = { start: now, n: 0 };
        windows.set(key, w);
        for (const oldest of windows.keys()) {
          if (windows.size <= maxKeys) break;
          windows.delete(oldest);
        }
      }
      w.n++;
      const counted = w;
      return () => {
        if (windows.get(key) === counted && counted.n > 0) counted.n--;
      };
    },
    size: () => windows.size,
  };
}

export function createApp(db: Db, o: ApiOptions): Hono {
  const app = new Hono();
  const log = o.log ?? ((): void => undefined);
  // Two budgets: failed credentials of every kind but passwords, and password logins (scrypt is
  // slow on purpose: a login is counted when it starts, per address and per user name), so a
  // password flood never holds back a valid token from the same address.
  const failures = windowCounter(o.authFailuresPerMinute ?? 20);
  const logins = windowCounter(o.loginAttemptsPerMinute ?? o.authFailuresPerMinute ?? 20);
  const userLogins = windowCounter(o.loginAttemptsPerUserPerMinute ?? 10);
  const loginAttempt = (c: Context, user: string): { succeeded: () => void } => {
    const who = clientAddress(c);
    const now = Date.now();
    if (logins.blocked(who, now)) throw new BulwarkError('auth.rate-limited', 'too many logins from this address; try again in a minute');
    if (userLogins.blocked(user, now)) throw new BulwarkError('auth.rate-limited', `too many logins as ${user}; try again in a minute`);
    const back = [logins.add(who, now), userLogins.add(user, now)];
    return {
      succeeded: () => {
        for (const b of back) b();
      },
    };
  };
  const clientAddress = o.clientAddress ?? ((c: Context): string => c.req.header('x-bulwark-test-client') ?? 'local');
  app.onError((err, c) => errorResponse(c, err, log));
  app.notFound((c) => c.json({ error: { code: 'storage.not-found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  // Bodies are limited before they are read: by Content-Length at once, else while streamed.
  // Each route reads its body only after its credential and role are checked (below): an
  // /api-wide limit in front read a chunked body of up to 2 MB from anyone before the token was
  // looked at (issue #20, item 13).
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) => c.json({ error: { code: 'input.invalid', message: `the request body is larger than ${String(maxSize)} bytes` } }, 413),
    });
  // Responses are data about a fleet's weaknesses: never cached (but the dashboard's hashed
  // assets), never sniffed, never framed.
  app.use('*', async (c, next) => {
    await next();
    if (c.res.headers.get('Cache-Control') === null) c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
  });
  // NUL never belongs in a path, a query or a header we read; PostgreSQL refuses it in text and
  // a lookup with one answered 500 (issue #20, item 9). Refused at the edge, before any route.
  app.use('*', async (c, next) => {
    if (decodedPath(c).includes('\0')) throw new BulwarkError('input.invalid', 'the path holds a NUL byte');
    for (const [k, v] of new URL(c.req.url).searchParams) if (k.includes('\0') || v.includes('\0')) throw new BulwarkError('input.invalid', 'the query holds a NUL byte');
    for (const [k, v] of c.req.raw.headers) if (v.includes('\0')) throw new BulwarkError('input.invalid', `the ${k} header holds a NUL byte`);
    await next();
  });

  /** A bearer token, else a dashboard session cookie (which then needs its CSRF token to change anything). */
  const authenticate = async (c: Context): Promise<{ principal: Principal; sessionId: string | null }> => {
    const who = clientAddress(c);
    const now = Date.now();
    if (failures.blocked(who, now)) throw new BulwarkError('auth.rate-limited', 'too many failed authentications; try again in a minute');
    const header = c.req.header('authorization');
    if (header !== undefined) {
      const m = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header);
      const t = m?.[1] === undefined ? null : await verifyToken(db, m[1]);
      // Counted by the route wrapper, with every other failed credential.
      if (t === null) throw new BulwarkError('auth.required', 'the token is not valid (unknown, expired or revoked)');
      return { principal: { kind: 'token', id: t.id, name: t.name, role: t.role, expiresAt: t.expiresAt }, sessionId: null };
    }
    const sid = getCookie(c, SESSION_COOKIE);
    if (sid !== undefined) {
      const u = await sessionUser(db, sid);
      if (u === null) throw new BulwarkError('auth.required', 'the session has ended; log in again');
      if (!['GET', 'HEAD'].includes(c.req.method)) {
        const sent = c.req.header('x-csrf-token') ?? '';
        const want = csrfToken(sid);
        if (sent.length !== want.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(want))) throw new BulwarkError('auth.forbidden', 'a change made with a session needs its CSRF token (X-CSRF-Token)');
      }
      return { principal: { kind: 'session', id: u.name, name: u.name, role: u.role, expiresAt: u.expiresAt }, sessionId: sid };
    }
    throw new BulwarkError('auth.required', 'this route needs a token (Authorization: Bearer bwk_…) or a session');
  };

  /** Failed credentials of every kind (tokens, enrollment tokens, agent signatures) count. */
  const counted = async <T>(c: Context, f: () => Promise<T>, passwordRoute = false): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof BulwarkError && err.code === 'auth.required' && !passwordRoute) failures.add(clientAddress(c), Date.now());
      throw err;
    }
  };
  /** Who a request is, found before its body is read. */
  const authenticated = new WeakMap<Context, { principal: Principal; sessionId: string | null }>();
  /**
   * What is refused before the body is read: a blocked client, a request no enrolled agent
   * signed, a missing or wrong credential, too small a role.
   */
  const before = async (r: Route, c: Context): Promise<void> => {
    if ((r.access === 'agent' || r.checksCredentials === true) && failures.blocked(clientAddress(c), Date.now())) throw new BulwarkError('auth.rate-limited', 'too many failed authentications; try again in a minute');
    if (r.access === 'agent') await agentOfHeaders(db, signedHeaders(c));
    if (r.access === 'public' || r.access === 'agent') return;
    const auth = await authenticate(c);
    if (!roleAllows(auth.principal.role, r.access)) throw new BulwarkError('auth.forbidden', `${r.method.toUpperCase()} ${r.path} needs the ${r.access} role; this ${auth.principal.kind} is ${auth.principal.role}`);
    authenticated.set(c, auth);
  };
  for (const r of apiRoutes()) {
    app.on(
      r.method.toUpperCase(),
      r.path,
      async (c, next) => {
        await counted(c, () => before(r, c));
        await next();
      },
      limit(r.maxBody ?? (r.path.startsWith('/api/') ? API_BODY_LIMIT : AGENT_BODY_LIMIT)),
      (c) => counted(c, () => handle(r, c), r.checksCredentials === 'password'),
    );
  }

  const handle = async (r: Route, c: Context): Promise<Response> => {
    const auth = authenticated.get(c) ?? null;
    // Set by `before` for every route that is neither public nor an agent's.
    if (auth === null && r.access !== 'public' && r.access !== 'agent') throw new BulwarkError('internal', `${r.path}: not authenticated before its handler`);
    const principal = auth?.principal ?? null;
    const query = parse(r.query, c.req.query(), 'query');
    let body: unknown = undefined;
    let agent: AgentRow | null = null;
    if (r.access === 'agent') {
      // The signature is over the bytes sent: a report with a Latin-1 byte, or a task's output
      // cut mid-character by head -c, is not valid UTF-8, and decoding first changed what was hashed.
      const raw = Buffer.from(await c.req.arrayBuffer());
      agent = await verifyAgentRequest(db, o.agentServerKey, { ...signedHeaders(c), method: r.method.toUpperCase(), path: c.req.path, body: raw });
      body = noNul(raw.toString('utf8'));
    } else if (r.textBody === true) body = noNul(await c.req.text());
    else if (r.body !== undefined) {
      const text = await c.req.text();
      let json: unknown = undefined;
      if (text.trim() !== '') {
        if (!/^application\/json\b/.test(c.req.header('content-type') ?? '')) throw new BulwarkError('input.invalid', 'the body must be JSON (Content-Type: application/json)');
        try {
          json = JSON.parse(text) as unknown;
        } catch {
          throw new BulwarkError('input.invalid', 'the body is not valid JSON');
        }
      }
      body = parse(r.body, noNulIn(json), 'body');
    }
    const actor = agent !== null ? `agent:${agent.id}` : principal === null ? 'anonymous' : principal.kind === 'token' ? `token:${principal.id}:${principal.name}` : `user:${principal.name}`;
    const secure = new URL(c.req.url).protocol === 'https:' || (o.forwardedHttps?.(c) ?? false);
    const result = await r.handle({ db, principal, agent, sessionId: auth?.sessionId ?? null, secure, origin: o.publicUrl ?? o.forwardedOrigin?.(c) ?? requestOrigin(c.req.url), actor, params: c.req.param(), query, body, config: o, loginAttempt: (user) => loginAttempt(c, user) });
    if (result instanceof Raw) return c.body(result.body, 200, { 'Content-Type': result.contentType });
    if (result instanceof WithCookie) {
      if (result.cookie === null) deleteCookie(c, SESSION_COOKIE, { path: '/' });
      else setCookie(c, SESSION_COOKIE, result.cookie.value, { path: '/', httpOnly: true, sameSite: 'Strict', secure: result.cookie.secure, maxAge: result.cookie.maxAge });
      return c.json(result.body ?? null, r.status ?? 200);
    }
    return c.json(result ?? null, r.status ?? 200);
  };
  serveRepositories(app, db, async (c, aboutTheView) => {
    if (o.reposNeedToken !== true && !aboutTheView) return true;
    const who = clientAddress(c);
    if (failures.blocked(who, Date.now())) throw new BulwarkError('auth.rate-limited', 'too many failed authentications; try again in a minute');
    const header = c.req.header('authorization') ?? '';
    let token: string | null = /^Bearer ([\x21-\x7e]{1,256})$/.exec(header)?.[1] ?? null;
    const basic = /^Basic ([A-Za-z0-9+/=]{1,512})$/.exec(header)?.[1];
    if (token === null && basic !== undefined) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8');
      token = decoded.includes(':') ? decoded.slice(decoded.indexOf(':') + 1) : null;
    }
    const t = token === null ? null : await verifyToken(db, token);
    if (t === null) {
      if (header !== '') failures.add(who, Date.now());
      return false;
    }
    return true;
  });
  if (o.webRoot !== undefined) serveDashboard(app, o.webRoot);
  return app;
}

const TYPES: Readonly<Record<string, string>> = { '.xml': 'text/xml; charset=utf-8', '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * Content view environments as package repositories: `/repos/<view>/<environment>/…` serves the
 * published version the environment points at (repodata and packages), for hosts' dnf. Public,
 * as package mirrors are: they hold packages, not data about the fleet — except view.yaml and
 * deviations.json, which need a token always.
 */
function serveRepositories(app: Hono, db: Db, allowed: (c: Context, aboutTheView: boolean) => Promise<boolean>): void {
  app.get('/repos/:view/:env/*', async (c) => {
    // The view's definition and deviation report say what the fleet withholds and why: data
    // about the fleet, never public, even where the packages are (issue #21, item 8).
    const aboutTheView = /^(view\.yaml|deviations\.json)$/.test(decodedPath(c).split('/').slice(4).join('/'));
    if (!(await allowed(c, aboutTheView))) return c.json({ error: { code: 'auth.required', message: 'these repositories need a token (Bearer, or as the Basic password)' } }, 401, { 'WWW-Authenticate': 'Basic realm="bulwark repositories"' });
    const path = decodedPath(c);
    const dir = await environmentDir(db, c.req.param('view'), c.req.param('env'));
    if (dir === null) return c.json({ error: { code: 'storage.not-found', message: `no environment ${c.req.param('env')} of content view ${c.req.param('view')}` } }, 404);
    const rest = path.split('/').slice(4).join('/');
    if (rest === '' || rest.split('/').some((x) => x === '..' || x === '.' || x === '')) return c.json({ error: { code: 'storage.not-found', message: 'no such file' } }, 404);
    const file = join(dir, rest);
    const size = await fileSize(file);
    if (size === null) return c.json({ error: { code: 'storage.not-found', message: `no ${rest} in this repository` } }, 404);
    // Streamed: a package may be large, and many hosts fetch at once.
    // An environment's URL serves another version after a promotion, and key files change when
    // the key rotates: only files whose name fixes their content (packages, checksum-named
    // repodata) may be cached.
    const fixedByName = rest.startsWith('Packages/') || rest.startsWith('pool/') || /^repodata\/[0-9a-f]{64}-[^/]+$/.test(rest);
    const headers = { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': String(size), 'Cache-Control': fixedByName ? 'public, max-age=3600' : 'no-cache' };
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    return c.body(Readable.toWeb(createReadStream(file)) as ReadableStream, 200, headers);
  });
}

/** The dashboard (web/, built into dist/web): its files, and index.html for every other page path. */
function serveDashboard(app: Hono, root: string | null): void {
  app.get('*', async (c) => {
    const path = c.req.path;
    if (path.startsWith('/api/') || path.startsWith('/agent/') || path.startsWith('/repos/')) return c.json({ error: { code: 'storage.not-found', message: `no route GET ${path}` } }, 404);
    if (root === null) return c.text('The dashboard is not built: run `npm run build`.', 404);
    const rel = normalize(decodedPath(c)).replace(/^(\.\.[/\\])+/, '');
    let file = join(root, rel);
    if (!file.startsWith(root) || !extname(file) || (await fileSize(file)) === null) file = join(root, 'index.html');
    const body = await readFile(file);
    const immutable = file.startsWith(join(root, 'assets'));
    return c.body(body, 200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  });
}

/** The request's path, percent-decoded; a malformed escape (%E0%A4%A) is the client's error (400), not an internal one. */
function decodedPath(c: { req: { path: string } }): string {
  try {
    return decodeURIComponent(c.req.path);
  } catch {
    throw new BulwarkError('input.invalid', 'the path has a malformed percent-encoding');
  }
}

/** A regular file's size; null for anything else or nothing. */
async function fileSize(p: string): Promise<number | null> {
  try {
    const st = await stat(p);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/** Where the built dashboard is: dist/web beside the compiled server, or the repository's dist/web when run from source. */
export function findWebRoot(): string | null {
  for (const rel of ['../web/', '../../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir.replace(/\/$/, '');
  }
  return null;
}

function signedHeaders(c: Context): { agentId: string | undefined; ts: string | undefined; nonce: string | undefined; signature: string | undefined } {
  return { agentId: c.req.header('x-bulwark-agent'), ts: c.req.header('x-bulwark-timestamp'), nonce: c.req.header('x-bulwark-nonce'), signature: c.req.header('x-bulwark-signature') };
}

/** A text body without NUL (a 400 at the edge; PostgreSQL cannot store one). */
function noNul(text: string): string {
  if (text.includes('\0')) throw new BulwarkError('input.invalid', 'the body holds a NUL byte');
  return text;
}

/** A JSON body none of whose strings (keys or values, at any depth) holds NUL: `"a\u0000b"`. */
function noNulIn(value: unknown): unknown {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') noNul(v);
    else if (Array.isArray(v)) for (const x of v as unknown[]) stack.push(x);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        noNul(k);
        stack.push(x);
      }
    }
  }
  return value;
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (schema === undefined) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
    throw new BulwarkError('input.invalid', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
  }
  return r.data;
}
