import { BulwarkError } from '../core/errors.js';
import type { Plan } from '../policy/plan.js';
import {
  claimTargets,
  createRunRow,
  getRun,
  listRunRows,
  listSteps,
  tryLease,
  setRunStatus,
  transaction,
  type NewStep,
  type RunRow,
  type RunStep,
} from '../storage/index.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { PROCESS_ID } from './run-execute.js';
import { stepsOfEntry } from './run-plan-steps.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Patch runs (issue #5): a plan becomes a journaled list of steps per host — precheck, update
 * to the exact planned versions, reboot when the plan says so, re-scan — executed ring by ring
 * with bounded concurrency and a failure threshold that halts the rollout. Each step is
 * committed to the journal as started before it runs and as done or failed after, so a killed
 * process resumes where it stopped: finished steps are never run again; an interrupted one is
 * run again (every step is idempotent: installing an exact version already installed is
 * "nothing to do").
 *
 * This file starts runs, changes their state and reads them; how a step reaches a host is in
 * run-steps.ts, the executor (leases, rings, the journal) in run-execute.ts. Callers import all
 * of it from here.
 */
export type { CommandResult, RunTransport } from './run-steps.js';
export { executeRun, PROCESS_ID, type ExecuteOptions, type RunReport } from './run-execute.js';

/**
 * The steps of a plan's approved entries, ring by ring.
 * @example const pk = await createRun(db, 'azl3-prod', plan, null, { failureThreshold: 0.2, maxConcurrency: 5 })
 */
export async function createRun(
  db: Db,
  policy: string,
  plan: Plan,
  planPk: number | null,
  o: { failureThreshold: number; maxConcurrency: number; soakHours?: number; holder?: string; ignoreWindows?: boolean },
  clock: Clock = systemClock,
): Promise<number> {
  const steps: NewStep[] = [];
  const entries = plan.entries.filter((e) => e.approval === 'approved').sort((a, b) => a.ringIndex - b.ringIndex || a.target.localeCompare(b.target));
  if (entries.length === 0) throw new BulwarkError('usage', `the plan of ${policy} has no approved host to patch`);
  for (const e of entries) steps.push(...stepsOfEntry(plan, e, o));
  // The creator holds the new run's lease from the start: no other process takes it for an
  // orphan before its executor begins.
  return transaction(db, async (tx) => {
    // A host is in one run at a time, whoever starts them (scheduler, CLI, API) and however many at once.
    const clash = await claimTargets(
      tx,
      db.dialect,
      entries.map((e) => e.targetId),
    );
    if (clash.size > 0)
      throw new BulwarkError(
        'storage.conflict',
        `${entries
          .filter((e) => clash.has(e.targetId))
          .map((e) => `${e.target} (in run ${String(clash.get(e.targetId)?.run)}, ${clash.get(e.targetId)?.status ?? ''})`)
          .join(', ')}: already in a run that is not over (resume or cancel it first)`,
      );
    const pk = await createRunRow(
      tx,
      { policy, planPk, failureThreshold: o.failureThreshold, maxConcurrency: o.maxConcurrency, soakHours: o.soakHours ?? 0, now: clock().toISOString() },
      steps,
    );
    await tryLease(tx, `run:${String(pk)}`, o.holder ?? PROCESS_ID, new Date().toISOString(), new Date(Date.now() + 15_000).toISOString());
    return pk;
  });
}

/**
 * Pause, resume (back to running) or cancel a run, audited as `run.<action>`; a running executor
 * stops before its next step.
 */
export async function setRunState(
  db: Db,
  runPk: number,
  action: 'pause' | 'resume' | 'cancel',
  actor: Actor = SYSTEM,
  clock: Clock = systemClock,
): Promise<RunRow> {
  const run = await getRun(db, runPk);
  if (run === null) throw new BulwarkError('storage.not-found', `no run ${String(runPk)}`);
  const allowed: Record<typeof action, readonly string[]> = {
    pause: ['running', 'waiting'],
    resume: ['paused'],
    cancel: ['running', 'waiting', 'paused', 'halted'],
  };
  if (!allowed[action].includes(run.status)) throw new BulwarkError('usage', `run ${String(runPk)} is ${run.status}: cannot ${action} it`);
  await setRunStatus(db, runPk, action === 'pause' ? 'paused' : action === 'resume' ? 'running' : 'cancelled', clock().toISOString());
  await recordAudit(db, actor, `run.${action}`, String(runPk), { policy: run.policy }, clock);
  const r = await getRun(db, runPk);
  if (r === null) throw new BulwarkError('internal', 'run vanished');
  return r;
}

/**
 * Marks a run to be resumed by its caller (`bulwark run resume`), audited as `run.resume`: a
 * paused run goes back to running; one a killed process left running or waiting stays as it is.
 */
export async function resumeRun(db: Db, runPk: number, actor: Actor, clock: Clock = systemClock): Promise<RunRow> {
  const run = await getRun(db, runPk);
  if (run === null) throw new BulwarkError('storage.not-found', `no run ${String(runPk)}`);
  if (run.status === 'paused') await setRunStatus(db, runPk, 'running', clock().toISOString());
  await recordAudit(db, actor, 'run.resume', String(runPk), { policy: run.policy }, clock);
  return (await getRun(db, runPk)) ?? run;
}

/** A run with its steps, for `bulwark run show`. */
export async function showRun(db: Db, runPk: number): Promise<{ run: RunRow; steps: RunStep[] }> {
  const run = await getRun(db, runPk);
  if (run === null) throw new BulwarkError('storage.not-found', `no run ${String(runPk)}`);
  return { run, steps: await listSteps(db, runPk) };
}

export function listRuns(
  db: Db,
  o: { policy?: string | undefined; status?: RunRow['status'] | undefined; limit?: number; offset?: number } = {},
): Promise<RunRow[]> {
  return listRunRows(db, { policy: o.policy, status: o.status, limit: o.limit ?? 100, offset: o.offset ?? 0 });
}
