import { appendAudit, listAudit, type AuditEntry } from '../storage/index.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * The audit log: every change an operator makes (policies, feed sources, hosts, plans; approvals,
 * holds and runs as they arrive) is appended with who and when. The database refuses to change
 * or delete an entry.
 * @example await recordAudit(db, 'cli:alice', 'policy.apply', 'azl3-prod', { version: 2 })
 */
export async function recordAudit(db: Db, actor: string, action: string, subject: string, detail: Record<string, unknown> = {}, clock: Clock = systemClock): Promise<void> {
  await appendAudit(db, { at: clock().toISOString(), actor, action, subject, detail });
}

export function auditLog(db: Db, opts: { limit?: number; subject?: string | undefined } = {}): Promise<AuditEntry[]> {
  return listAudit(db, opts);
}
