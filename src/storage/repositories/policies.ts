import type { Executor } from '../database.js';

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
export async function savePolicyVersion(ex: Executor, name: string, source: string, document: unknown, now: string): Promise<{ version: number; created: boolean }> {
  const last = await ex.selectFrom('policies').select(['version', 'source']).where('name', '=', name).orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (last !== undefined && last.source === source) return { version: last.version, created: false };
  const version = (last?.version ?? 0) + 1;
  await ex.insertInto('policies').values({ name, version, source, document: JSON.stringify(document), applied_at: now }).execute();
  return { version, created: true };
}

/** The latest version of a policy (or the given one). */
export async function getPolicyVersion(ex: Executor, name: string, version?: number): Promise<StoredPolicy | null> {
  let q = ex.selectFrom('policies').selectAll().where('name', '=', name);
  q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
  const r = await q.executeTakeFirst();
  return r === undefined ? null : { name: r.name, version: r.version, source: r.source, document: JSON.parse(r.document) as unknown, appliedAt: r.applied_at };
}

/** Every policy's latest version. */
export async function listPolicyVersions(ex: Executor): Promise<{ name: string; version: number; appliedAt: string }[]> {
  const rows = await ex.selectFrom('policies').select(['name', 'version', 'applied_at']).orderBy('name').orderBy('version', 'desc').execute();
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.name) && seen.add(r.name)).map((r) => ({ name: r.name, version: r.version, appliedAt: r.applied_at }));
}

export async function savePlan(ex: Executor, policy: string, policyVersion: number, plan: unknown, now: string): Promise<number> {
  const r = await ex.insertInto('plans').values({ policy, policy_version: policyVersion, created_at: now, plan: JSON.stringify(plan) }).returning('pk').executeTakeFirstOrThrow();
  return r.pk;
}

/** The latest stored plan of a policy, optionally before a given plan. */
export async function latestPlan(ex: Executor, policy: string, beforePk?: number): Promise<{ pk: number; createdAt: string; plan: unknown } | null> {
  let q = ex.selectFrom('plans').selectAll().where('policy', '=', policy);
  if (beforePk !== undefined) q = q.where('pk', '<', beforePk);
  const r = await q.orderBy('pk', 'desc').limit(1).executeTakeFirst();
  return r === undefined ? null : { pk: r.pk, createdAt: r.created_at, plan: JSON.parse(r.plan) as unknown };
}
