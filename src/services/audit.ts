import { appendAudit, listAudit, type AuditEntry } from '../storage/index.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Who acts, as the audit log names them: a person at the CLI (`cli:alice`, the OS user), an API
 * token (`token:<id>:<name>`), a dashboard user (`user:carol`), an enrolled agent (`agent:<id>`),
 * the scheduler (`scheduler`), Bulwark itself (`system:demo`), or nobody yet (`anonymous`, a
 * public route before its own credential is checked).
 */
export type ActorKind = 'cli' | 'token' | 'user' | 'agent' | 'scheduler' | 'system' | 'anonymous';
export interface Actor {
  readonly kind: ActorKind;
  readonly name: string;
}

export const SCHEDULER: Actor = { kind: 'scheduler', name: '' };
export const ANONYMOUS: Actor = { kind: 'anonymous', name: '' };
/** Bulwark itself, where no caller is named (a library call, a test). */
export const SYSTEM: Actor = { kind: 'system', name: 'bulwark' };

/** @example actorLabel({ kind: 'cli', name: 'alice' }) // 'cli:alice' */
export function actorLabel(a: Actor): string {
  return a.name === '' ? a.kind : `${a.kind}:${a.name}`;
}

/**
 * The audit log: every change made to the store by a person, a token or the scheduler (policies,
 * feed sources and syncs, hosts and scans, decisions, runs, tokens, users, agents, repositories,
 * views, images) is appended with who and when — by the service that makes the change, once, so
 * the API and the CLI never record it themselves. Reads record nothing. The database refuses to
 * change or delete an entry.
 * @example await recordAudit(db, { kind: 'cli', name: 'alice' }, 'policy.apply', 'azl3-prod', { version: 2 })
 */
export async function recordAudit(
  db: Db,
  actor: Actor,
  action: string,
  subject: string,
  detail: Record<string, unknown> = {},
  clock: Clock = systemClock,
): Promise<void> {
  await appendAudit(db, { at: clock().toISOString(), actor: actorLabel(actor), action, subject, detail });
}

export function auditLog(db: Db, opts: { limit?: number; subject?: string | undefined } = {}): Promise<AuditEntry[]> {
  return listAudit(db, opts);
}
