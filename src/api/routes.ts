import { isIP } from 'node:net';
import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';
import { blockedAddress } from '../lib/address.js';
import { feedAllowForApi, type FeedAllow } from '../lib/feed-allow.js';
import { SEVERITIES, severityRank, type Severity } from '../core/advisory.js';
import { searchAdvisories, showAdvisory } from '../services/advisories.js';
import { auditLog } from '../services/audit.js';
import { addSource, listSources, redactLocation, removeSource, syncSources } from '../services/feeds.js';
import { addHost, listHosts, removeHost, scanHosts } from '../services/hosts.js';
import { applyPolicyText, decide, decisions, listPolicies, makePlan, planDiff, revoke } from '../services/policies.js';
import { fleetOverview } from '../services/overview.js';
import { hostDetail } from '../services/host-detail.js';
import { findFindings, findingsPageOf, renderReport } from '../services/report.js';
import { RISK_SORTS } from '../core/risk.js';
import { listRuns, setRunState, showRun, executeRun, type RunTransport } from '../services/runs.js';
import { runPolicyNow } from '../services/scheduler.js';
import type { Db } from '../services/store.js';
import { createToken, listTokens, revokeToken, type Role } from '../services/tokens.js';
import { csrfToken, login, logout, SESSION_HOURS } from '../services/sessions.js';
import { recordAudit } from '../services/audit.js';
import { listRepos, listSnapshots, syncRepo } from '../services/repos.js';
import { promoteView, viewEnvironments, viewVersions } from '../services/content-views.js';
import { imageBuilds, imageParity, imageSbom } from '../services/images.js';
import { acceptAgentReport, acceptTaskResult, agentScript, createEnrollmentToken, enrollAgent, installCommand, listAgents, nextTaskText, revokeAgent, type AgentRow } from '../services/agents.js';


/**
 * Every route of the HTTP API (issue #6) in one table: method, path, the least role that may
 * call it, the schemas of its query and body, and its handler, which goes through `services`.
 * The server, the OpenAPI document and the route-by-role test are all built from this table,
 * so a route cannot exist without a declared role.
 */
/** `agent`: a request signed by an enrolled agent (no bearer token). */
export type Access = Role | 'public' | 'agent';

export interface ApiConfig {
  knownHostsFile: string;
  /** The only directory hosts' SSH identity files may be in (sshKeyDir; `bulwark serve` always sets one). */
  sshKeyDir?: string | null;
  /** How patch runs reach hosts (SSH by default; tests give real dnf roots). */
  transport: (db: Db) => RunTransport;
  version: string;
  /** The key agents' signing keys derive from (agentServerKey). */
  agentServerKey: Buffer;
  /** Run leases' time to live (scale-out; default 15 s). */
  runLeaseMs?: number;
  /** The object store of repository snapshots (needed to sync repositories through the API). */
  objectsDir?: string;
}

/** Who calls: an API token, or a person's dashboard session. */
export interface Principal {
  kind: 'token' | 'session';
  /** The token id, or the user name. */
  id: string;
  name: string;
  role: Role;
  expiresAt: string | null;
}

export const SESSION_COOKIE = 'bulwark_session';

/** The largest request body an /api/ route takes unless it says otherwise. */
export const API_BODY_LIMIT = 2 * 1024 * 1024;
/** The largest body of an /agent/ route that says nothing else (the task list is asked for with an empty one). */
export const AGENT_BODY_LIMIT = 4 * 1024;
/**
 * An agent's inventory report: a package is one line of about 60 bytes (dpkg-query's or rpm's
 * format in bulwark-agent.sh; 111 at most on a Debian 12 host of 950 packages), so a host of
 * 5,000 packages sends about 0.3 MB; 8 MiB holds over 100,000.
 */
export const REPORT_BODY_LIMIT = 8 * 1024 * 1024;
/** A task's result: `exit=N` and the first MiB of its output (as bulwark-agent.sh sends and acceptTaskResult keeps). */
export const TASK_RESULT_BODY_LIMIT = 1024 * 1024 + 64 * 1024;

/** A JSON answer that also sets (or, with null, clears) the session cookie. */
export class WithCookie {
  constructor(
    readonly body: unknown,
    readonly cookie: { value: string; secure: boolean; maxAge: number } | null,
  ) {}
}

