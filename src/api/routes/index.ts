import { ADVISORY_ROUTES } from './advisories.js';
import { AGENT_ROUTES } from './agents.js';
import { AUDIT_ROUTES } from './audit.js';
import { COMPLIANCE_ROUTES } from './compliance.js';
import { FEED_ROUTES } from './feeds.js';
import { FINDING_GROUP_ROUTES } from './finding-groups.js';
import { FINDING_ROUTES } from './findings.js';
import { HOST_ROUTES } from './hosts.js';
import { POLICY_ROUTES } from './policies.js';
import type { Route } from './route.js';
import { RUN_ROUTES } from './runs.js';
import { SERVICE_ROUTES } from './service.js';
import { SUPPLY_CHAIN_ROUTES } from './supply-chain.js';
import { TOKEN_ROUTES } from './tokens.js';
import { USER_ROUTES } from './users.js';

export * from './route.js';
export { apiFeedLocation } from './feeds.js';

/**
 * Every route of the HTTP API (issue #6), one file per OpenAPI tag. The server, the OpenAPI
 * document and the route-by-role test (test/route-roles.ts) are all built from this table.
 */
export const ROUTES: readonly Route[] = [
  ...SERVICE_ROUTES,
  ...HOST_ROUTES,
  ...FINDING_GROUP_ROUTES,
  ...FINDING_ROUTES,
  ...ADVISORY_ROUTES,
  ...FEED_ROUTES,
  ...POLICY_ROUTES,
  ...RUN_ROUTES,
  ...AGENT_ROUTES,
  ...SUPPLY_CHAIN_ROUTES,
  ...AUDIT_ROUTES,
  ...COMPLIANCE_ROUTES,
  ...TOKEN_ROUTES,
  ...USER_ROUTES,
];
