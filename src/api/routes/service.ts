import { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { metricsText } from '../../services/metrics.js';
import { listPolicies } from '../../services/policies.js';
import { csrfToken, login, logout, SESSION_HOURS } from '../../services/sessions.js';
import { Raw, route, WithCookie, type Route } from './route.js';

/** The service itself: liveness, who is calling, dashboard sessions. */
export const SERVICE_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/health',
    access: 'public',
    tag: 'service',
    summary: 'Liveness: the server answers and its database is reachable',
    handle: async ({ db, config }) => {
      await listPolicies(db);
      return { status: 'ok', version: config.version };
    },
  }),
  route({
    method: 'get',
    path: '/metrics',
    access: 'viewer',
    tag: 'service',
    summary: 'Prometheus metrics (text format 0.0.4): hosts, findings, SLA breaches, feeds, runs, agents, HTTP latency; every series bulwark_…',
    handle: async ({ db, config }) => new Raw(await metricsText(db, config.httpMetrics), 'text/plain; version=0.0.4; charset=utf-8'),
  }),
  route({
    method: 'get',
    path: '/api/v1/me',
    access: 'viewer',
    tag: 'service',
    summary: 'The calling credential: its name, role and expiry',
    handle: ({ principal }) => Promise.resolve(principal),
  }),
  route({
    method: 'post',
    path: '/api/v1/session',
    access: 'public',
    tag: 'service',
    summary: 'Log in to the dashboard: sets an HttpOnly, SameSite=Strict session cookie and answers its CSRF token',
    checksCredentials: 'password',
    body: z.strictObject({ user: z.string().min(1).max(64), password: z.string().min(1).max(1024) }),
    handle: async ({ db, body, secure, loginAttempt }) => {
      const attempt = loginAttempt(body.user);
      const s = await login(db, body.user, body.password);
      attempt.succeeded();
      return new WithCookie(
        { user: s.user, role: s.role, csrfToken: s.csrf, expiresAt: s.expiresAt },
        { value: s.sessionId, secure, maxAge: SESSION_HOURS * 3600 },
      );
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/session',
    access: 'viewer',
    tag: 'service',
    summary: 'The current session: user, role, expiry and its CSRF token (for a reloaded dashboard)',
    handle: ({ principal, sessionId }) => {
      if (principal?.kind !== 'session' || sessionId === null) throw new BulwarkError('input.invalid', 'this is not a session (a token was given)');
      return Promise.resolve({ user: principal.name, role: principal.role, expiresAt: principal.expiresAt, csrfToken: csrfToken(sessionId) });
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/session',
    access: 'viewer',
    tag: 'service',
    summary: 'Log out: the session ends and its cookie is cleared',
    handle: async ({ db, sessionId, actor }) => {
      if (sessionId === null) throw new BulwarkError('input.invalid', 'this is not a session (a token was given)');
      await logout(db, sessionId, actor);
      return new WithCookie({ loggedOut: true }, null);
    },
  }),
];
