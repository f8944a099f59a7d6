import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { bootIdOf } from '../inventory/agent-report.js';
export { acceptAgentReport } from './agent-report-accept.js';
import {
  defaultSqlitePath,
  finishAgentTask,
  getAgent,
  getAgentOfTarget,
  getAgentTask,
  getEnrollmentToken,
  insertAgent,
  insertAgentTask,
  withdrawAgentTask,
  withdrawStaleCopies,
  insertEnrollmentToken,
  listAgentRows,
  listTargets,
  nextAgentTask,
  revokeAgentRow,
  transaction,
  upsertTarget,
  useEnrollmentToken,
  type AgentRow,
  type AgentTask,
} from '../storage/index.js';
import { NonceClaim } from './agent-nonce.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import type { CommandResult } from './runs.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * The pull agent's server side (issue #6). Enrollment trades a one-time token for an agent id and
 * a signing key; the key is HMAC(server key, agent id), so the database never holds one, and
 * every server sharing the server key (BULWARK_AGENT_KEY) verifies every agent. Each request is
 * signed over its method, path, time, a nonce and the body's SHA-256; a request older than five
 * minutes, or whose nonce this agent used before, or whose signature does not verify, is refused.
 */
export const MAX_SKEW_MS = 5 * 60_000;
const ENROLL = /^bwe_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** The server key: BULWARK_AGENT_KEY (64 hex digits), else a key file beside the default database, made on first use. */
export function agentServerKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env['BULWARK_AGENT_KEY'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^[0-9a-f]{64}$/i.test(fromEnv))
      throw new BulwarkError('config.invalid', 'BULWARK_AGENT_KEY must be 64 hex digits (openssl rand -hex 32)', { variable: 'BULWARK_AGENT_KEY' });
    return Buffer.from(fromEnv, 'hex');
  }
  const file = `${dirname(defaultSqlitePath(env))}/agent-server.key`;
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new BulwarkError('config.invalid', `${file}: not a key of 64 hex digits`);
  return Buffer.from(text, 'hex');
}

export function agentKey(serverKey: Buffer, agentId: string): string {
  return createHmac('sha256', serverKey).update(`agent:${agentId}`).digest('hex');
}

/** The string an agent signs (bulwark-agent.sh builds the same bytes). */
export function stringToSign(agentId: string, ts: string, nonce: string, method: string, path: string, body: string | Buffer): string {
  return signedText(agentId, ts, nonce, method, path, sha256(body));
}

const signedText = (agentId: string, ts: string, nonce: string, method: string, path: string, bodySha256: string): string =>
  ['bulwark-agent-v1', agentId, ts, nonce, method, path, bodySha256].join('\n');

/**
 * A one-time enrollment token for `bulwark-agent enroll`; the host it enrolls gets `tags`.
 * @example const { token } = await createEnrollmentToken(db, { tags: ['prod'], expiresInHours: 24, actor: { kind: 'cli', name: 'alice' } })
 */
export async function createEnrollmentToken(
  db: Db,
  o: { tags: string[]; expiresInHours: number; actor: Actor },
  clock: Clock = systemClock,
): Promise<{ token: string; id: string; expiresAt: string }> {
  if (!(o.expiresInHours > 0 && o.expiresInHours <= 24 * 30)) throw new BulwarkError('usage', 'an enrollment token expires after 1 hour to 30 days');
  for (const t of o.tags) if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(t)) throw new BulwarkError('usage', `"${t}" is not a tag`);
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const now = clock();
  const expiresAt = new Date(now.getTime() + o.expiresInHours * 3_600_000).toISOString();
  await insertEnrollmentToken(db, { id, secretSha256: sha256(secret), tags: o.tags, createdAt: now.toISOString(), createdBy: actorLabel(o.actor), expiresAt });
  await recordAudit(db, o.actor, 'agent.enrollment-token', `enrollment:${id}`, { tags: o.tags, expiresAt }, clock);
  return { token: `bwe_${id}_${secret}`, id, expiresAt };
}

