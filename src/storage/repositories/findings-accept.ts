import { sql } from 'kysely';
import { chunks } from '../chunk.js';
import { directStatement } from '../sqlite-direct.js';
import { kx, type Executor } from '../database.js';

/**
 * Risk acceptance in the store (`bulwark findings accept | unaccept`): an operator's acceptance
 * makes a finding `accepted` with its reason (in `reason`), who, when and until when
 * (`accepted_by`, `accepted_at`, `accepted_until`). Ending one — revoked, or expired — gives the
 * finding back the status the matcher gives it: `open` when a fix exists, `no-fix` when none
 * does (match.ts sets `fixed` exactly then); a withdrawn finding that was accepted keeps being
 * withdrawn, but comes back as that status instead of `accepted` (`closed_from`). The matcher's
 * own note in `reason` is written again by the next scan of the finding.
 */
export interface AcceptanceSelection {
  targetIds: readonly string[];
  advisoryPks: readonly number[];
  /** Binary package names; absent: every package of the advisories. */
  packages?: readonly string[];
}

/** A finding an acceptance names, with its host and advisory. */
export interface AcceptanceRow {
  pk: number;
  targetId: string;
  targetName: string;
  advisoryPk: number;
  advisorySource: string;
  advisoryId: string;
  package: string;
  arch: string;
  status: string;
  acceptedBy: string | null;
  acceptedUntil: string | null;
}

/** The advisories (by row id) whose id is one of `ids` or that name one of `cves`. */
export async function advisoryPksNamed(on: Executor, o: { ids: readonly string[]; cves: readonly string[] }): Promise<number[]> {
  const ex = kx(on);
  const out = new Set<number>();
  for (const c of chunks([...new Set(o.ids)], 1, 5000))
    for (const r of await ex.selectFrom('advisories').select('pk').where('advisory_id', 'in', c).execute()) out.add(r.pk);
  for (const c of chunks([...new Set(o.cves)], 1, 5000)) {
    for (const r of await ex.selectFrom('advisory_cves').select('advisory_pk').where('cve', 'in', c).execute()) out.add(r.advisory_pk);
    // An advisory whose own id is the CVE (OSV, NVD-style records).
    for (const r of await ex.selectFrom('advisories').select('pk').where('advisory_id', 'in', c).execute()) out.add(r.pk);
  }
  return [...out].sort((a, b) => a - b);
}

function baseQuery(on: Executor) {
  return kx(on)
    .selectFrom('findings')
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .select([
      'findings.pk',
      'findings.target_id as targetId',
      'targets.name as targetName',
      'findings.advisory_pk as advisoryPk',
      'advisories.source as advisorySource',
      'advisories.advisory_id as advisoryId',
      'findings.package',
      'findings.arch',
      'findings.status',
      'findings.accepted_by as acceptedBy',
      'findings.accepted_until as acceptedUntil',
    ]);
}

const order = (rows: AcceptanceRow[]): AcceptanceRow[] =>
  rows.sort(
    (a, b) => a.targetName.localeCompare(b.targetName) || a.advisoryId.localeCompare(b.advisoryId) || a.package.localeCompare(b.package) || a.pk - b.pk,
  );

/**
 * The findings of a selection in some of `statuses`; `acceptedWithdrawn` adds the withdrawn ones
 * that were accepted when they closed (their acceptance comes back with the advisory).
 */
export async function findingsSelected(
  on: Executor,
  sel: AcceptanceSelection,
  statuses: readonly string[],
  o: { acceptedWithdrawn?: boolean } = {},
): Promise<AcceptanceRow[]> {
  const out: AcceptanceRow[] = [];
  if (sel.targetIds.length === 0 || sel.advisoryPks.length === 0 || sel.packages?.length === 0) return out;
  for (const t of chunks([...new Set(sel.targetIds)], 1, 2000))
    for (const a of chunks([...new Set(sel.advisoryPks)], 1, 10_000)) {
      let q = baseQuery(on)
        .where('findings.target_id', 'in', t)
        .where('findings.advisory_pk', 'in', a)
        .where((eb) =>
          o.acceptedWithdrawn === true
            ? eb.or([
                eb('findings.status', 'in', [...statuses]),
                eb.and([eb('findings.status', '=', 'withdrawn'), eb('findings.closed_from', '=', 'accepted')]),
              ])
            : eb('findings.status', 'in', [...statuses]),
        );
      if (sel.packages !== undefined) q = q.where('findings.package', 'in', [...new Set(sel.packages)]);
      out.push(...(await q.execute()));
    }
  return order(out);
}

/** Accepted findings (and withdrawn ones that were accepted) whose acceptance ended at or before `now`. */
export async function expiredAcceptances(on: Executor, now: string): Promise<AcceptanceRow[]> {
  // Every scan asks this first, so it is a range of the accepted_until index alone: with a status
  // condition beside it SQLite walked the status index through every withdrawn finding (as long
  // as the re-scan of an agent report, in a store of 200,000 findings: bench/acceptance.bench.ts).
  const st = directStatement(on, 'select "pk", "status", "closed_from" from "findings" where "accepted_until" <= ?');
  const candidates =
    st !== null
      ? (st.all(now) as { pk: number; status: string; closed_from: string | null }[])
      : await kx(on).selectFrom('findings').select(['pk', 'status', 'closed_from']).where('accepted_until', '<=', now).execute();
  const pks = candidates.filter((r) => r.status === 'accepted' || (r.status === 'withdrawn' && r.closed_from === 'accepted')).map((r) => r.pk);
  const out: AcceptanceRow[] = [];
  for (const c of chunks(pks, 1, 5000)) out.push(...(await baseQuery(on).where('findings.pk', 'in', c).execute()));
  return order(out);
}

/** Makes findings `accepted`, with why, who, when and until when (null: until revoked). */
export async function setAcceptance(on: Executor, pks: readonly number[], a: { reason: string; until: string | null; by: string; at: string }): Promise<void> {
  const ex = kx(on);
  for (const c of chunks(pks, 1, 5000))
    await ex
      .updateTable('findings')
      .set({ status: 'accepted', reason: a.reason, accepted_until: a.until, accepted_by: a.by, accepted_at: a.at })
      .where('pk', 'in', c)
      .execute();
}

/**
 * Ends the acceptance of findings: an `accepted` one becomes `open` (a fix exists) or `no-fix`;
 * a withdrawn one that was accepted stays withdrawn and will come back as that status. The
 * acceptance's reason and who, when, until are cleared (the audit log keeps them).
 */
export async function endAcceptance(on: Executor, pks: readonly number[]): Promise<void> {
  const ex = kx(on);
  const matcherStatus = sql<string>`case when fixed is null then 'no-fix' else 'open' end`;
  const cleared = { reason: null, accepted_until: null, accepted_by: null, accepted_at: null };
  for (const c of chunks(pks, 1, 5000)) {
    await ex
      .updateTable('findings')
      .set({ ...cleared, status: matcherStatus })
      .where('pk', 'in', c)
      .where('status', '=', 'accepted')
      .execute();
    await ex
      .updateTable('findings')
      .set({ ...cleared, closed_from: matcherStatus })
      .where('pk', 'in', c)
      .where('status', '=', 'withdrawn')
      .where('closed_from', '=', 'accepted')
      .execute();
  }
}
