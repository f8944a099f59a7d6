import { kx, type Executor } from '../database.js';

export interface StoredPolicy {
  name: string;
  version: number;
  source: string;
  document: unknown;
  appliedAt: string;
}

/**
 * Stores a policy version: a new version when the text changed, nothing when it did not.
 * Returns the current version and whether it is new.
 */
export async function savePolicyVersion(
  on: Executor,
  name: string,
  source: string,
  document: unknown,
  now: string,
): Promise<{ version: number; created: boolean }> {
  const ex = kx(on);
  const last = await ex.selectFrom('policies').select(['version', 'source']).where('name', '=', name).orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (last !== undefined && last.source === source) return { version: last.version, created: false };
  const version = (last?.version ?? 0) + 1;
  await ex
    .insertInto('policies')
    .values({ name, version, source, document: JSON.stringify(document), applied_at: now })
    .execute();
  return { version, created: true };
}

/** The latest version of a policy (or the given one). */
export async function getPolicyVersion(on: Executor, name: string, version?: number): Promise<StoredPolicy | null> {
  const ex = kx(on);
  let q = ex.selectFrom('policies').selectAll().where('name', '=', name);
  q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
  const r = await q.executeTakeFirst();
  return r === undefined ? null : { name: r.name, version: r.version, source: r.source, document: JSON.parse(r.document) as unknown, appliedAt: r.applied_at };
}

/** Every policy's latest version. */
export async function listPolicyVersions(on: Executor): Promise<{ name: string; version: number; appliedAt: string }[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('policies').select(['name', 'version', 'applied_at']).orderBy('name').orderBy('version', 'desc').execute();
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.name) && seen.add(r.name)).map((r) => ({ name: r.name, version: r.version, appliedAt: r.applied_at }));
}

export async function savePlan(on: Executor, policy: string, policyVersion: number, plan: unknown, now: string): Promise<number> {
  const ex = kx(on);
  const r = await ex
    .insertInto('plans')
    .values({ policy, policy_version: policyVersion, created_at: now, plan: JSON.stringify(plan) })
    .returning('pk')
    .executeTakeFirstOrThrow();
  return r.pk;
}

/** The latest stored plan of a policy, optionally before a given plan. */
export async function latestPlan(on: Executor, policy: string, beforePk?: number): Promise<{ pk: number; createdAt: string; plan: unknown } | null> {
  const ex = kx(on);
  let q = ex.selectFrom('plans').selectAll().where('policy', '=', policy);
  if (beforePk !== undefined) q = q.where('pk', '<', beforePk);
  const r = await q.orderBy('pk', 'desc').limit(1).executeTakeFirst();
  return r === undefined ? null : { pk: r.pk, createdAt: r.created_at, plan: JSON.parse(r.plan) as unknown };
}

/** An operator's approval of, or hold on, an advisory under a policy. */
export interface Decision {
  pk: number;
  policy: string;
  advisoryId: string;
  kind: 'approve' | 'hold';
  reason: string;
  until: string | null;
  actor: string;
  createdAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

export async function addDecision(
  on: Executor,
  d: { policy: string; advisoryId: string; kind: 'approve' | 'hold'; reason: string; until: string | null; actor: string; now: string },
): Promise<number> {
  const ex = kx(on);
  const r = await ex
    .insertInto('decisions')
    .values({ policy: d.policy, advisory_id: d.advisoryId, kind: d.kind, reason: d.reason, until: d.until, actor: d.actor, created_at: d.now })
    .returning('pk')
    .executeTakeFirstOrThrow();
  return r.pk;
}

/** Revokes the active decisions of this kind on an advisory; returns how many. */
export async function revokeDecisions(on: Executor, policy: string, advisoryId: string, kind: 'approve' | 'hold', actor: string, now: string): Promise<number> {
  const ex = kx(on);
  const r = await ex
    .updateTable('decisions')
    .set({ revoked_at: now, revoked_by: actor })
    .where('policy', '=', policy)
    .where('advisory_id', '=', advisoryId)
    .where('kind', '=', kind)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Decisions not revoked and not expired at `now` (all of them, revoked and expired too, with `history`). */
export async function listDecisions(on: Executor, o: { policy?: string; now: string; history?: boolean }): Promise<Decision[]> {
  const ex = kx(on);
  let q = ex.selectFrom('decisions').selectAll();
  if (o.policy !== undefined) q = q.where('policy', '=', o.policy);
  const rows = await q.orderBy('pk').execute();
  const now = Date.parse(o.now);
  return (
    rows
      .map((r) => ({
        pk: r.pk,
        policy: r.policy,
        advisoryId: r.advisory_id,
        kind: r.kind,
        reason: r.reason,
        until: r.until,
        actor: r.actor,
        createdAt: r.created_at,
        revokedAt: r.revoked_at,
        revokedBy: r.revoked_by,
      }))
      // A date without a time lasts to the end of that day in the policy's own time zone, which the
      // plan knows: here it is kept until that day has ended everywhere.
      .filter(
        (d) =>
          o.history === true ||
          (d.revokedAt === null &&
            (d.until === null || (/^\d{4}-\d{2}-\d{2}$/.test(d.until) ? Date.parse(`${d.until}T00:00:00Z`) + 38 * 3_600_000 : Date.parse(d.until)) > now)),
      )
  );
}
