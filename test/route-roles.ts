/**
 * What each role may do through the HTTP API, WRITTEN BY HAND from the README's promise ("viewer
 * reads, operator scans, syncs, decides and runs, admin changes hosts, feeds, policies and
 * tokens") — never derived from the route table (src/api/routes.ts), so that a route given the
 * wrong role there is caught: the table and the server are checked against this list, not
 * against themselves. A new route fails those tests until it is written here too, by a person
 * deciding who may call it.
 *
 * Each route is listed under the least role that may call it; a higher role may call it too
 * (viewer < operator < admin). `public` needs no credential; `agent` takes an enrolled agent's
 * signature and never a token, whatever its role.
 */
export const MAY = {
  public: [
    'GET /api/v1/health', // a load balancer's liveness probe
    'POST /api/v1/session', // logging in: the password is the credential
    'GET /api/v1/openapi.json', // the API's description, no data
    'GET /agent/v1/bulwark-agent.sh', // the agent script a host downloads before it has any key
    'POST /agent/v1/enroll', // its credential is the one-time enrollment token in the body
  ],
  viewer: [
    // Who am I, and my own session.
    'GET /api/v1/me',
    'GET /metrics', // Prometheus scrapes with a token of any role
    'GET /api/v1/session',
    'DELETE /api/v1/session', // logging out ends only the caller's own session
    // Reads.
    'GET /api/v1/hosts',
    'GET /api/v1/hosts/:name',
    'GET /api/v1/overview',
    'GET /api/v1/findings',
    'GET /api/v1/findings/groups', // the same findings, folded by advisory or source package
    'GET /api/v1/reports/findings',
    'GET /api/v1/advisories',
    'GET /api/v1/advisories/:source/:id',
    'GET /api/v1/signals/:cve',
    'GET /api/v1/feeds', // access keys in feed locations are shown as ***
    'GET /api/v1/policies',
    'GET /api/v1/policies/:name/plan',
    'GET /api/v1/policies/:name/plan-diff',
    'GET /api/v1/policies/:name/timeline',
    'GET /api/v1/policies/:name/run-preview', // a read: what a run would do (starting it is an operator's)
    'GET /api/v1/decisions',
    'GET /api/v1/runs',
    'GET /api/v1/runs/:id',
    'GET /api/v1/agents',
    'GET /api/v1/repos',
    'GET /api/v1/repos/:id/snapshots',
    'GET /api/v1/views',
    'GET /api/v1/views/:view/versions/:version',
    'GET /api/v1/views/:view/diff',
    'GET /api/v1/images',
    'GET /api/v1/images/:image/builds/:build/sbom',
    'GET /api/v1/images/:image/parity',
    // Compliance reports name who decided holds, as GET /api/v1/decisions does.
    'GET /api/v1/compliance/report',
    'GET /api/v1/compliance/evidence',
    'GET /api/v1/compliance/profiles',
  ],
  operator: [
    // Scans and syncs: they change what is known, not what is configured.
    'POST /api/v1/hosts/:name/scan',
    'POST /api/v1/feeds/:id/sync',
    'POST /api/v1/repos/:id/sync',
    // Decides: approvals and holds, and accepted risks.
    'POST /api/v1/decisions',
    'DELETE /api/v1/decisions',
    'POST /api/v1/findings/accept',
    'POST /api/v1/findings/unaccept',
    // Runs.
    'POST /api/v1/runs',
    'POST /api/v1/runs/:id/pause',
    'POST /api/v1/runs/:id/resume',
    'POST /api/v1/runs/:id/cancel',
    // The audit log names people and what they did: not for every reader.
    'GET /api/v1/audit',
  ],
  admin: [
    // Changes hosts.
    'POST /api/v1/hosts',
    'DELETE /api/v1/hosts/:name',
    'POST /api/v1/hosts/:name/tags', // tags choose which policy patches a host
    'POST /api/v1/agents/enrollment-tokens', // lets a new host in
    'DELETE /api/v1/agents/:id',
    // Changes feeds.
    'POST /api/v1/feeds',
    'DELETE /api/v1/feeds/:id',
    // Changes policies, and what hosts install.
    'PUT /api/v1/policies/:name',
    'POST /api/v1/views/:view/promote',
    // Tokens.
    'GET /api/v1/tokens',
    'POST /api/v1/tokens',
    'DELETE /api/v1/tokens/:id',
    // Users of the console (as `bulwark users`).
    'GET /api/v1/users',
    'PUT /api/v1/users/:name',
    'DELETE /api/v1/users/:name',
  ],
  agent: ['POST /agent/v1/report', 'GET /agent/v1/tasks', 'POST /agent/v1/tasks/:id/result'],
} as const;

/**
 * Query parameters of a route a lesser role may call that only an admin may give (`=true`),
 * written by hand like MAY: taking older repository metadata than the last snapshot (a rollback
 * of the fixes it published) is a decision an admin takes, not a sync an operator runs.
 */
export const ADMIN_QUERY = ['POST /api/v1/repos/:id/sync?allowRollback'] as const;

export type Access = keyof typeof MAY;

/** The least role (or public, agent) that may call `METHOD /path` (the path as routed, `:param`), per the list above. */
export function mayCall(route: string): Access | undefined {
  for (const [access, routes] of Object.entries(MAY) as [Access, readonly string[]][]) if (routes.includes(route)) return access;
  return undefined;
}
