import { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import { SEVERITIES, severityRank, type Severity } from '../../core/advisory.js';
import type { Actor } from '../../services/audit.js';
import type { AgentRow } from '../../services/agents.js';
import type { NonceClaim } from '../../services/agent-nonce.js';
import type { RunTransport } from '../../services/runs.js';
import type { HttpMetrics } from '../../services/metrics.js';
import type { Db } from '../../services/store.js';
import type { Role } from '../../services/tokens.js';

/**
 * What a route of the HTTP API (issue #6) is: method, path, the least role that may call it, the
 * schemas of its query and body, and its handler, which goes through `services`. The server, the
 * OpenAPI document and the route-by-role test are all built from the table of these
 * (routes/index.ts), so a route cannot exist without a declared role.
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
  /** This process's HTTP latencies, for GET /metrics (createApp makes one when not given). */
  httpMetrics?: HttpMetrics;
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

/**
 * The names of a path's parameters: `ParamNames<'/runs/:id/steps/:step'>` is `'id' | 'step'`.
 * Handlers get `params` typed by their own path, so `params.nmae` does not compile.
 */
export type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;
export type Params<P extends string> = { readonly [K in ParamNames<P>]: string };

export interface Ctx<Q, B, P extends string = string> {
  db: Db;
  principal: Principal | null;
  /** The session id, when the caller is a session. */
  sessionId: string | null;
  /** The request came over HTTPS (directly or through a trusted proxy). */
  secure: boolean;
  /** The signing agent, on `agent` routes. */
  agent: AgentRow | null;
  /** Its request's nonce, on `agent` routes: already stored, unless the route has `nonceInTransaction`. */
  nonce: NonceClaim | null;
  /** The SHA-256 (hex) of the body's text, on agent routes whose body is valid UTF-8 (the bytes signed are then its bytes); else null. */
  bodySha256: string | null;
  /** scheme://host[:port] the request came to (for install commands); null when its Host header is not a plain host name. */
  origin: string | null;
  /** Who the audit log names (the services record it): a token, a session's user, an agent. */
  actor: Actor;
  params: Params<P>;
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
    /** Text, or a stream of it (a report of the whole fleet, issue #14). */
    readonly body: string | ReadableStream<Uint8Array>,
    readonly contentType: string,
  ) {}
}

export interface Route<Q = unknown, B = unknown, P extends string = string> {
  method: 'get' | 'post' | 'put' | 'delete';
  path: P;
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
  /** An agent route that stores its request's nonce in its own transaction (one commit a request, not two; agent-nonce.ts). */
  nonceInTransaction?: true;
  /**
   * Query parameters only an admin may give (`true`) on a route a lesser role may call: the
   * handler checks it with needAdmin; listed by hand in test/route-roles.ts (ADMIN_QUERY), and
   * marked `x-bulwark-role: admin` in the OpenAPI document.
   */
  adminQuery?: readonly string[];
  /** The largest body taken, in bytes (default: API_BODY_LIMIT under /api/, else AGENT_BODY_LIMIT); larger is refused with 413 before it is read. */
  maxBody?: number;
  status?: 200 | 201 | 202;
  handle: (c: Ctx<Q, B, P>) => Promise<Result>;
}

/** Each route is checked against Route on its own (its Q, B and path parameters inferred), then widened for the table. */
export const route = <Q = undefined, B = undefined, P extends string = string>(r: Route<Q, B, P>): Route => r as unknown as Route;

export const page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  sort: z
    .string()
    .regex(/^-?[A-Za-z]+$/)
    .optional(),
});
type Page = z.infer<typeof page>;

/** Sorts by one field (`-field`: descending; nulls last), then pages. */
export function paginate<T extends object>(
  items: readonly T[],
  p: Page,
  sortable: readonly (keyof T & string)[],
): { items: T[]; total: number; limit: number; offset: number } {
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
      const r =
        key === 'severity'
          ? severityRank(x as Severity) - severityRank(y as Severity)
          : typeof x === 'number' && typeof y === 'number'
            ? x - y
            : typeof x === 'string' && typeof y === 'string'
              ? x.localeCompare(y)
              : JSON.stringify(x).localeCompare(JSON.stringify(y));
      return desc ? -r : r;
    });
  }
  return { items: list.slice(p.offset, p.offset + p.limit), total: list.length, limit: p.limit, offset: p.offset };
}

export const csv = (values: readonly string[]) =>
  z
    .string()
    .transform((s) => s.split(',').filter((x) => x !== ''))
    .pipe(z.array(z.enum(values as [string, ...string[]])));

export const severity = z.enum(SEVERITIES as unknown as [Severity, ...Severity[]]);
export const findingStatus = ['open', 'no-fix', 'mitigated', 'fixed', 'accepted', 'withdrawn'] as const;
export const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
export const isoTime = z.iso.datetime({ offset: true }).or(z.iso.date());

/** A number as written in a path (a run, a task, a build): decimal digits within a safe integer (1e20 reached PostgreSQL's bigint as an out-of-range error, a 500). */
export function pathNumber(value: string, what = 'run number'): number {
  const n = /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new BulwarkError('input.invalid', `"${value}" is not a ${what}`);
  return n;
}

/** Lists leave out the YAML each row was made from (it is on the row's own route). */
export function withoutSpec<T extends { spec: string }>(row: T): Omit<T, 'spec'> {
  const copy: Partial<T> = { ...row };
  delete copy.spec;
  return copy as Omit<T, 'spec'>;
}

/** A query parameter given (`true`) that needs the admin role: auth.forbidden (403) for anyone else. */
export function needAdmin(principal: Principal | null, given: boolean, what: string): void {
  if (given && principal?.role !== 'admin') throw new BulwarkError('auth.forbidden', `${what} needs the admin role`);
}

export function needFound<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new BulwarkError('storage.not-found', `no ${what}`);
  return v;
}