/** Enrolls a host: the token is used up, the host becomes a target, and the agent gets its key. */
export async function enrollAgent(
  db: Db,
  serverKey: Buffer,
  o: { token: string; hostname: string },
  clock: Clock = systemClock,
): Promise<{ agentId: string; key: string; target: string }> {
  const m = ENROLL.exec(o.token);
  const refused = new BulwarkError('auth.required', 'the enrollment token is not valid (unknown, used, or expired)');
  if (m === null) throw refused;
  const [, id = '', secret = ''] = m;
  const t = await getEnrollmentToken(db, id);
  if (t === null) throw refused;
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(t.secretSha256, 'hex');
  const now = clock();
  if (a.length !== b.length || !timingSafeEqual(a, b) || t.usedAt !== null || Date.parse(t.expiresAt) <= now.getTime()) throw refused;
  const hostname = o.hostname.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]{0,127}$/.test(hostname)) throw new BulwarkError('input.invalid', `"${o.hostname}" is not a host name`);
  const agentId = randomBytes(8).toString('hex');
  const name = await transaction(db, async (tx) => {
    if (!(await useEnrollmentToken(tx, id, agentId, now.toISOString()))) throw refused;
    // A host name already taken (another host, or this host enrolled before) gets the agent id as a suffix.
    const taken = new Set((await listTargets(tx)).map((x) => x.name));
    const chosen = taken.has(hostname) ? `${hostname}-${agentId.slice(0, 6)}` : hostname;
    const target = await upsertTarget(tx, { name: chosen, kind: 'host', address: `agent://${agentId}`, tags: t.tags }, now.toISOString());
    await insertAgent(tx, { id: agentId, targetId: target.id, hostname, enrolledAt: now.toISOString() });
    return chosen;
  });
  await recordAudit(db, { kind: 'agent', name: agentId }, 'agent.enroll', name, { enrollment: id, hostname }, clock);
  return { agentId, key: agentKey(serverKey, agentId), target: name };
}

let lastSweep = 0;

type SignedHeaders = { agentId: string | undefined; ts: string | undefined; nonce: string | undefined; signature: string | undefined };

/**
 * The agent a request's signature headers name, when they are well formed and it is enrolled
 * and not revoked (else auth.required saying why): checked before the body is read.
 */
export async function agentOfHeaders(db: Db, r: SignedHeaders): Promise<AgentRow> {
  const { agentId, ts, nonce, signature } = r;
  if (agentId === undefined || ts === undefined || nonce === undefined || signature === undefined)
    throw new BulwarkError('auth.required', 'an agent request must be signed (X-Bulwark-Agent, -Timestamp, -Nonce, -Signature)');
  if (!/^[0-9a-f]{16}$/.test(agentId) || !/^\d{1,12}$/.test(ts) || !/^[0-9a-f]{32}$/.test(nonce) || !/^[0-9a-f]{64}$/.test(signature))
    throw new BulwarkError('auth.required', 'malformed agent signature headers');
  const agent = await getAgent(db, agentId);
  if (agent === null || agent.revokedAt !== null) throw new BulwarkError('auth.required', 'unknown or revoked agent');
  return agent;
}

/**
 * Checks a signed agent request (its body as the bytes received); returns the agent, the
 * request's nonce, not yet stored (the caller stores it: agent-nonce.ts), and the body's SHA-256
 * (hex: the one signed), or throws auth.required
 * saying why. `agent` is the row agentOfHeaders read for these headers, so it is read once.
 */
