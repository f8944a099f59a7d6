import { directStatement } from '../sqlite-direct.js';
import { kx, type Executor } from '../database.js';

export interface EnrollmentToken {
  id: string;
  secretSha256: string;
  tags: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  usedAt: string | null;
  agentId: string | null;
}

export interface AgentRow {
  id: string;
  targetId: string;
  hostname: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
  /** The boot id the host last reported (a reboot changes it). */
  bootId: string | null;
  /** When the host booted, as it last reported (ISO 8601); null when its agent does not say. */
  bootedAt: string | null;
}

export interface AgentTask {
  pk: number;
  agentId: string;
  kind: 'exec' | 'report';
  argv: string[];
  state: 'pending' | 'sent' | 'done';
  createdAt: string;
  sentAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  output: string | null;
}

export async function insertEnrollmentToken(
  on: Executor,
  t: { id: string; secretSha256: string; tags: string[]; createdAt: string; createdBy: string; expiresAt: string },
): Promise<void> {
  const ex = kx(on);
  await ex
    .insertInto('enrollment_tokens')
    .values({
      id: t.id,
      secret_sha256: t.secretSha256,
      tags: JSON.stringify(t.tags),
      created_at: t.createdAt,
      created_by: t.createdBy,
      expires_at: t.expiresAt,
    })
    .execute();
}

export async function getEnrollmentToken(on: Executor, id: string): Promise<EnrollmentToken | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('enrollment_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return r === undefined
    ? null
    : {
        id: r.id,
        secretSha256: r.secret_sha256,
        tags: JSON.parse(r.tags) as string[],
        createdAt: r.created_at,
        createdBy: r.created_by,
        expiresAt: r.expires_at,
        usedAt: r.used_at,
        agentId: r.agent_id,
      };
}

/** Marks the token used by this agent; false when someone used it first (one use only). */
export async function useEnrollmentToken(on: Executor, id: string, agentId: string, now: string): Promise<boolean> {
  const ex = kx(on);
  const r = await ex
    .updateTable('enrollment_tokens')
    .set({ used_at: now, agent_id: agentId })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function insertAgent(on: Executor, a: { id: string; targetId: string; hostname: string; enrolledAt: string }): Promise<void> {
  const ex = kx(on);
  await ex.insertInto('agents').values({ id: a.id, target_id: a.targetId, hostname: a.hostname, enrolled_at: a.enrolledAt }).execute();
}

const toAgent = (r: {
  id: string;
  target_id: string;
  hostname: string;
  enrolled_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
  boot_id: string | null;
  booted_at: string | null;
}): AgentRow => ({
  id: r.id,
  targetId: r.target_id,
  hostname: r.hostname,
  enrolledAt: r.enrolled_at,
  lastSeenAt: r.last_seen_at,
  revokedAt: r.revoked_at,
  bootId: r.boot_id,
  bootedAt: r.booted_at,
});

export async function getAgent(on: Executor, id: string): Promise<AgentRow | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  return r === undefined ? null : toAgent(r);
}

export async function getAgentOfTarget(on: Executor, targetId: string): Promise<AgentRow | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('agents').selectAll().where('target_id', '=', targetId).where('revoked_at', 'is', null).executeTakeFirst();
  return r === undefined ? null : toAgent(r);
}

export async function listAgentRows(on: Executor): Promise<AgentRow[]> {
  const ex = kx(on);
  return (await ex.selectFrom('agents').selectAll().orderBy('enrolled_at').execute()).map(toAgent);
}

export async function setAgentSeen(on: Executor, id: string, now: string): Promise<void> {
  const ex = kx(on);
  await ex.updateTable('agents').set({ last_seen_at: now }).where('id', '=', id).execute();
}

