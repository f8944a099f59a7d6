import { sql, type ExpressionBuilder } from 'kysely';
import { kx, type Dialect, type Executor } from '../database.js';
import type { Database } from '../schema.js';

export type RunStatus = 'running' | 'waiting' | 'paused' | 'cancelled' | 'halted' | 'done';
export type StepState = 'pending' | 'started' | 'done' | 'failed' | 'skipped';
/**
 * A host's steps, in the order a run makes them: precheck, pre hooks, snapshot hook, update,
 * restart, reboot, gates, post hooks, rescan, rollback (the last runs only after a failure).
 */
export type StepKind = 'precheck' | 'hook' | 'update' | 'restart' | 'reboot' | 'gate' | 'rescan' | 'rollback';

export interface NewStep {
  ringIndex: number;
  targetId: string;
  targetName: string;
  kind: StepKind;
  spec: Record<string, unknown>;
}

export interface RunStep extends NewStep {
  pk: number;
  seq: number;
  state: StepState;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  output: string | null;
  /** What the step learned on its host for later steps (migration 0044), or null. */
  facts: Record<string, unknown> | null;
}

export interface RunRow {
  pk: number;
  policy: string;
  planPk: number | null;
  status: RunStatus;
  failureThreshold: number;
  maxConcurrency: number;
  createdAt: string;
  updatedAt: string;
  note: string | null;
  soakHours: number;
  resumeAt: string | null;
}

/** Creates a run with all its steps, pending. Call inside a transaction. */
export async function createRunRow(
  on: Executor,
  r: { policy: string; planPk: number | null; failureThreshold: number; maxConcurrency: number; soakHours?: number; now: string },
  steps: readonly NewStep[],
): Promise<number> {
  const ex = kx(on);
  const { pk } = await ex
    .insertInto('runs')
    .values({
      policy: r.policy,
      plan_pk: r.planPk,
      status: 'running',
      failure_threshold: r.failureThreshold,
      max_concurrency: r.maxConcurrency,
      soak_hours: r.soakHours ?? 0,
      resume_at: null,
      created_at: r.now,
      updated_at: r.now,
      note: null,
    })
    .returning('pk')
    .executeTakeFirstOrThrow();
  const rows = steps.map((s, seq) => ({
    run_pk: pk,
    seq,
    ring_index: s.ringIndex,
    target_id: s.targetId,
    target_name: s.targetName,
    kind: s.kind,
    spec: JSON.stringify(s.spec),
    state: 'pending',
    attempts: 0,
    started_at: null,
    finished_at: null,
    exit_code: null,
    output: null,
    facts: null,
  }));
  for (let i = 0; i < rows.length; i += 500)
    await ex
      .insertInto('run_steps')
      .values(rows.slice(i, i + 500))
      .execute();
  return pk;
}

type RunsRecord = {
  pk: number;
  policy: string;
  plan_pk: number | null;
  status: string;
  failure_threshold: number;
  max_concurrency: number;
  created_at: string;
  updated_at: string;
  note: string | null;
  soak_hours: number;
  resume_at: string | null;
};
const toRun = (r: RunsRecord): RunRow => ({
  pk: r.pk,
  policy: r.policy,
  planPk: r.plan_pk,
  status: r.status as RunStatus,
  failureThreshold: r.failure_threshold,
  maxConcurrency: r.max_concurrency,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  note: r.note,
  soakHours: r.soak_hours,
  resumeAt: r.resume_at,
});

export async function getRun(on: Executor, pk: number): Promise<RunRow | null> {
  const ex = kx(on);
  const r = await ex.selectFrom('runs').selectAll().where('pk', '=', pk).executeTakeFirst();
  return r === undefined ? null : toRun(r);
}

/** Runs, newest first. */
export async function listRunRows(
  on: Executor,
  o: { policy?: string | undefined; status?: RunStatus | undefined; limit: number; offset: number },
): Promise<RunRow[]> {
  const ex = kx(on);
  let q = ex.selectFrom('runs').selectAll();
  if (o.policy !== undefined) q = q.where('policy', '=', o.policy);
  if (o.status !== undefined) q = q.where('status', '=', o.status);
  return (await q.orderBy('pk', 'desc').limit(o.limit).offset(o.offset).execute()).map(toRun);
}

