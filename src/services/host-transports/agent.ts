import { rebootViaAgent, runAgentTask } from '../agents.js';
import type { HostTransport } from './types.js';

/**
 * Hosts with an enrolled agent (`agent://<agent id>`, issue #6): a run's steps become tasks the
 * agent picks up on its next pass; the host reports its inventory by itself.
 */
export const agent: HostTransport = {
  id: 'agent',
  // bulwark-agent.sh's check_task refuses `history`, `downgrade` and installs of older builds' argv.
  rollsBack: false,
  exec: (ctx, t, argv) => runAgentTask(ctx.db, t.id, 'exec', argv, ctx.opts.agentTaskTimeoutMs === undefined ? {} : { timeoutMs: ctx.opts.agentTaskTimeoutMs }),
  reboot: (ctx, t, o) =>
    rebootViaAgent(ctx.db, t.id, {
      ...(ctx.opts.rebootWaitMs !== undefined ? { timeoutMs: ctx.opts.rebootWaitMs } : {}),
      ...(ctx.opts.agentTaskTimeoutMs !== undefined ? { taskTimeoutMs: ctx.opts.agentTaskTimeoutMs } : {}),
      ...(o?.since !== undefined ? { since: o.since } : {}),
    }),
  async rescan(ctx, t) {
    const r = await runAgentTask(ctx.db, t.id, 'report', [], ctx.opts.agentTaskTimeoutMs === undefined ? {} : { timeoutMs: ctx.opts.agentTaskTimeoutMs });
    return r.code === 0 ? { code: 0, stdout: r.stdout, stderr: '' } : r;
  },
};
