import { z } from 'zod';
import { applyPolicyText, decide, decisions, listPolicies, makePlan, planDiff, revoke } from '../../services/policies.js';
import { planTimeline, timelineOf } from '../../services/plan-timeline.js';
import { previewRun } from '../../services/run-preview.js';
import { isoTime, name, route, type Route } from './route.js';

/** Policies, the plans they make, and operators' decisions (approvals, holds). */
export const POLICY_ROUTES: readonly Route[] = [
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
    handle: ({ db, params, body, actor }) => applyPolicyText(db, String(body), 'request body', actor, { expectName: params.name }),
  }),
  route({
    method: 'get',
    path: '/api/v1/policies/:name/plan',
    access: 'viewer',
    tag: 'policies',
    summary:
      "The plan the policy makes now (or at a given time); targets no run can reach are left out of its rings (named in a warning, their overdue findings marked unreachable), with the policy's time zone and windows and an emergency entry's other packages with the window they wait for",
    query: z.object({ at: isoTime.optional() }),
    handle: async ({ db, params, query, config }) => {
      const transport = config.transport(db);
      const { plan, policy } = await makePlan(db, params.name, {
        ...(query.at !== undefined ? { at: new Date(query.at) } : {}),
        reachable: transport.reaches?.bind(transport),
      });
      return timelineOf(plan, policy);
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/policies/:name/timeline',
    access: 'viewer',
    tag: 'policies',
    summary:
      "The plan as a timeline: the policy's time zone and windows, unreachable targets left out (as a run leaves them), and an emergency entry's other packages with the window they wait for",
    query: z.object({ at: isoTime.optional() }),
    handle: ({ db, params, query, config }) => {
      const transport = config.transport(db);
      return planTimeline(db, params.name, { ...(query.at !== undefined ? { at: new Date(query.at) } : {}), reachable: transport.reaches?.bind(transport) });
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/policies/:name/run-preview',
    access: 'viewer',
    tag: 'policies',
    summary:
      'What starting a run of the policy now (POST /api/v1/runs) would do: hosts, rings, windows, packages and versions, reboots, and the hosts left out with why',
    handle: ({ db, params, config }) => previewRun(db, params.name, config.transport(db)),
  }),
  route({
    method: 'get',
    path: '/api/v1/policies/:name/plan-diff',
    access: 'viewer',
    tag: 'policies',
    summary: 'What changed in the plan since the last stored one',
    handle: async ({ db, params }) => planDiff(db, params.name),
  }),
  route({
    method: 'get',
    path: '/api/v1/decisions',
    access: 'viewer',
    tag: 'policies',
    summary: 'Approvals and holds in force (history: all of them)',
    query: z.object({ policy: z.string().optional(), history: z.enum(['true', 'false']).optional() }),
    handle: async ({ db, query }) => ({
      items: await decisions(db, { ...(query.policy !== undefined ? { policy: query.policy } : {}), history: query.history === 'true' }),
    }),
  }),
  route({
    method: 'post',
    path: '/api/v1/decisions',
    access: 'operator',
    tag: 'policies',
    summary: 'Approve an advisory under a policy, or hold it (with a reason and an expiry)',
    status: 201,
    body: z.strictObject({
      policy: name,
      advisory: z.string().min(1).max(128),
      kind: z.enum(['approve', 'hold']),
      reason: z.string().min(1).max(1024),
      until: isoTime.optional(),
    }),
    handle: async ({ db, body, actor }) => {
      const until = body.until ?? (body.kind === 'hold' ? new Date(Date.now() + 30 * 86_400_000).toISOString() : null);
      const pk = await decide(db, {
        policy: body.policy,
        advisoryId: body.advisory,
        kind: body.kind,
        reason: body.reason,
        until: until !== null && until.length === 10 ? `${until}T23:59:59.000Z` : until,
        actor,
      });
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
];