export async function setRunStatus(
  on: Executor,
  pk: number,
  status: RunStatus,
  now: string,
  note: string | null = null,
  resumeAt: string | null = null,
): Promise<void> {
  const ex = kx(on);
  await ex
    .updateTable('runs')
    .set({ status, updated_at: now, resume_at: resumeAt, ...(note !== null ? { note } : {}) })
    .where('pk', '=', pk)
    .execute();
}

/** Runs waiting for their next ring whose time has come. */
export async function runsToResume(on: Executor, now: string): Promise<number[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('runs').select('pk').where('status', '=', 'waiting').where('resume_at', '<=', now).orderBy('pk').execute();
  return rows.map((r) => r.pk);
}

export async function listSteps(on: Executor, runPk: number): Promise<RunStep[]> {
  const ex = kx(on);
  const rows = await ex.selectFrom('run_steps').selectAll().where('run_pk', '=', runPk).orderBy('seq').execute();
  return rows.map((r) => ({
    pk: r.pk,
    seq: r.seq,
    ringIndex: r.ring_index,
    targetId: r.target_id,
    targetName: r.target_name,
    kind: r.kind as StepKind,
    spec: JSON.parse(r.spec) as Record<string, unknown>,
    state: r.state as StepState,
    attempts: r.attempts,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    exitCode: r.exit_code,
    output: r.output,
    facts: r.facts === null ? null : (JSON.parse(r.facts) as Record<string, unknown>),
  }));
}

/** Journal: the step is about to run (written and committed before anything is done). */
/**
 * A journal write's guard: it is made only while `holder` holds the lease `lease` (real time
 * `now`), so a process that stalled past its lease cannot overwrite what its successor wrote.
 */
export interface LeaseGuard {
  lease: string;
  holder: string;
  now: string;
}

// The guard as a subquery: the lease row held by the holder and not expired.
const leaseHeld = (eb: ExpressionBuilder<Database, 'run_steps'>, g: LeaseGuard) =>
  eb.selectFrom('leases').select('leases.name').where('leases.name', '=', g.lease).where('leases.holder', '=', g.holder).where('leases.expires_at', '>', g.now);

export async function markStepStarted(on: Executor, pk: number, now: string, guard?: LeaseGuard): Promise<boolean> {
  const ex = kx(on);
  const cur = await ex.selectFrom('run_steps').select('attempts').where('pk', '=', pk).executeTakeFirstOrThrow();
  const q = ex
    .updateTable('run_steps')
    .set({ state: 'started', attempts: cur.attempts + 1, started_at: now, finished_at: null })
    .where('pk', '=', pk);
  return Number((await (guard === undefined ? q : q.where((eb) => eb.exists(leaseHeld(eb, guard)))).executeTakeFirst()).numUpdatedRows) === 1;
}

/** Journal: the step ended (its output kept, capped). */
export async function markStepEnded(
  on: Executor,
  pk: number,
  state: 'done' | 'failed' | 'skipped',
  now: string,
  exitCode: number | null,
  output: string,
  guard?: LeaseGuard,
  facts?: Record<string, unknown>,
): Promise<boolean> {
  const ex = kx(on);
  const q = ex
    .updateTable('run_steps')
    .set({
      state,
      finished_at: now,
      exit_code: exitCode,
      output: output.length > 65536 ? `${output.slice(0, 65536)}\n…[truncated]` : output,
      ...(facts !== undefined ? { facts: JSON.stringify(facts) } : {}),
    })
    .where('pk', '=', pk);
  return Number((await (guard === undefined ? q : q.where((eb) => eb.exists(leaseHeld(eb, guard)))).executeTakeFirst()).numUpdatedRows) === 1;
}

/**
 * Targets with a step in a run that is not over — running, waiting out a soak, paused, or halted
 * (a halted run waits for an operator to resume or cancel it: its hosts are not planned again
 * meanwhile, or a failing host would get a new run every pass). With the run each is in.
 */
export async function busyTargetRuns(on: Executor): Promise<Map<string, { run: number; status: string }>> {
  const ex = kx(on);
  const rows = await ex
    .selectFrom('run_steps')
    .innerJoin('runs', 'runs.pk', 'run_steps.run_pk')
    .select(['run_steps.target_id', 'runs.pk', 'runs.status'])
    .distinct()
    .where('runs.status', 'in', ['running', 'waiting', 'paused', 'halted'])
    .execute();
  return new Map(rows.map((r) => [r.target_id, { run: r.pk, status: r.status }]));
}