export async function verifyAgentRequest(
  db: Db,
  serverKey: Buffer,
  r: SignedHeaders & { method: string; path: string; body: Buffer },
  clock: Clock = systemClock,
  known?: AgentRow,
): Promise<{ agent: AgentRow; nonce: NonceClaim; bodySha256: string }> {
  const agent = known !== undefined && known.id === r.agentId ? known : await agentOfHeaders(db, r);
  const { agentId = '', ts = '', nonce = '', signature = '' } = r;
  const bodySha256 = sha256(r.body);
  const expected = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
    .update(signedText(agentId, ts, nonce, r.method, r.path, bodySha256))
    .digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw new BulwarkError('auth.required', 'the signature does not verify');
  const now = clock().getTime();
  if (Math.abs(now - Number(ts) * 1000) > MAX_SKEW_MS)
    throw new BulwarkError('auth.required', 'the request is too old or from the future (check the host clock)');
  // Old nonces are swept at most once a minute per process, and the last-seen time is written at
  // most once a minute per agent: a steady stream of reports costs one write each (the nonce).
  const sweep = now - lastSweep > 60_000;
  if (sweep) lastSweep = now;
  const seenDue = agent.lastSeenAt === null || now - Date.parse(agent.lastSeenAt) > 60_000;
  const at = new Date(now).toISOString();
  return { agent, nonce: new NonceClaim(agentId, nonce, at, sweep ? new Date(now - 2 * MAX_SKEW_MS).toISOString() : null, seenDue), bodySha256 };
}

/** The next task for the agent, in the line format bulwark-agent.sh reads; empty when none. */
export async function nextTaskText(db: Db, agent: AgentRow, clock: Clock = systemClock): Promise<string> {
  const t = await nextAgentTask(db, agent.id, clock().toISOString());
  if (t === null) return 'none\n';
  return [`task ${String(t.pk)} ${t.kind}`, ...t.argv.map((a) => `arg ${a}`), 'end', ''].join('\n');
}

export async function acceptTaskResult(db: Db, agent: AgentRow, taskPk: number, text: string, clock: Clock = systemClock): Promise<void> {
  const m = /^exit=(\d{1,3})\n?/.exec(text);
  if (m === null) throw new BulwarkError('input.invalid', 'a task result starts with exit=N');
  const task = await getAgentTask(db, taskPk);
  if (task?.agentId !== agent.id) throw new BulwarkError('storage.not-found', `no task ${String(taskPk)} for this agent`);
  await finishAgentTask(db, taskPk, agent.id, Number(m[1]), text.slice(m[0].length, m[0].length + 1024 * 1024), clock().toISOString());
}

/**
 * Gives the host's agent a task and waits for its result (patch runs on agent hosts): the
 * agent picks it up on its next pass. A task whose result never comes fails at `timeoutMs`.
 */
export async function runAgentTask(
  db: Db,
  targetId: string,
  kind: 'exec' | 'report',
  argv: readonly string[],
  o: { timeoutMs?: number; pollMs?: number } = {},
  clock: Clock = systemClock,
): Promise<CommandResult> {
  const agent = await getAgentOfTarget(db, targetId);
  if (agent === null) throw new BulwarkError('usage', `target ${targetId} has no enrolled agent`);
  for (const a of argv) if (a.includes('\n') || a.includes('\0')) throw new BulwarkError('input.invalid', 'a task word cannot hold a line break');
  const pk = await insertAgentTask(db, { agentId: agent.id, kind, argv: [...argv], now: clock().toISOString() });
  // The same command queued before and still not sent was left by a process that died waiting
  // (its step is being run again): it must never run as well.
  await withdrawStaleCopies(db, {
    agentId: agent.id,
    pk,
    kind,
    argv,
    now: clock().toISOString(),
    why: `expired: superseded by task ${String(pk)} before the agent took it`,
  });
  const timeoutMs = o.timeoutMs ?? 3_600_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const t: AgentTask | null = await getAgentTask(db, pk);
    if (t?.state === 'done')
      return { code: t.exitCode, stdout: t.output ?? '', stderr: t.exitCode === null ? 'the task expired before the agent answered' : '' };
    if (Date.now() > until) {
      // Given up on: an agent that polls later must not run it (an update outside its window,
      // after the step was marked failed). An answer already stored wins.
      const seconds = String(Math.round(timeoutMs / 1000));
      if (!(await withdrawAgentTask(db, { agentId: agent.id, pk, now: clock().toISOString(), why: `expired: the server stopped waiting after ${seconds} s` })))
        continue;
      return { code: null, stdout: '', stderr: `the agent did not answer task ${String(pk)} within ${seconds} s; the task is withdrawn` };
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
  }
}