export interface Ctx<Q, B> {
  db: Db;
  principal: Principal | null;
  /** The session id, when the caller is a session. */
  sessionId: string | null;
  /** The request came over HTTPS (directly or through a trusted proxy). */
  secure: boolean;
  /** The signing agent, on `agent` routes. */
  agent: AgentRow | null;
  /** scheme://host[:port] the request came to (for install commands); null when its Host header is not a plain host name. */
  origin: string | null;
  /** Who the audit log names: `token:<id>:<name>`. */
  actor: string;
  params: Record<string, string>;
  query: Q;
  body: B;
  config: ApiConfig;
  /**
   * Starts a password login for `user` against the login budget (auth.rate-limited when spent);
   * `succeeded()` gives the attempt back, so only failed and unfinished ones count.
   */
  loginAttempt: (user: string) => { succeeded: () => void };
}

/** A handler's result: JSON, or a body of another type (reports). */
export type Result = unknown;
export class Raw {
  constructor(
    readonly body: string,
    readonly contentType: string,
  ) {}
}

export interface Route<Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  access: Access;
  summary: string;
  tag: string;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The body is YAML text, not JSON (policies). */
  textBody?: boolean;
  /**
   * A public route that checks a credential of its own: rate-limited like the rest (enrollment),
   * or, `password`, by the budget of password logins instead (per address and per user name,
   * counted when an attempt starts), which never holds back tokens.
   */
  checksCredentials?: true | 'password';
  /** The largest body taken, in bytes (default: API_BODY_LIMIT under /api/, else AGENT_BODY_LIMIT); larger is refused with 413 before it is read. */
  maxBody?: number;
  status?: 200 | 201 | 202;
  handle: (c: Ctx<Q, B>) => Promise<Result>;
}

// Each route is checked against Route on its own (its Q and B inferred from its schemas), then
// widened for the table.
const route = <Q = undefined, B = undefined>(r: Route<Q, B>): Route => r as unknown as Route;

const page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  sort: z
    .string()
    .regex(/^-?[A-Za-z]+$/)
    .optional(),
});
type Page = z.infer<typeof page>;

/** Sorts by one field (`-field`: descending; nulls last), then pages. */
function paginate<T extends object>(items: readonly T[], p: Page, sortable: readonly (keyof T & string)[]): { items: T[]; total: number; limit: number; offset: number } {
  let list = [...items];
  if (p.sort !== undefined) {
    const desc = p.sort.startsWith('-');
    const key = (desc ? p.sort.slice(1) : p.sort) as keyof T & string;
    if (!sortable.includes(key)) throw new BulwarkError('input.invalid', `sort: "${key}" is not one of ${sortable.join(', ')}`);
    list = list.sort((a, b) => {
      const x = a[key] as unknown;
      const y = b[key] as unknown;
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      // Severities sort by rank (critical above high), not by spelling.
      const r = key === 'severity' ? severityRank(x as Severity) - severityRank(y as Severity) : typeof x === 'number' && typeof y === 'number' ? x - y : typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y) : JSON.stringify(x).localeCompare(JSON.stringify(y));
      return desc ? -r : r;
    });
  }
  return { items: list.slice(p.offset, p.offset + p.limit), total: list.length, limit: p.limit, offset: p.offset };
}

const csv = (values: readonly string[]) =>
  z
    .string()
    .transform((s) => s.split(',').filter((x) => x !== ''))
    .pipe(z.array(z.enum(values as [string, ...string[]])));

const severity = z.enum(SEVERITIES as unknown as [Severity, ...Severity[]]);
const status = ['open', 'no-fix', 'fixed', 'accepted', 'withdrawn'] as const;
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
const isoTime = z.iso.datetime({ offset: true }).or(z.iso.date());

/**
 * A feed location added through the API: an https:// URL to a host that is not a loopback,
 * link-local or private address. Local files stay with the CLI (`bulwark feeds add`), run by
 * whoever owns them — through the API an admin token made the server read its own files (its
 * errors told which exist) or fetch from inside its network. A host in the operator's
 * BULWARK_FEED_ALLOW (a name, or an address in an allowed block) may be named as well when the
 * operator sets BULWARK_FEED_ALLOW_API=yes; the source is stored as added through the API, and
 * its downloads use the allow-list only under that same setting.
 */