export async function revokeAgentRow(on: Executor, id: string, now: string): Promise<boolean> {
  const ex = kx(on);
  const r = await ex.updateTable('agents').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Records a request's nonce; false when this agent used it before (a replay). With
 * `forgetBefore`, nonces older than that are dropped first: a request that old is refused by its
 * timestamp anyway.
 */
export async function recordNonce(on: Executor, agentId: string, nonce: string, now: string, forgetBefore: string | null): Promise<boolean> {
  const ex = kx(on);
  if (forgetBefore !== null) await ex.deleteFrom('agent_nonces').where('at', '<', forgetBefore).execute();
  // In a report's transaction on SQLite: a kept statement (sqlite-direct.ts).
  const st = directStatement(on, 'insert into "agent_nonces" ("agent_id", "nonce", "at") values (?, ?, ?) on conflict ("agent_id", "nonce") do nothing');
  if (st !== null) return st.run(agentId, nonce, now).changes === 1;
  const r = await ex
    .insertInto('agent_nonces')
    .values({ agent_id: agentId, nonce, at: now })
    .onConflict((oc) => oc.columns(['agent_id', 'nonce']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

const toTask = (r: {
  pk: number;
  agent_id: string;
  kind: 'exec' | 'report';
  argv: string;
  state: 'pending' | 'sent' | 'done';
  created_at: string;
  sent_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  output: string | null;
}): AgentTask => ({
  pk: r.pk,
  agentId: r.agent_id,
  kind: r.kind,
  argv: JSON.parse(r.argv) as string[],
  state: r.state,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  finishedAt: r.finished_at,
  exitCode: r.exit_code,
  output: r.output,
});

export async function insertAgentTask(on: Executor, t: { agentId: string; kind: 'exec' | 'report'; argv: string[]; now: string }): Promise<number> {
  const ex = kx(on);
  const r = await ex
    .insertInto('agent_tasks')
    .values({ agent_id: t.agentId, kind: t.kind, argv: JSON.stringify(t.argv), state: 'pending', created_at: t.now })
    .returning('pk')
    .executeTakeFirstOrThrow();
  return r.pk;
}

/** The agent's oldest task not done (a task sent but never answered is sent again). */
export async function nextAgentTask(on: Executor, agentId: string, now: string): Promise<AgentTask | null> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('agent_tasks')
    .selectAll()
    .where('agent_id', '=', agentId)
    .where('state', '!=', 'done')
    .orderBy('pk')
    .limit(1)
    .executeTakeFirst();
  if (r === undefined) return null;
  await ex.updateTable('agent_tasks').set({ state: 'sent', sent_at: now }).where('pk', '=', r.pk).execute();
  return toTask({ ...r, state: 'sent', sent_at: now });
}

export async function getAgentTask(on: Executor, pk: number): Promise<AgentTask | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('agent_tasks').selectAll().where('pk', '=', pk).executeTakeFirst();
  return r === undefined ? null : toTask(r);
}

/**
 * Withdraws a task the server no longer waits for (its waiter timed out), so no agent gets it
 * later: it is done with no exit code, and an answer that comes after changes nothing. False
 * when it was done already.
 */
export async function withdrawAgentTask(on: Executor, o: { agentId: string; pk: number; now: string; why: string }): Promise<boolean> {
  const ex = kx(on);
  const r = await ex
    .updateTable('agent_tasks')
    .set({ state: 'done', finished_at: o.now, exit_code: null, output: o.why })
    .where('agent_id', '=', o.agentId)
    .where('pk', '=', o.pk)
    .where('state', '!=', 'done')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Withdraws the agent's older copies of a task that were never sent: the same command a process
 * that died waiting left behind, now that its step is queued again (task `pk`).
 */
export async function withdrawStaleCopies(
  on: Executor,
  o: { agentId: string; pk: number; kind: 'exec' | 'report'; argv: readonly string[]; now: string; why: string },
): Promise<void> {
  const ex = kx(on);
  await ex
    .updateTable('agent_tasks')
    .set({ state: 'done', finished_at: o.now, exit_code: null, output: o.why })
    .where('agent_id', '=', o.agentId)
    .where('pk', '<', o.pk)
    .where('state', '=', 'pending')
    .where('kind', '=', o.kind)
    .where('argv', '=', JSON.stringify(o.argv))
    .execute();
}

/** Stores a task's result once; false when it was already done (a second answer changes nothing). */
export async function finishAgentTask(on: Executor, pk: number, agentId: string, exitCode: number, output: string, now: string): Promise<boolean> {
  const ex = kx(on);
  const r = await ex
    .updateTable('agent_tasks')
    .set({ state: 'done', finished_at: now, exit_code: exitCode, output })
    .where('pk', '=', pk)
    .where('agent_id', '=', agentId)
    .where('state', '!=', 'done')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function setAgentBootId(on: Executor, agentId: string, bootId: string, bootedAt: string | null = null): Promise<void> {
  const ex = kx(on);
  await ex.updateTable('agents').set({ boot_id: bootId, booted_at: bootedAt }).where('id', '=', agentId).execute();
}
