import { BulwarkError } from '../core/errors.js';
import { didYouMean } from '../lib/words.js';
import {
  advisoryPksNamed,
  appendAudit,
  endAcceptance,
  findingsSelected,
  listTargets,
  setAcceptance,
  transaction,
  type AcceptanceRow,
  type AcceptanceSelection,
} from '../storage/index.js';
import { AUDIT_FINDINGS_LISTED, auditedFinding, auditSubject, expireAcceptances } from './acceptance-expiry.js';
import { actorLabel, type Actor } from './audit.js';
import { rescan } from './fleet-scan.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Risk acceptance (DESIGN.md "finding ... status accepted"): an operator accepts the risk of
 * findings — chosen by host or host tag, and advisory or CVE, optionally narrowed to packages —
 * with a reason and, optionally, an expiry. Accepted findings stay out of plans and of
 * `--fail-on`, are listed by `findings --status accepted`, and are the compliance report's
 * exceptions with who accepted them, when and why. An acceptance covers the findings that exist
 * when it is made (a host that gets the same CVE later has an open finding); it lasts across
 * re-scans and a withdrawal of the advisory, and ends when revoked (`unacceptRisk`), when it
 * expires (the next scan or scheduler pass: services/acceptance-expiry.ts), or when the host is
 * updated past the fix (the finding is fixed). Each is audited once, with the actor.
 */
export interface FindingSelection {
  /** Host (or image) names. */
  hosts?: readonly string[] | undefined;
  /** Host tags: every target with all of them. */
  tags?: readonly string[] | undefined;
  /** Advisory ids (any source). */
  advisories?: readonly string[] | undefined;
  /** CVE ids: the advisories naming them. */
  cves?: readonly string[] | undefined;
  /** Binary package names; absent: every package of the advisories. */
  packages?: readonly string[] | undefined;
}

/** A finding an acceptance changed, and its status before. */
export interface AcceptanceChange {
  host: string;
  advisorySource: string;
  advisoryId: string;
  package: string;
  arch: string;
  /** Its status before (`accepted` again: the reason and expiry were replaced). */
  was: string;
}

export interface AcceptanceResult {
  findings: AcceptanceChange[];
}

const CVE = /^CVE-\d{4}-\d{4,}$/i;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

async function resolve(db: Db, s: FindingSelection): Promise<AcceptanceSelection & { label: Record<string, unknown> }> {
  const hosts = [...new Set(s.hosts ?? [])];
  const tags = [...new Set(s.tags ?? [])];
  const advisories = [...new Set(s.advisories ?? [])];
  const cves = [...new Set((s.cves ?? []).map((c) => c.toUpperCase()))];
  if (hosts.length === 0 && tags.length === 0)
    throw new BulwarkError('usage', 'name the hosts: --host NAME or --tag TAG (an acceptance is never fleet-wide by default)');
  if (advisories.length === 0 && cves.length === 0) throw new BulwarkError('usage', 'name what is accepted: --advisory ID or --cve CVE-YYYY-NNNN');
  for (const c of cves) if (!CVE.test(c)) throw new BulwarkError('usage', `--cve: "${c}" is not a CVE id (CVE-YYYY-NNNN)`);
  for (const a of advisories) if (!ID.test(a)) throw new BulwarkError('usage', `--advisory: "${a}" is not an advisory id`);
  const targets = await listTargets(db);
  const missing = hosts.filter((h) => !targets.some((t) => t.name === h));
  if (missing.length > 0)
    throw new BulwarkError(
      'storage.not-found',
      missing
        .map(
          (n) =>
            `no host or image named "${n}"${didYouMean(
              n,
              targets.map((t) => t.name),
            )}`,
        )
        .join('; ') + ' (`bulwark hosts list` shows the hosts)',
      { targets: missing },
    );
  const ids = new Set(targets.filter((t) => hosts.includes(t.name)).map((t) => t.id));
  if (tags.length > 0) {
    const tagged = targets.filter((t) => tags.every((x) => t.tags.includes(x)));
    if (tagged.length === 0) throw new BulwarkError('storage.not-found', `no host has the tag${tags.length > 1 ? 's' : ''} ${tags.join(', ')}`);
    for (const t of tagged) ids.add(t.id);
  }
  const advisoryPks = await advisoryPksNamed(db, { ids: advisories, cves });
  if (advisoryPks.length === 0) throw new BulwarkError('storage.not-found', `no stored advisory is ${[...advisories, ...cves].join(' or ')} or names it`);
  const label = {
    ...(hosts.length > 0 ? { hosts } : {}),
    ...(tags.length > 0 ? { tags } : {}),
    ...(advisories.length > 0 ? { advisories } : {}),
    ...(cves.length > 0 ? { cves } : {}),
    ...(s.packages !== undefined && s.packages.length > 0 ? { packages: [...new Set(s.packages)] } : {}),
  };
  return { targetIds: [...ids], advisoryPks, ...(s.packages !== undefined && s.packages.length > 0 ? { packages: s.packages } : {}), label };
}

const change = (r: AcceptanceRow): AcceptanceChange => ({
  host: r.targetName,
  advisorySource: r.advisorySource,
  advisoryId: r.advisoryId,
  package: r.package,
  arch: r.arch,
  was: r.status,
});