export function apiFeedLocation(location: string, allow: FeedAllow = feedAllowForApi()): void {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    url = new URL('file:///');
  }
  if (url.protocol !== 'https:') throw new BulwarkError('input.invalid', `body.location: through the API a feed's location is an https:// URL; a local file is added with the CLI (bulwark feeds add ID --location FILE)`);
  // WHATWG URL has already written 2130706433, 0x7f.1 and the like as dotted quads.
  // A trailing dot names the same host (`localhost.` passed as a public name).
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
  const ip = isIP(host);
  // Every address that is not public (lib/address.ts): a location that names one literally is
  // the one a download lets through as the operator's choice, so only the CLI may name one.
  // A host the operator allows in BULWARK_FEED_ALLOW may be named here too: the download judges
  // every hop by that list again, at connect time, on the addresses it resolves to.
  if (allow.names(host)) return;
  if (host === 'localhost' || host.endsWith('.localhost') || (ip !== 0 && blockedAddress(host) !== null)) throw new BulwarkError('input.invalid', `body.location: ${url.hostname} is a loopback, link-local or private address; feeds on the server's own network are added with the CLI`);
}

/** A run number as written in a path: decimal digits within a safe integer (1e20 reached PostgreSQL's bigint as an out-of-range error, a 500). */
function runId(params: Record<string, string>): number {
  const n = /^[1-9][0-9]{0,15}$/.test(params['id'] ?? '') ? Number(params['id']) : NaN;
  if (!Number.isSafeInteger(n)) throw new BulwarkError('input.invalid', `"${params['id'] ?? ''}" is not a run number`);
  return n;
}

/** Lists leave out the YAML each row was made from (it is on the row's own route). */
function withoutSpec<T extends { spec: string }>(row: T): Omit<T, 'spec'> {
  const copy: Partial<T> = { ...row };
  delete copy.spec;
  return copy as Omit<T, 'spec'>;
}

async function needFound<T>(v: T | null | undefined, what: string): Promise<T> {
  if (v === null || v === undefined) throw new BulwarkError('storage.not-found', `no ${what}`);
  return Promise.resolve(v);
}