/**
 * Where each ring of a policy's runs stands (ring index → when its last step ended, and whether a
 * run that is not over still has steps of it to do): the soak between rings counts from a ring's
 * end and holds across runs, and a ring still being patched (or halted) keeps the next one waiting.
 */
export async function ringHistory(on: Executor, policy: string): Promise<Map<number, { ended: string | null; open: boolean }>> {
  const ex = kx(on);
  const ended = await ex
    .selectFrom('run_steps')
    .innerJoin('runs', 'runs.pk', 'run_steps.run_pk')
    .select(['run_steps.ring_index', (eb) => eb.fn.max('run_steps.finished_at').as('ended')])
    .where('runs.policy', '=', policy)
    .where('run_steps.finished_at', 'is not', null)
    .groupBy('run_steps.ring_index')
    .execute();
  const open = await ex
    .selectFrom('run_steps')
    .innerJoin('runs', 'runs.pk', 'run_steps.run_pk')
    .select('run_steps.ring_index')
    .distinct()
    .where('runs.policy', '=', policy)
    .where('runs.status', 'in', ['running', 'waiting', 'paused', 'halted'])
    .where('run_steps.state', 'in', ['pending', 'started'])
    .execute();
  const out = new Map<number, { ended: string | null; open: boolean }>();
  for (const r of ended) if (r.ended !== null) out.set(r.ring_index, { ended: new Date(r.ended).toISOString(), open: false });
  for (const r of open) out.set(r.ring_index, { ended: out.get(r.ring_index)?.ended ?? null, open: true });
  return out;
}

/** PostgreSQL transaction lock taken before runs are created: two creators see each other's runs. */
const RUN_CREATE_LOCK_ID = 4_242_002;

/**
 * Inside the transaction that creates a run: which of `targetIds` are in a run not over. On
 * PostgreSQL the check is serialized by a transaction advisory lock; SQLite serializes writing
 * transactions itself (a creator whose read went stale cannot commit).
 */
export async function claimTargets(on: Executor, dialect: Dialect, targetIds: readonly string[]): Promise<Map<string, { run: number; status: string }>> {
  const ex = kx(on);
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${RUN_CREATE_LOCK_ID})`.execute(ex);
  const busy = await busyTargetRuns(ex);
  return new Map([...busy].filter(([id]) => targetIds.includes(id)));
}

/** The targets of busyTargetRuns. */
export async function busyTargets(on: Executor): Promise<string[]> {
  const ex = kx(on);
  return [...(await busyTargetRuns(ex)).keys()];
}

/** The runs that had steps on a target, newest first, with how its steps ended there. */
export async function runsOfTarget(
  on: Executor,
  targetId: string,
  limit = 50,
): Promise<{ run: number; policy: string; status: string; createdAt: string; steps: { kind: string; state: string; finishedAt: string | null }[] }[]> {
  const ex = kx(on);
  const steps = await ex
    .selectFrom('run_steps')
    .innerJoin('runs', 'runs.pk', 'run_steps.run_pk')
    .select([
      'run_steps.run_pk',
      'runs.policy',
      'runs.status',
      'runs.created_at',
      'run_steps.kind',
      'run_steps.state',
      'run_steps.finished_at',
      'run_steps.seq',
    ])
    .where('run_steps.target_id', '=', targetId)
    .orderBy('run_steps.run_pk', 'desc')
    .orderBy('run_steps.seq')
    .execute();
  const out = new Map<
    number,
    { run: number; policy: string; status: string; createdAt: string; steps: { kind: string; state: string; finishedAt: string | null }[] }
  >();
  for (const s of steps) {
    let r = out.get(s.run_pk);
    if (r === undefined) {
      if (out.size >= limit) break;
      r = { run: s.run_pk, policy: s.policy, status: s.status, createdAt: s.created_at, steps: [] };
      out.set(s.run_pk, r);
    }
    r.steps.push({ kind: s.kind, state: s.state, finishedAt: s.finished_at });
  }
  return [...out.values()];
}
