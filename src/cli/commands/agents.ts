import { createEnrollmentToken, installCommand, listAgents, revokeAgent } from '../../services/agents.js';
import { listHosts } from '../../services/hosts.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** `bulwark agents enroll-token --url URL [--tag T]… [--expires-hours H]`: a one-time token and the install command. */
export async function agentsEnrollTokenCommand(o: Common & { url: string; tags: string[]; expiresInHours: number }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const t = await createEnrollmentToken(db, { tags: o.tags, expiresInHours: o.expiresInHours, actor: actorOf(o.io) });
    await writeAll(o.io.stdout, `enrollment token (one use, expires ${t.expiresAt}):\n  ${t.token}\non the host, as root:\n  ${installCommand(o.url.replace(/\/+$/, ''), t.token)}\n`);
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
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(agents.map((a) => ({ ...a, host: names.get(a.targetId) ?? null })), null, 2) + '\n');
    else await writeAll(o.io.stdout, formatTable(['AGENT', 'HOST', 'ENROLLED', 'LAST SEEN', 'REVOKED'], agents.map((a) => [a.id, names.get(a.targetId) ?? '?', a.enrolledAt, a.lastSeenAt ?? 'never', a.revokedAt ?? '-'])));
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
