import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { BulwarkError } from '../core/errors.js';
import { ANONYMOUS, type Actor } from '../services/audit.js';
import type { NonceClaim } from '../services/agent-nonce.js';
import type { AgentRow } from '../services/agents.js';
import { HttpMetrics } from '../services/metrics.js';
import type { Db } from '../services/store.js';
import { errorJson, errorResponse } from './errors.js';
import { signedBody } from './middleware/agent-signature.js';
import { guard, repositoryTokenValid, type Authenticated } from './middleware/auth.js';
import { noNul, parse, readBody, routeBodyLimit, strictQuery } from './middleware/body.js';
import { noNulAnywhere, securityHeaders } from './middleware/edge.js';
import { AuthBudgets, type AuthBudgetOptions } from './middleware/rate-limit.js';
import { openApiDocument } from './openapi.js';
import { requestOrigin } from './origin.js';
import { Raw, ROUTES, SESSION_COOKIE, WithCookie, type ApiConfig, type Principal, type Route } from './routes/index.js';
import { serveDashboard, serveRepositories } from './static.js';

export { windowCounter } from './middleware/rate-limit.js';
export { findWebRoot } from './static.js';

/**
 * The HTTP API (issue #6) on Hono: each route of the table gets authentication (a bearer token),
 * its role check, strict validation of query and body, and the one error handler. Tests call
 * `app.request()` without a socket; `bulwark serve` puts the same app on a listening server.
 */
export interface ApiOptions extends ApiConfig, AuthBudgetOptions {
  log?: (msg: string, meta: Record<string, unknown>) => void;
  /** One structured line per request (method, route, status, duration, request id); none when absent. */
  requestLog?: (msg: string, meta: Record<string, unknown>) => void;
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

/** Who the audit log names for a request: the signing agent, the token, the session's user. */
export function actorOf(principal: Principal | null, agent: AgentRow | null): Actor {
  if (agent !== null) return { kind: 'agent', name: agent.id };
  if (principal === null) return ANONYMOUS;
  return principal.kind === 'token' ? { kind: 'token', name: `${principal.id}:${principal.name}` } : { kind: 'user', name: principal.name };
}

/** A caller's X-Request-Id is kept when it is a plain token; otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function createApp(db: Db, opts: ApiOptions): Hono {
  const o: ApiOptions = { ...opts, httpMetrics: opts.httpMetrics ?? new HttpMetrics() };
  const app = new Hono();
  const baseLog = o.log ?? ((): void => undefined);
  const budgets = new AuthBudgets(o, o.clientAddress ?? ((c: Context): string => c.req.header('x-bulwark-test-client') ?? 'local'));
  /** Each request's id and matched route pattern (issue #18 item 5: logs and metrics). */
  const requestIds = new WeakMap<Request, string>();
  const routeOf = new WeakMap<Request, string>();
  app.onError((err, c) =>
    errorResponse(c, err, (msg, meta) => {
      baseLog(msg, { ...meta, requestId: requestIds.get(c.req.raw) });
    }),
  );
  app.use('*', async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    requestIds.set(c.req.raw, id);
    await next();
    try {
      c.res.headers.set('X-Request-Id', id);
    } catch {
      // An immutable response (none of ours today) goes without the header.
    }
    const seconds = (performance.now() - started) / 1000;
    // Paths nobody routes (scanners probing) share one label, so they cannot grow the series without bound.
    const pattern = routeOf.get(c.req.raw) ?? (c.req.path.startsWith('/repos/') ? '/repos/*' : c.req.path.startsWith('/api/') ? 'unmatched' : 'static');
    o.httpMetrics?.observe(c.req.method, pattern, c.res.status, seconds);
    o.requestLog?.('request', { requestId: id, method: c.req.method, route: pattern, status: c.res.status, ms: Math.round(seconds * 1e4) / 10 });
  });
  app.notFound((c) => errorJson(c, 'storage.not-found', `no route ${c.req.method} ${c.req.path}`));
  app.use('*', securityHeaders);
  app.use('*', noNulAnywhere);

  /** Who a request is, found before its body is read. */
  const authenticated = new WeakMap<Context, Authenticated | AgentRow | null>();
  const handle = async (r: Route, c: Context): Promise<Response> => {
    const who = authenticated.get(c) ?? null;
    const auth = who !== null && 'principal' in who ? who : null;
    // Set by `guard` for every route that is neither public nor an agent's.
    if (auth === null && r.access !== 'public' && r.access !== 'agent') throw new BulwarkError('internal', `${r.path}: not authenticated before its handler`);
    const principal = auth?.principal ?? null;
    const query = parse(r.query, strictQuery(r.query, c.req.queries(), `${r.method.toUpperCase()} ${r.path}`), 'query');
    let body: unknown;
    let agent: AgentRow | null = null;
    let nonce: NonceClaim | null = null;
    let bodySha256: string | null = null;
    if (r.access === 'agent') {
      const signed = await signedBody(db, o.agentServerKey, r, c, who !== null && !('principal' in who) ? who : undefined);
      agent = signed.agent;
      body = noNul(signed.raw.toString('utf8'));
      // Text decoded from valid UTF-8 is the bytes signed: its SHA-256 is the signature's.
      if (isUtf8(signed.raw)) bodySha256 = signed.bodySha256;
      nonce = signed.nonce;
      // Stored before the handler runs, unless the route stores it in its own transaction.
      if (r.nonceInTransaction !== true) await nonce.store(db);
    } else body = await readBody(r, c);
    const secure = new URL(c.req.url).protocol === 'https:' || (o.forwardedHttps?.(c) ?? false);
    const origin = o.publicUrl ?? o.forwardedOrigin?.(c) ?? requestOrigin(c.req.url);
    const result = await r.handle({
      db,
      principal,
      agent,
      nonce,
      bodySha256,
      sessionId: auth?.sessionId ?? null,
      secure,
      origin,
      actor: actorOf(principal, agent),
      params: c.req.param(),
      query,
      body,
      config: o,
      loginAttempt: (user) => budgets.loginAttempt(c, user),
    });
    // A route that stores the nonce itself and did not (none should) still never takes it twice.
    await nonce?.store(db);
    if (result instanceof Raw) return c.body(result.body, 200, { 'Content-Type': result.contentType });
    if (result instanceof WithCookie) {
      if (result.cookie === null) deleteCookie(c, SESSION_COOKIE, { path: '/' });
      else
        setCookie(c, SESSION_COOKIE, result.cookie.value, {
          path: '/',
          httpOnly: true,
          sameSite: 'Strict',
          secure: result.cookie.secure,
          maxAge: result.cookie.maxAge,
        });
      return c.json(result.body ?? null, r.status ?? 200);
    }
    return c.json(result ?? null, r.status ?? 200);
  };
  for (const r of apiRoutes()) {
    app.on(
      r.method.toUpperCase(),
      r.path,
      async (c, next) => {
        routeOf.set(c.req.raw, r.path);
        authenticated.set(c, await budgets.counted(c, () => guard(db, budgets, r, c)));
        await next();
      },
      routeBodyLimit(r),
      (c) => budgets.counted(c, () => handle(r, c), r.checksCredentials === 'password'),
    );
  }
  // view.yaml and deviations.json need a token always (issue #21, item 8).
  serveRepositories(app, db, (c, aboutTheView) => (o.reposNeedToken === true || aboutTheView ? repositoryTokenValid(db, budgets, c) : Promise.resolve(true)));
  if (o.webRoot !== undefined) serveDashboard(app, o.webRoot);
  return app;
}