export const ROUTES: readonly Route[] = [
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
      return new WithCookie({ user: s.user, role: s.role, csrfToken: s.csrf, expiresAt: s.expiresAt }, { value: s.sessionId, secure, maxAge: SESSION_HOURS * 3600 });
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
      await logout(db, sessionId);
      await recordAudit(db, actor, 'session.end', actor);
      return new WithCookie({ loggedOut: true }, null);
    },
  }),

  // Hosts
  route({
    method: 'get',
    path: '/api/v1/hosts',
    access: 'viewer',
    tag: 'hosts',
    summary: 'Hosts, filtered by tag and release, sorted and paged',
    query: page.extend({ tag: z.string().optional(), release: z.string().optional() }),
    handle: async ({ db, query }) => {
      const hosts = (await listHosts(db)).filter((h) => (query.tag === undefined || h.tags.includes(query.tag)) && (query.release === undefined || h.release === query.release));
      return paginate(hosts, query, ['name', 'release', 'inventoryAt', 'createdAt']);
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/hosts',
    access: 'admin',
    tag: 'hosts',
    summary: 'Add (or update) a host reached over SSH',
    status: 201,
    body: z.strictObject({
      name,
      address: z.string().min(1).max(512),
      identityFile: z.string().startsWith('/').max(4096).optional(),
      sudo: z.boolean().optional(),
      tags: z.array(name).max(64).optional(),
      packageManager: z.enum(['dnf', 'tdnf', 'apt']).optional(),
    }),
    handle: async ({ db, body, actor, config }) => {
      const t = await addHost(db, body, undefined, { identityDir: config.sshKeyDir ?? null });
      await recordAudit(db, actor, 'host.add', t.name, { address: t.address, tags: t.tags });
      return t;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/hosts/:name',
    access: 'viewer',
    tag: 'hosts',
    summary: 'One host: its packages, open findings and history (findings closed, runs that touched it)',
    handle: ({ db, params }) => hostDetail(db, params['name'] ?? ''),
  }),
  route({
    method: 'delete',
    path: '/api/v1/hosts/:name',
    access: 'admin',
    tag: 'hosts',
    summary: 'Remove a host with its inventory and findings',
    handle: async ({ db, params, actor }) => {
      const n = params['name'] ?? '';
      if (!(await removeHost(db, n))) throw new BulwarkError('storage.not-found', `no host named "${n}"`);
      await recordAudit(db, actor, 'host.remove', n);
      return { removed: n };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/hosts/:name/scan',
    access: 'operator',
    tag: 'hosts',
    summary: 'Collect the host\'s inventory over SSH and match it now',
    handle: async ({ db, params, config }) => {
      await needFound((await listHosts(db)).find((h) => h.name === params['name']), `host named "${params['name'] ?? ''}"`);
      const [r] = await scanHosts(db, [params['name'] ?? ''], { knownHostsFile: config.knownHostsFile, acceptNewHostKey: false, concurrency: 1, identityDir: config.sshKeyDir ?? null });
      if (r === undefined || !r.ok) throw new BulwarkError('target.unreachable', r?.error ?? 'scan failed');
      return { host: r.host, counts: r.report?.counts, findings: r.report?.active.length };
    },
  }),

  route({
    method: 'get',
    path: '/api/v1/overview',
    access: 'viewer',
    tag: 'findings',
    summary: 'The fleet at a glance: hosts by release and support state, open exposure by severity and release, open findings per day',
    query: z.object({ days: z.coerce.number().int().min(1).max(365).default(30) }),
    handle: ({ db, query }) => fleetOverview(db, { days: query.days }),
  }),

  // Findings and reports
  route({
    method: 'get',
    path: '/api/v1/findings',
    access: 'viewer',
    tag: 'findings',
    summary: 'Findings (default: open and no-fix), filtered, sorted and paged; each with its risk (score and reason from severity, CVSS, EPSS and KEV); sort=risk|epss|kev orders by it',
    query: page.extend({
      host: z.string().optional(),
      severity: severity.optional(),
      cve: z.string().optional(),
      status: csv(status).optional(),
      kev: z.enum(['true', 'false']).optional(),
      epssAbove: z.coerce.number().min(0).max(1).optional(),
    }),
    // Paged by the database: a fleet of 10,000 hosts has hundreds of thousands of findings.
    handle: ({ db, query }) => findingsPageOf(db, { hosts: query.host === undefined ? undefined : [query.host], minSeverity: query.severity, cve: query.cve, status: query.status as (typeof status)[number][] | undefined, kev: query.kev === 'true', epssAbove: query.epssAbove }, query),
  }),
  route({
    method: 'get',
    path: '/api/v1/reports/findings',
    access: 'viewer',
    tag: 'findings',
    summary: 'A findings report as JSON, CSV, CycloneDX VEX or HTML',
    query: z.object({
      format: z.enum(['json', 'csv', 'cyclonedx-vex', 'html']).default('json'),
      host: z.string().optional(),
      severity: severity.optional(),
      status: csv(status).optional(),
      sort: z.enum(RISK_SORTS).default('severity'),
      kev: z.enum(['true', 'false']).optional(),
      epssAbove: z.coerce.number().min(0).max(1).optional(),
    }),
    handle: async ({ db, query }) => {
      const rows = await findFindings(db, { hosts: query.host === undefined ? undefined : [query.host], minSeverity: query.severity, status: query.status as (typeof status)[number][] | undefined, sort: query.sort, kev: query.kev === 'true', epssAbove: query.epssAbove });
      const type = { json: 'application/json', csv: 'text/csv; charset=utf-8', 'cyclonedx-vex': 'application/vnd.cyclonedx+json', html: 'text/html; charset=utf-8' }[query.format];
      return new Raw(await renderReport(db, rows, query.format), type);
    },
  }),

  // Advisories and feeds
  route({
    method: 'get',
    path: '/api/v1/advisories',
    access: 'viewer',
    tag: 'advisories',
    summary: 'Search advisories by CVE, package, release or source',
    query: z.object({ cve: z.string().optional(), package: z.string().optional(), release: z.string().optional(), source: z.string().optional(), withdrawn: z.enum(['true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    handle: async ({ db, query }) => ({ items: await searchAdvisories(db, { ...query, withdrawn: query.withdrawn === 'true' }) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/advisories/:source/:id',
    access: 'viewer',
    tag: 'advisories',
    summary: 'One advisory with its change history',
    handle: async ({ db, params }) => needFound(await showAdvisory(db, params['source'] ?? '', params['id'] ?? ''), `advisory ${params['id'] ?? ''} in ${params['source'] ?? ''}`),
  }),
  route({
    method: 'get',
    path: '/api/v1/feeds',
    access: 'viewer',
    tag: 'feeds',
    summary: 'Feed sources (the catalog and your own) with their last sync and freshness (newest date inside, last attempt and its error, stale or not by the source\'s threshold)',
    // Viewers see where feeds come from, never the access keys a URL may carry.
    // FeedLocation serialises redacted, wherever it is in the answer (state.location, summaries).
    handle: async ({ db }) => ({ items: await listSources(db) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/feeds',
    access: 'admin',
    tag: 'feeds',
    summary: 'Add a feed source, or point a catalog source elsewhere',
    status: 201,
    body: z.strictObject({ id: name, location: z.string().min(1).max(4096), format: z.string().optional(), release: z.string().optional(), description: z.string().max(1024).optional(), staleAfterDays: z.number().int().min(1).max(3650).optional() }),
    handle: async ({ db, body, actor }) => {
      apiFeedLocation(body.location);
      const s = await addSource(db, { ...body, via: 'api' });
      await recordAudit(db, actor, 'feed.add', body.id, { location: redactLocation(body.location), format: body.format });
      return s;
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/feeds/:id',
    access: 'admin',
    tag: 'feeds',
    summary: 'Remove a feed source of your own (its advisories stay until re-synced away)',
    handle: async ({ db, params, actor }) => {
      // An unknown id (or a catalog source not overridden) changes nothing: 404, nothing audited.
      if (!(await removeSource(db, params['id'] ?? ''))) throw new BulwarkError('storage.not-found', `no feed source "${params['id'] ?? ''}" of your own`);
      await recordAudit(db, actor, 'feed.remove', params['id'] ?? '');
      return { removed: params['id'] };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/feeds/:id/sync',
    access: 'operator',
    tag: 'feeds',
    summary: 'Sync one feed source now',
    body: z.strictObject({ force: z.boolean().optional(), allowWithdraw: z.boolean().optional() }).optional(),
    handle: async ({ db, params, body, actor }) => {
      const [r] = await syncSources(db, [params['id'] ?? ''], { force: body?.force === true, allowWithdraw: body?.allowWithdraw === true, actor });
      return r;
    },
  }),

  // Policies, plans, decisions
  route({
    method: 'get',
    path: '/api/v1/policies',
    access: 'viewer',
    tag: 'policies',
    summary: 'Policies, each at its latest version',
    handle: async ({ db }) => ({ items: await listPolicies(db) }),
  }),
  route({
    method: 'put',
    path: '/api/v1/policies/:name',
    access: 'admin',
    tag: 'policies',
    summary: 'Apply a policy (the YAML file as the body); a new version when it changed',
    textBody: true,
    handle: async ({ db, params, body, actor }) => {
      const r = await applyPolicyText(db, String(body), 'request body', undefined, params['name'] ?? '');
      if (r.created) await recordAudit(db, actor, 'policy.apply', r.name, { version: r.version });
      return r;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/policies/:name/plan',
    access: 'viewer',
    tag: 'policies',
    summary: 'The plan the policy makes now (or at a given time)',
    query: z.object({ at: isoTime.optional() }),
    handle: async ({ db, params, query }) => (await makePlan(db, params['name'] ?? '', query.at === undefined ? {} : { at: new Date(query.at) })).plan,
  }),
  route({
    method: 'get',
    path: '/api/v1/policies/:name/plan-diff',
    access: 'viewer',
    tag: 'policies',
    summary: 'What changed in the plan since the last stored one',
    handle: async ({ db, params }) => planDiff(db, params['name'] ?? ''),
  }),
  route({
    method: 'get',
    path: '/api/v1/decisions',
    access: 'viewer',
    tag: 'policies',
    summary: 'Approvals and holds in force (history: all of them)',
    query: z.object({ policy: z.string().optional(), history: z.enum(['true', 'false']).optional() }),
    handle: async ({ db, query }) => ({ items: await decisions(db, { ...(query.policy !== undefined ? { policy: query.policy } : {}), history: query.history === 'true' }) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/decisions',
    access: 'operator',
    tag: 'policies',
    summary: 'Approve an advisory under a policy, or hold it (with a reason and an expiry)',
    status: 201,
    body: z.strictObject({ policy: name, advisory: z.string().min(1).max(128), kind: z.enum(['approve', 'hold']), reason: z.string().min(1).max(1024), until: isoTime.optional() }),
    handle: async ({ db, body, actor }) => {
      const until = body.until ?? (body.kind === 'hold' ? new Date(Date.now() + 30 * 86_400_000).toISOString() : null);
      const pk = await decide(db, { policy: body.policy, advisoryId: body.advisory, kind: body.kind, reason: body.reason, until: until !== null && until.length === 10 ? `${until}T23:59:59.000Z` : until, actor });
      return { decision: pk };
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/decisions',
    access: 'operator',
    tag: 'policies',
    summary: 'Lift a hold or withdraw an approval',
    query: z.object({ policy: name, advisory: z.string().min(1), kind: z.enum(['approve', 'hold']) }),
    handle: async ({ db, query, actor }) => ({ revoked: await revoke(db, { policy: query.policy, advisoryId: query.advisory, kind: query.kind, actor }) }),
  }),

  // Runs
  route({
    method: 'get',
    path: '/api/v1/runs',
    access: 'viewer',
    tag: 'runs',
    summary: 'Patch runs, newest first',
    query: z.object({ policy: z.string().optional(), status: z.enum(['running', 'waiting', 'paused', 'cancelled', 'halted', 'done']).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100), offset: z.coerce.number().int().min(0).default(0) }),
    handle: async ({ db, query }) => ({ items: await listRuns(db, query) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/runs',
    access: 'operator',
    tag: 'runs',
    summary: 'Plan a policy now and start a run of its approved entries (it goes on in the background)',
    status: 202,
    body: z.strictObject({ policy: name }),
    handle: async ({ db, body, actor, config }) => {
      const r = await runPolicyNow(db, body.policy, config.transport(db), { actor, detach: true, ...(config.runLeaseMs !== undefined ? { runLeaseTtlMs: config.runLeaseMs } : {}) });
      return { run: r.run, hosts: r.hosts };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/runs/:id',
    access: 'viewer',
    tag: 'runs',
    summary: 'A run with every step: state, tries, exit code, output',
    handle: async ({ db, params }) => {
      const { run, steps } = await showRun(db, runId(params));
      return { run, steps, failedHosts: [...new Set(steps.filter((s) => s.state === 'failed').map((s) => s.targetName))] };
    },
  }),
  ...(['pause', 'resume', 'cancel'] as const).map((action) =>
    route({
      method: 'post',
      path: `/api/v1/runs/:id/${action}`,
      access: 'operator',
      tag: 'runs',
      summary: `${action[0]?.toUpperCase() ?? ''}${action.slice(1)} a run`,
      handle: async ({ db, params, actor, config }) => {
        const pk = runId(params);
        const r = await setRunState(db, pk, action);
        await recordAudit(db, actor, `run.${action}`, String(pk));
        if (action === 'resume') executeRun(db, pk, config.transport(db), undefined, config.runLeaseMs === undefined ? {} : { lease: { ttlMs: config.runLeaseMs } }).catch(() => undefined);
        return r;
      },
    }),
  ),

  // The agent
  route({
    method: 'get',
    path: '/agent/v1/bulwark-agent.sh',
    access: 'public',
    tag: 'agents',
    summary: 'The agent script (POSIX sh; needs curl and the host\'s rpm or dpkg-query)',
    handle: () => Promise.resolve(new Raw(agentScript(), 'text/x-shellscript; charset=utf-8')),
  }),
  route({
    method: 'post',
    path: '/agent/v1/enroll',
    access: 'public',
    tag: 'agents',
    summary: 'Enroll a host with a one-time enrollment token (body: token=… and hostname=… lines); answers agent=… and key=…',
    checksCredentials: true,
    textBody: true,
    maxBody: AGENT_BODY_LIMIT,
    handle: async ({ db, body, config }) => {
      const f = Object.fromEntries(String(body).split('\n').flatMap((l) => (/^[a-z]+=/.test(l) ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]] : [])));
      const r = await enrollAgent(db, config.agentServerKey, { token: f['token'] ?? '', hostname: f['hostname'] ?? '' });
      return new Raw(`agent=${r.agentId}\nkey=${r.key}\nhost=${r.target}\n`, 'text/plain; charset=utf-8');
    },
  }),
  route({
    method: 'post',
    path: '/agent/v1/report',
    access: 'agent',
    tag: 'agents',
    summary: 'An agent reports its host\'s inventory (signed); the host is matched at once',
    textBody: true,
    maxBody: REPORT_BODY_LIMIT,
    handle: async ({ db, agent, body }) => new Raw(await acceptAgentReport(db, agent as AgentRow, String(body)), 'text/plain; charset=utf-8'),
  }),
  route({
    method: 'get',
    path: '/agent/v1/tasks',
    access: 'agent',
    tag: 'agents',
    summary: 'An agent asks for its next task (signed)',
    textBody: true,
    handle: async ({ db, agent }) => new Raw(await nextTaskText(db, agent as AgentRow), 'text/plain; charset=utf-8'),
  }),
  route({
    method: 'post',
    path: '/agent/v1/tasks/:id/result',
    access: 'agent',
    tag: 'agents',
    summary: 'An agent reports a task\'s exit code and output (signed)',
    textBody: true,
    maxBody: TASK_RESULT_BODY_LIMIT,
    handle: async ({ db, agent, params, body }) => {
      await acceptTaskResult(db, agent as AgentRow, runId(params), String(body));
      return new Raw('ok\n', 'text/plain; charset=utf-8');
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/agents/enrollment-tokens',
    access: 'admin',
    tag: 'agents',
    summary: 'A one-time enrollment token, with the command that installs and enrolls the agent on a host',
    status: 201,
    body: z.strictObject({ tags: z.array(name).max(64).default([]), expiresInHours: z.number().min(1).max(720).default(24) }).default({ tags: [], expiresInHours: 24 }),
    handle: async ({ db, body, actor, origin }) => {
      // Checked before a token is made: the command runs as root on the host.
      if (origin === null) throw new BulwarkError('input.invalid', 'the request\'s Host header is not a host name and port; call the server by its name, or set BULWARK_PUBLIC_URL');
      const t = await createEnrollmentToken(db, { ...body, actor });
      return { ...t, install: installCommand(origin, t.token) };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/agents',
    access: 'viewer',
    tag: 'agents',
    summary: 'Enrolled agents with their hosts and when they last reported',
    handle: async ({ db }) => ({ items: await listAgents(db) }),
  }),
  route({
    method: 'delete',
    path: '/api/v1/agents/:id',
    access: 'admin',
    tag: 'agents',
    summary: 'Revoke an agent: its requests are refused from now on',
    handle: async ({ db, params, actor }) => {
      await revokeAgent(db, params['id'] ?? '', actor);
      return { revoked: params['id'] };
    },
  }),

  // Supply chain: repositories, content views, images. Publishing a view and building an image
  // read files named in their YAML (our own rpms, package lists) on the server, so they stay
  // CLI commands run by whoever owns those files; the API reads, syncs and promotes.
  route({
    method: 'get',
    path: '/api/v1/repos',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Upstream repositories, each with its latest snapshot',
    handle: async ({ db }) => {
      const snaps = await listSnapshots(db);
      return { items: (await listRepos(db)).map((r) => ({ ...r, latest: snaps.find((s) => s.repoId === r.id) ?? null })) };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/repos/:id/snapshots',
    access: 'viewer',
    tag: 'supply chain',
    summary: "A repository's snapshots, newest first",
    handle: async ({ db, params }) => {
      const id = params['id'] ?? '';
      await needFound((await listRepos(db)).find((r) => r.id === id), `repository ${id}`);
      return { items: await listSnapshots(db, id) };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/repos/:id/sync',
    access: 'operator',
    tag: 'supply chain',
    summary: 'Take a snapshot of a repository now (refused when its metadata does not verify)',
    handle: async ({ db, params, config, actor }) => {
      const id = params['id'] ?? '';
      await needFound((await listRepos(db)).find((r) => r.id === id), `repository ${id}`);
      if (config.objectsDir === undefined) throw new BulwarkError('config.invalid', 'this server has no object store configured');
      const r = await syncRepo(db, id, { objectsDir: config.objectsDir });
      await recordAudit(db, actor, 'repo.sync', id, { snapshot: r.snapshot });
      return r;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/views',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Content view versions (newest first) and the version each environment serves',
    handle: async ({ db }) => ({ items: (await viewVersions(db)).map((v) => ({ ...withoutSpec(v), deviations: v.deviations.length })), environments: await viewEnvironments(db) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/views/:view/versions/:version',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'One published version: its YAML and its deviation report',
    handle: async ({ db, params }) => {
      const v = (await viewVersions(db, params['view'])).find((x) => String(x.version) === params['version']);
      return needFound(v, `version ${params['version'] ?? ''} of content view ${params['view'] ?? ''}`);
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/views/:view/promote',
    access: 'admin',
    tag: 'supply chain',
    summary: 'Point an environment at a version (default: the latest): what its hosts install changes',
    body: z.strictObject({ environment: z.string().min(1).max(32), version: z.number().int().positive().optional(), force: z.boolean().default(false) }),
    handle: async ({ db, params, body, actor }) => {
      const view = params['view'] ?? '';
      if ((await viewVersions(db, view)).length === 0) throw new BulwarkError('storage.not-found', `no content view ${view}`);
      return promoteView(db, { view, environment: body.environment, ...(body.version !== undefined ? { version: body.version } : {}), actor, force: body.force });
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/images',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Image builds, newest first per image',
    handle: async ({ db }) => ({ items: (await imageBuilds(db)).map(withoutSpec) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/images/:image/builds/:build/sbom',
    access: 'viewer',
    tag: 'supply chain',
    summary: "A build's SBOM: CycloneDX 1.6 (default) or SPDX 2.3 JSON",
    query: z.object({ format: z.enum(['cyclonedx', 'spdx']).default('cyclonedx') }),
    handle: async ({ db, params, query }) => {
      const image = params['image'] ?? '';
      const build = Number(params['build']);
      const b = (await imageBuilds(db, image)).find((x) => x.build === build);
      await needFound(b, `build ${params['build'] ?? ''} of image ${image}`);
      return new Raw(await imageSbom(db, image, build, query.format), query.format === 'spdx' ? 'application/spdx+json' : 'application/vnd.cyclonedx+json; version=1.6');
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/images/:image/parity',
    access: 'viewer',
    tag: 'supply chain',
    summary: 'Package differences between a build (default: the latest), hosts and other images',
    query: z.object({ build: z.coerce.number().int().positive().optional(), hosts: z.string().optional(), tag: z.string().optional(), with: z.string().optional() }),
    handle: async ({ db, params, query }) => {
      const image = params['image'] ?? '';
      if ((await imageBuilds(db, image)).length === 0) throw new BulwarkError('storage.not-found', `no image ${image}`);
      const list = (s: string | undefined): string[] => (s ?? '').split(',').filter((x) => x !== '');
      return imageParity(db, { image, build: query.build, hosts: list(query.hosts), tag: query.tag, others: list(query.with) });
    },
  }),

  // Audit and tokens
  route({
    method: 'get',
    path: '/api/v1/audit',
    access: 'operator',
    tag: 'audit',
    summary: 'The append-only audit log, newest first',
    query: z.object({ subject: z.string().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    handle: async ({ db, query }) => ({ items: await auditLog(db, query) }),
  }),
  route({
    method: 'get',
    path: '/api/v1/tokens',
    access: 'admin',
    tag: 'tokens',
    summary: 'API tokens (never their secrets)',
    handle: async ({ db }) => ({ items: await listTokens(db) }),
  }),
  route({
    method: 'post',
    path: '/api/v1/tokens',
    access: 'admin',
    tag: 'tokens',
    summary: 'Create a token; its secret is in this response only',
    status: 201,
    body: z.strictObject({ name: z.string().min(1).max(64), role: z.enum(['viewer', 'operator', 'admin']), expiresInDays: z.number().int().min(1).max(3650).nullable().default(90) }),
    handle: async ({ db, body, actor }) => createToken(db, { ...body, actor }),
  }),
  route({
    method: 'delete',
    path: '/api/v1/tokens/:id',
    access: 'admin',
    tag: 'tokens',
    summary: 'Revoke a token',
    handle: async ({ db, params, actor }) => {
      await revokeToken(db, params['id'] ?? '', actor);
      return { revoked: params['id'] };
    },
  }),
];