/**
 * Reboots an agent's host (a run's reboot step): the agent acknowledges with the boot it is
 * leaving, then reboots; the step is done when a report comes from another boot (its timer runs
 * at boot), or fails at `timeoutMs`.
 * @example await rebootViaAgent(db, targetId, { timeoutMs: 20 * 60_000 })
 */
export async function rebootViaAgent(
  db: Db,
  targetId: string,
  o: { timeoutMs?: number; taskTimeoutMs?: number; pollMs?: number; since?: string } = {},
): Promise<CommandResult> {
  // Begun before by a process that died (`since`): a host that booted since then was rebooted by
  // it, as its agent's last report says (its boot time, /proc/stat btime).
  if (o.since !== undefined) {
    const a = await getAgentOfTarget(db, targetId);
    if (a?.bootedAt !== null && a?.bootedAt !== undefined && Date.parse(a.bootedAt) >= Date.parse(o.since))
      return { code: 0, stdout: `already rebooted: the host booted at ${a.bootedAt}, after this step began at ${o.since}\n`, stderr: '' };
  }
  // The host may have booted and not reported yet: the agent itself then declines the reboot
  // (`@reboot SINCE`: only when it booted before SINCE, in seconds since the epoch).
  const word = o.since === undefined ? [] : [String(Math.floor(Date.parse(o.since) / 1000))];
  const ack = await runAgentTask(db, targetId, 'exec', ['@reboot', ...word], {
    ...(o.taskTimeoutMs !== undefined ? { timeoutMs: o.taskTimeoutMs } : {}),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
  });
  if (ack.code !== 0) return ack;
  if (/^already-booted-since$/m.test(ack.stdout)) return { code: 0, stdout: `already rebooted: ${ack.stdout}`, stderr: '' };
  const before = bootIdOf(/^boot_id=(.*)$/m.exec(ack.stdout)?.[1]);
  if (before === null) return { code: null, stdout: ack.stdout, stderr: 'the agent did not say which boot it is leaving' };
  const timeoutMs = o.timeoutMs ?? 30 * 60_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const a = await getAgentOfTarget(db, targetId);
    if (a?.bootId !== null && a?.bootId !== undefined && a.bootId !== before)
      return { code: 0, stdout: `rebooted: boot ${before} → ${a.bootId}\n`, stderr: '' };
    if (Date.now() > until)
      return { code: null, stdout: ack.stdout, stderr: `no report from a new boot within ${String(Math.round(timeoutMs / 1000))} s of the reboot` };
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

export function listAgents(db: Db): Promise<AgentRow[]> {
  return listAgentRows(db);
}

export async function revokeAgent(db: Db, id: string, actor: Actor, clock: Clock = systemClock): Promise<void> {
  if (!(await revokeAgentRow(db, id, clock().toISOString()))) throw new BulwarkError('storage.not-found', `no active agent ${id}`);
  await recordAudit(db, actor, 'agent.revoke', `agent:${id}`, {}, clock);
}

let script: string | null = null;
/** The agent script served to hosts (src/agent/bulwark-agent.sh; the build copies it to dist/agent/). */
export function agentScript(): string {
  script ??= readFileSync(new URL('../agent/bulwark-agent.sh', import.meta.url), 'utf8');
  return script;
}

/** What to run on a host to install and enroll the agent (as root). */
export function installCommand(origin: string, token: string): string {
  return `curl -fsS ${origin}/agent/v1/bulwark-agent.sh -o /usr/local/sbin/bulwark-agent && chmod 755 /usr/local/sbin/bulwark-agent && bulwark-agent enroll ${origin} ${token} && bulwark-agent once && bulwark-agent install-timer 15`;
}
export type { AgentRow } from '../storage/index.js';
