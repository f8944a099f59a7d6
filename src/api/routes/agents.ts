import { z } from 'zod';
import { BulwarkError } from '../../core/errors.js';
import {
  acceptAgentReport,
  acceptTaskResult,
  agentScript,
  createEnrollmentToken,
  enrollAgent,
  installCommand,
  listAgents,
  nextTaskText,
  revokeAgent,
  type AgentRow,
} from '../../services/agents.js';
import { systemClock } from '../../services/store.js';
import { AGENT_BODY_LIMIT, name, pathNumber, Raw, REPORT_BODY_LIMIT, route, TASK_RESULT_BODY_LIMIT, type Route } from './route.js';

/**
 * The pull agent: its script and enrollment (public), what enrolled agents sign (reports, tasks),
 * and what admins do with agents (enrollment tokens, revocation).
 */
export const AGENT_ROUTES: readonly Route[] = [
  route({
    method: 'get',
    path: '/agent/v1/bulwark-agent.sh',
    access: 'public',
    tag: 'agents',
    summary: "The agent script (POSIX sh; needs curl and the host's rpm or dpkg-query)",
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
      const f = Object.fromEntries(
        String(body)
          .split('\n')
          .flatMap((l) => (/^[a-z]+=/.test(l) ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]] : [])),
      );
      const r = await enrollAgent(db, config.agentServerKey, { token: f['token'] ?? '', hostname: f['hostname'] ?? '' });
      return new Raw(`agent=${r.agentId}\nkey=${r.key}\nhost=${r.target}\n`, 'text/plain; charset=utf-8');
    },
  }),
  route({
    method: 'post',
    path: '/agent/v1/report',
    access: 'agent',
    tag: 'agents',
    summary: "An agent reports its host's inventory (signed); the host is matched at once",
    textBody: true,
    maxBody: REPORT_BODY_LIMIT,
    nonceInTransaction: true,
    handle: async ({ db, agent, nonce, body, bodySha256 }) =>
      new Raw(
        await acceptAgentReport(db, agent as AgentRow, String(body), nonce, systemClock, bodySha256 === null ? {} : { sha256: bodySha256 }),
        'text/plain; charset=utf-8',
      ),
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
    summary: "An agent reports a task's exit code and output (signed)",
    textBody: true,
    maxBody: TASK_RESULT_BODY_LIMIT,
    handle: async ({ db, agent, params, body }) => {
      await acceptTaskResult(db, agent as AgentRow, pathNumber(params.id, 'task number'), String(body));
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
    body: z
      .strictObject({ tags: z.array(name).max(64).default([]), expiresInHours: z.number().min(1).max(720).default(24) })
      .default({ tags: [], expiresInHours: 24 }),
    handle: async ({ db, body, actor, origin }) => {
      // Checked before a token is made: the command runs as root on the host.
      if (origin === null)
        throw new BulwarkError(
          'input.invalid',
          "the request's Host header is not a host name and port; call the server by its name, or set BULWARK_PUBLIC_URL",
        );
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
      await revokeAgent(db, params.id, actor);
      return { revoked: params.id };
    },
  }),
];
