import { chunks } from '../chunk.js';
import { kx, type Executor } from '../database.js';

/**
 * What compliance reports read (issue #18 item 3): findings with their target and advisory, the
 * deadline profiles operators edited, and the runs, plans and closed findings of one host for
 * the evidence of a period. Reads only, except the profiles.
 */
export interface ComplianceFindingRow {
  pk: number;
  targetId: string;
  targetName: string;
  release: string | null;
  tags: string[];
  source: string;
  advisoryId: string;
  package: string;
  installed: string;
  fixed: string | null;
  severity: string;
  status: string;
  reason: string | null;
  firstSeen: string;
  closedAt: string | null;
  acceptedUntil: string | null;
  acceptedBy: string | null;
  acceptedAt: string | null;
  publishedAt: string | null;
  cvssScore: number | null;
  cves: string[];
}

/** Findings first seen before `before` (every status), with their target and advisory. */
export async function complianceFindings(on: Executor, o: { before: string; targetId?: string }): Promise<ComplianceFindingRow[]> {
  const ex = kx(on);
  let q = ex
    .selectFrom('findings')
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .innerJoin('advisories', 'advisories.pk', 'findings.advisory_pk')
    .select([
      'findings.pk',
      'findings.target_id',
      'targets.name as target_name',
      'targets.release_id',
      'targets.tags',
      'advisories.source',
      'advisories.advisory_id',
      'advisories.published_at',
      'advisories.cvss_score',
      'findings.advisory_pk',
      'findings.package',
      'findings.installed',
      'findings.fixed',
      'findings.severity',
      'findings.status',
      'findings.reason',
      'findings.first_seen_at',
      'findings.closed_at',
      'findings.accepted_until',
      'findings.accepted_by',
      'findings.accepted_at',
    ])
    .where('findings.first_seen_at', '<', o.before);
  if (o.targetId !== undefined) q = q.where('findings.target_id', '=', o.targetId);
  const rows = await q.orderBy('findings.pk').execute();
  const cves = new Map<number, string[]>();
  const pks = [...new Set(rows.map((r) => r.advisory_pk))];
  for (const c of chunks(pks, 1, 5000)) {
    for (const r of await ex.selectFrom('advisory_cves').select(['advisory_pk', 'cve']).where('advisory_pk', 'in', c).orderBy('cve').execute()) {
      const l = cves.get(r.advisory_pk) ?? [];
      l.push(r.cve);
      cves.set(r.advisory_pk, l);
    }
  }
  return rows.map((r) => ({
    pk: r.pk,
    targetId: r.target_id,
    targetName: r.target_name,
    release: r.release_id,
    tags: JSON.parse(r.tags) as string[],
    source: r.source,
    advisoryId: r.advisory_id,
    package: r.package,
    installed: r.installed,
    fixed: r.fixed,
    severity: r.severity,
    status: r.status,
    reason: r.reason,
    firstSeen: r.first_seen_at,
    closedAt: r.closed_at,
    acceptedUntil: r.accepted_until,
    acceptedBy: r.accepted_by,
    acceptedAt: r.accepted_at,
    publishedAt: r.published_at,
    cvssScore: r.cvss_score,
    cves: cves.get(r.advisory_pk) ?? [],
  }));
}

/** KEV-listed CVEs with their due dates (entries CISA removed too: they were listed when due). */
export async function kevDueDates(on: Executor): Promise<Map<string, string>> {
  const rows = await kx(on).selectFrom('kev_entries').select(['cve', 'due_date']).execute();
  return new Map(rows.map((r) => [r.cve, r.due_date]));
}

export interface StoredProfile {
  name: string;
  document: unknown;
  updatedAt: string;
  updatedBy: string;
}

export async function listStoredProfiles(on: Executor): Promise<StoredProfile[]> {
  const rows = await kx(on).selectFrom('deadline_profiles').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, document: JSON.parse(r.document) as unknown, updatedAt: r.updated_at, updatedBy: r.updated_by }));
}

export async function saveProfile(on: Executor, p: { name: string; document: unknown; now: string; actor: string }): Promise<void> {
  const values = { name: p.name, document: JSON.stringify(p.document), updated_at: p.now, updated_by: p.actor };
  await kx(on)
    .insertInto('deadline_profiles')
    .values(values)
    .onConflict((oc) => oc.column('name').doUpdateSet({ document: values.document, updated_at: values.updated_at, updated_by: values.updated_by }))
    .execute();
}

export async function deleteProfile(on: Executor, name: string): Promise<boolean> {
  const r = await kx(on).deleteFrom('deadline_profiles').where('name', '=', name).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export interface EvidenceStep {
  run: number;
  policy: string;
  status: string;
  planPk: number | null;
  createdAt: string;
  kind: string;
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  spec: Record<string, unknown>;
}

/** A target's run steps of runs created before `before` whose steps ran (or were planned) at or after `from`. */
export async function targetSteps(on: Executor, targetId: string, from: string, before: string): Promise<EvidenceStep[]> {
  const rows = await kx(on)
    .selectFrom('run_steps')
    .innerJoin('runs', 'runs.pk', 'run_steps.run_pk')
    .select([
      'runs.pk',
      'runs.policy',
      'runs.status',
      'runs.plan_pk',
      'runs.created_at',
      'run_steps.kind',
      'run_steps.state',
      'run_steps.started_at',
      'run_steps.finished_at',
      'run_steps.exit_code',
      'run_steps.spec',
    ])
    .where('run_steps.target_id', '=', targetId)
    .where('runs.created_at', '<', before)
    .where('runs.updated_at', '>=', from)
    .orderBy('runs.pk')
    .orderBy('run_steps.seq')
    .execute();
  return rows.map((r) => ({
    run: r.pk,
    policy: r.policy,
    status: r.status,
    planPk: r.plan_pk,
    createdAt: r.created_at,
    kind: r.kind,
    state: r.state,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    exitCode: r.exit_code,
    spec: JSON.parse(r.spec) as Record<string, unknown>,
  }));
}

/** A stored plan's JSON by its pk. */
export async function planByPk(on: Executor, pk: number): Promise<unknown> {
  const r = await kx(on).selectFrom('plans').select('plan').where('pk', '=', pk).executeTakeFirst();
  return r === undefined ? null : (JSON.parse(r.plan) as unknown);
}

/** Audit entries of some actions in a period, oldest first. */
export async function auditBetween(
  on: Executor,
  actions: readonly string[],
  from: string,
  before: string,
): Promise<{ at: string; actor: string; action: string; subject: string; detail: Record<string, unknown> }[]> {
  const rows = await kx(on)
    .selectFrom('audit')
    .selectAll()
    .where('action', 'in', [...actions])
    .where('at', '>=', from)
    .where('at', '<', before)
    .orderBy('pk')
    .execute();
  return rows.map((r) => ({ at: r.at, actor: r.actor, action: r.action, subject: r.subject, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}
