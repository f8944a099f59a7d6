import { z } from 'zod';
import { executeRun, listRuns, setRunState, showRun } from '../../services/runs.js';
import { runPolicyNow } from '../../services/scheduler.js';
import { name, pathNumber, route, type Route } from './route.js';

/** Patch runs: started from a policy, shown step by step, paused, resumed, cancelled. */
export const RUN_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/api/v1/runs',
    access: 'viewer',
    tag: 'runs',
    summary: 'Patch runs, newest first',
    query: z.object({
      policy: z.string().optional(),
      status: z.enum(['running', 'waiting', 'paused', 'cancelled', 'halted', 'done']).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      offset: z.coerce.number().int().min(0).default(0),
    }),
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
      const r = await runPolicyNow(db, body.policy, config.transport(db), {
        actor,
        detach: true,
        ...(config.runLeaseMs !== undefined ? { runLeaseTtlMs: config.runLeaseMs } : {}),
      });
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
      const { run, steps } = await showRun(db, pathNumber(params.id));
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
        const pk = pathNumber(params.id);
        const r = await setRunState(db, pk, action, actor);
        if (action === 'resume')
          executeRun(db, pk, config.transport(db), undefined, config.runLeaseMs === undefined ? {} : { lease: { ttlMs: config.runLeaseMs } }).catch(
            () => undefined,
          );
        return r;
      },
    }),
  ),
];
