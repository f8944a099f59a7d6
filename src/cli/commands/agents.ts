import { createEnrollmentToken, installCommand, listAgents, revokeAgent } from '../../services/agents.js';
import { listHosts } from '../../services/hosts.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { BulwarkError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { describe, listOption, numberOption } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** `bulwark agents enroll-token --url URL [--tag T]… [--expires-hours H]`: a one-time token and the install command. */
export async function agentsEnrollTokenCommand(o: Common & { url: string; tags: string[]; expiresInHours: number }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const t = await createEnrollmentToken(db, { tags: o.tags, expiresInHours: o.expiresInHours, actor: actorOf(o.io) });
    await writeAll(
      o.io.stdout,
      `enrollment token (one use, expires ${t.expiresAt}):\n  ${t.token}\non the host, as root:\n  ${installCommand(o.url.replace(/\/+$/, ''), t.token)}\n`,
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function agentsListCommand(o: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const agents = await listAgents(db);
    const names = new Map((await listHosts(db)).map((h) => [h.id, h.name]));
    if (o.json)
      await writeAll(
        o.io.stdout,
        JSON.stringify(
          agents.map((a) => ({ ...a, host: names.get(a.targetId) ?? null })),
          null,
          2,
        ) + '\n',
      );
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['AGENT', 'HOST', 'ENROLLED', 'LAST SEEN', 'REVOKED'],
          agents.map((a) => [a.id, names.get(a.targetId) ?? '?', a.enrolledAt, a.lastSeenAt ?? 'never', a.revokedAt ?? '-']),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function agentsRevokeCommand(o: Common & { id: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    await revokeAgent(db, o.id, actorOf(o.io));
    await writeAll(o.io.stdout, `agent ${o.id} revoked\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark agents enroll-token | list | revoke`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const agentsCmd = describe(
    program.command('agents'),
    'hosts that report through the pull agent (no SSH needed)',
    'bulwark agents enroll-token --url https://bulwark.example.com --tag prod',
    'bulwark agents list',
  );
  describe(
    agentsCmd.command('enroll-token'),
    'a one-time enrollment token, and the command that installs and enrolls the agent on a host',
    'bulwark agents enroll-token --url https://bulwark.example.com --tag prod --expires-hours 4',
  )
    .requiredOption('--url <url>', "the server's address as hosts reach it, e.g. https://bulwark.example.com")
    .addOption(listOption('--tag <tag>', 'a tag the enrolled host gets (repeatable)'))
    .addOption(numberOption('--expires-hours <n>', 'hours until the token expires', { min: 1, max: 720, unit: 'hours', default: 24 }))
    .action(async (o: { url: string; tag: string[]; expiresHours: number }) => {
      if (!/^https?:\/\/[^\s'"`$]+$/.test(o.url)) throw new BulwarkError('usage', `--url: "${o.url}" is not an http(s) URL`);
      ctx.exit = await agentsEnrollTokenCommand({ io, dbPath: ctx.dbPath(), url: o.url, tags: o.tag, expiresInHours: o.expiresHours });
    });
  describe(agentsCmd.command('list'), 'list agents: host, enrolled, last seen, revoked', 'bulwark agents list --json')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await agentsListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(agentsCmd.command('revoke'), 'revoke an agent: its requests are refused from now on', 'bulwark agents revoke 7')
    .argument('<id>', 'the agent id')
    .action(async (id: string) => {
      ctx.exit = await agentsRevokeCommand({ io, dbPath: ctx.dbPath(), id });
    });
}