/** `--until` as a time: a date alone is its end (UTC). */
function untilTime(until: string | Date | null | undefined): string | null {
  if (until === null || until === undefined) return null;
  if (until instanceof Date) return until.toISOString();
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(until) ? `${until}T23:59:59.000Z` : until);
  if (Number.isNaN(t)) throw new BulwarkError('usage', `--until: "${until}" is not an ISO 8601 date or time`);
  return new Date(t).toISOString();
}

/**
 * Accepts the risk of the open, no-fix (and already accepted: renewed) findings a selection
 * names, with a reason (required) and an expiry (`until`, in the future; null: until revoked).
 * Refuses a selection that names no such finding. Audited once as `finding.accept`.
 * @example await acceptRisk(db, { hosts: ['web-01'], cves: ['CVE-2024-6387'], reason: 'sshd not exposed (VPN only)', until: '2026-12-31', actor })
 */
export async function acceptRisk(
  db: Db,
  r: FindingSelection & { reason: string; until?: string | Date | null; actor: Actor },
  clock: Clock = systemClock,
): Promise<AcceptanceResult> {
  const now = clock();
  const reason = r.reason.trim();
  if (reason === '') throw new BulwarkError('usage', 'an acceptance needs a reason (--reason TEXT): the compliance report shows it');
  if (reason.length > 1024) throw new BulwarkError('usage', `--reason is ${String(reason.length)} characters; at most 1024`);
  const until = untilTime(r.until);
  if (until !== null && !(Date.parse(until) > now.getTime())) throw new BulwarkError('usage', `--until ${until} is not in the future`);
  const sel = await resolve(db, r);
  const by = actorLabel(r.actor);
  const at = now.toISOString();
  const rows = await transaction(db, async (tx) => {
    const found = await findingsSelected(tx, sel, ['open', 'no-fix', 'accepted']);
    if (found.length === 0) return found;
    await setAcceptance(
      tx,
      found.map((f) => f.pk),
      { reason, until, by, at },
    );
    await appendAudit(tx, {
      at,
      actor: by,
      action: 'finding.accept',
      subject: auditSubject(found),
      detail: {
        ...sel.label,
        reason,
        until,
        count: found.length,
        findings: found.slice(0, AUDIT_FINDINGS_LISTED).map((f) => ({ ...auditedFinding(f), was: f.status })),
      },
    });
    return found;
  });
  if (rows.length === 0)
    throw new BulwarkError('usage', 'no open, no-fix or accepted finding matches (`bulwark findings --status open --status no-fix` lists them)');
  return { findings: rows.map(change) };
}

/**
 * Revokes acceptances: the accepted findings a selection names (and withdrawn ones that were
 * accepted) get back the status the matcher gives them, and those hosts are matched again
 * against the advisories so the matcher's own notes return. Audited once as `finding.unaccept`.
 * @example await unacceptRisk(db, { hosts: ['web-01'], cves: ['CVE-2024-6387'], reason: 'VPN removed', actor })
 */
export async function unacceptRisk(
  db: Db,
  r: FindingSelection & { reason?: string | undefined; actor: Actor },
  clock: Clock = systemClock,
): Promise<AcceptanceResult> {
  const now = clock();
  const sel = await resolve(db, r);
  const reason = r.reason?.trim() ?? '';
  const by = actorLabel(r.actor);
  const rows = await transaction(db, async (tx) => {
    const found = await findingsSelected(tx, sel, ['accepted'], { acceptedWithdrawn: true });
    if (found.length === 0) return found;
    await endAcceptance(
      tx,
      found.map((f) => f.pk),
    );
    await appendAudit(tx, {
      at: now.toISOString(),
      actor: by,
      action: 'finding.unaccept',
      subject: auditSubject(found),
      detail: {
        ...sel.label,
        ...(reason !== '' ? { reason } : {}),
        count: found.length,
        findings: found.slice(0, AUDIT_FINDINGS_LISTED).map((f) => ({ ...auditedFinding(f), acceptedBy: f.acceptedBy, until: f.acceptedUntil })),
      },
    });
    return found;
  });
  if (rows.length === 0) throw new BulwarkError('usage', 'no accepted finding matches (`bulwark findings --status accepted` lists them)');
  await rematch(db, rows, clock);
  return { findings: rows.map(change) };
}

/** Matches the hosts of ended acceptances again against their advisories: the matcher's notes (`reason`) come back. */
async function rematch(db: Db, rows: readonly AcceptanceRow[], clock: Clock): Promise<void> {
  await rescan(db, { targets: [...new Set(rows.map((r) => r.targetId))], advisoryPks: [...new Set(rows.map((r) => r.advisoryPk))] }, { clock });
}

/**
 * The scheduler's pass over acceptances: ends those expired (audited as the actor), then matches
 * their hosts again. Returns how many ended.
 */
export async function endExpiredAcceptances(db: Db, actor: Actor, clock: Clock = systemClock): Promise<number> {
  const rows = await expireAcceptances(db, clock().toISOString(), actor);
  if (rows.length > 0) await rematch(db, rows, clock);
  return rows.length;
}
