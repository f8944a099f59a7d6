import { appendAudit, endAcceptance, expiredAcceptances, transaction, type AcceptanceRow, type Tx } from '../storage/index.js';
import { actorLabel, type Actor } from './audit.js';
import type { Db } from './store.js';

/** How many findings an audit entry names one by one (the count is always exact). */
export const AUDIT_FINDINGS_LISTED = 200;

/** A finding as the audit log names it. */
export function auditedFinding(r: AcceptanceRow): Record<string, unknown> {
  return { host: r.targetName, advisory: r.advisoryId, package: r.package, arch: r.arch };
}

/** The audit subject of findings: their advisories (the first ten, then how many more). */
export function auditSubject(rows: readonly AcceptanceRow[]): string {
  const ids = [...new Set(rows.map((r) => r.advisoryId))];
  return ids.length <= 10 ? ids.join(',') : `${ids.slice(0, 10).join(',')} +${String(ids.length - 10)}`;
}

/**
 * Ends the acceptances that expired at or before `now` (`accepted_until`): each finding goes back
 * to `open` (a fix exists) or `no-fix`, or, withdrawn meanwhile, will come back as that — and one
 * audit entry, `finding.acceptance-expired`, names them, who had accepted each and until when,
 * in the same transaction. Every stored scan runs it first (services/fleet-scan.ts), and so does
 * the scheduler on each pass. Returns the findings it ended.
 * @example await expireAcceptances(db, new Date().toISOString(), SCHEDULER)
 */
export async function expireAcceptances(db: Db | Tx, now: string, actor: Actor): Promise<AcceptanceRow[]> {
  return transaction(db, async (tx) => {
    const rows = await expiredAcceptances(tx, now);
    if (rows.length === 0) return rows;
    await endAcceptance(
      tx,
      rows.map((r) => r.pk),
    );
    await appendAudit(tx, {
      at: now,
      actor: actorLabel(actor),
      action: 'finding.acceptance-expired',
      subject: auditSubject(rows),
      detail: {
        count: rows.length,
        findings: rows.slice(0, AUDIT_FINDINGS_LISTED).map((r) => ({ ...auditedFinding(r), acceptedBy: r.acceptedBy, until: r.acceptedUntil })),
      },
    });
    return rows;
  });
}
