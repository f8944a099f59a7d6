import { kx, type Executor } from '../database.js';

export interface AuditEntry {
  at: string;
  actor: string;
  /** e.g. policy.apply, host.add, feed.remove, plan.create */
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

/** Appends to the audit log (there is no way to change or delete an entry). */
export async function appendAudit(on: Executor, e: AuditEntry): Promise<void> {
  const ex = kx(on);
  await ex
    .insertInto('audit')
    .values({ at: e.at, actor: e.actor, action: e.action, subject: e.subject, detail: JSON.stringify(e.detail) })
    .execute();
}

/** The newest entries first. */
export async function listAudit(on: Executor, opts: { limit?: number; subject?: string | undefined } = {}): Promise<AuditEntry[]> {
  const ex = kx(on);
  let q = ex.selectFrom('audit').selectAll();
  if (opts.subject !== undefined) q = q.where('subject', '=', opts.subject);
  const rows = await q
    .orderBy('pk', 'desc')
    .limit(opts.limit ?? 100)
    .execute();
  return rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, subject: r.subject, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}

/** The newest entry of one action about one subject (a source's last sync), or null. */
export async function lastAudit(on: Executor, action: string, subject: string): Promise<AuditEntry | null> {
  const ex = kx(on);
  const r = await ex
    .selectFrom('audit')
    .selectAll()
    .where('subject', '=', subject)
    .where('action', '=', action)
    .orderBy('pk', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r === undefined ? null : { at: r.at, actor: r.actor, action: r.action, subject: r.subject, detail: JSON.parse(r.detail) as Record<string, unknown> };
}
