import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BulwarkError } from '../core/errors.js';
import { getRun, leaseHolder, listSteps, markStepEnded, markStepStarted, setRunStatus, type LeaseGuard, type RunRow, type RunStep } from '../storage/index.js';
import { acquireLease } from './lease.js';
import type { StepOutcome } from './run-safety.js';
import { runStep, type RunTransport } from './run-steps.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Executing a patch run (issue #5): ring by ring, with bounded concurrency, soaks and maintenance
 * windows, and a failure threshold that halts the rollout. Each step is committed to the journal
 * as started before it runs and as done or failed after, so a killed process resumes where it
 * stopped: finished steps are never run again; an interrupted one is run again.
 */
export interface RunReport {
  run: RunRow;
  steps: RunStep[];
  failedHosts: string[];
  /** Set when another process holds the run's lease (it is executing it). */
  heldBy?: string;
}

/** This process, as a lease holder. */
export const PROCESS_ID = `${hostname()}:${String(process.pid)}:${randomBytes(3).toString('hex')}`;

export interface ExecuteOptions {
  afterJournal?: (s: RunStep, phase: 'started' | 'ended') => void;
  /**
   * The run's lease (scale-out: one executor per run across processes). Held while executing,
   * renewed every third of `ttlMs` (default 15 s); a process that dies lets it expire, and another
   * takes the run over. `waitMs`: how long to wait for a lease someone else holds (default: its TTL
   * and a second, long enough for a dead holder's lease to run out; 0: do not wait).
   */
  lease?: { holder?: string; ttlMs?: number; waitMs?: number };
}

/**
 * Executes (or resumes) a run until it is done, halted, paused or cancelled, holding its lease;
 * when another live process holds the lease, returns the run as it is, with `heldBy`.
 * @example await executeRun(db, pk, transport)
 */
export async function executeRun(db: Db, runPk: number, t: RunTransport, clock: Clock = systemClock, hooks: ExecuteOptions = {}): Promise<RunReport> {
  const holder = hooks.lease?.holder ?? PROCESS_ID;
  const ttl = hooks.lease?.ttlMs ?? 15_000;
  const name = `run:${String(runPk)}`;
  const lease = await acquireLease(db, name, holder, { ttlMs: ttl, waitMs: hooks.lease?.waitMs ?? ttl + 1000 });
  if (lease === null) {
    const run = await getRun(db, runPk);
    if (run === null) throw new BulwarkError('usage', `no run ${String(runPk)}`);
    return { run, steps: await listSteps(db, runPk), failedHosts: [], heldBy: (await leaseHolder(db, name)) ?? 'another process' };
  }
  try {
    return await executeLeased(db, runPk, t, clock, hooks, lease.lost, { lease: name, holder });
  } finally {
    await lease.release();
  }
}

async function executeLeased(
  db: Db,
  runPk: number,
  t: RunTransport,
  clock: Clock,
  hooks: ExecuteOptions,
  leaseLost: () => boolean,
  held: { lease: string; holder: string },
): Promise<RunReport> {
  // Every journal write is made only while this process holds the run's lease; one refused means
  // another process has taken the run over, and this one stops.
  let refused = false;
  const guard = (): LeaseGuard => ({ ...held, now: new Date().toISOString() });
  const journaled = (ok: boolean): boolean => {
    if (!ok) refused = true;
    return ok;
  };
  const lost = (): boolean => refused || leaseLost();
  const run = await getRun(db, runPk);
  if (run === null) throw new BulwarkError('usage', `no run ${String(runPk)}`);
  if (run.status === 'waiting' && run.resumeAt !== null && Date.parse(run.resumeAt) <= clock().getTime()) {
    await setRunStatus(db, runPk, 'running', clock().toISOString());
    run.status = 'running';
  }
  if (run.status !== 'running') return { run, steps: await listSteps(db, runPk), failedHosts: [] };
  const all = await listSteps(db, runPk);
  const rings = [...new Set(all.map((s) => s.ringIndex))].sort((a, b) => a - b);
  // A lease lost (this process stalled past its TTL and another took the run) stops it too.
  const stillRunning = async (): Promise<boolean> => !lost() && (await getRun(db, runPk))?.status === 'running';
  let previousRingEnd: number | null = null;
  for (const ring of rings) {
    const ringSteps = all.filter((s) => s.ringIndex === ring);
    const open = ringSteps.some((s) => s.state === 'pending' || s.state === 'started');
    // Soak: a ring starts only `soakHours` after the previous ring ended (its last host
    // finished): a soak is time the finished ring runs patched before the next one is touched,
    // so a ring that takes 20 h of a 24 h soak must not leave the next 4 h. Until then the run
    // waits, and the scheduler resumes it (the process need not stay up for a day).
    if (open && previousRingEnd !== null && run.soakHours > 0) {
      const resumeAt = previousRingEnd + run.soakHours * 3_600_000;
      if (clock().getTime() < resumeAt) {
        await setRunStatus(
          db,
          runPk,
          'waiting',
          clock().toISOString(),
          `ring ${String(ring)} starts after the soak, at ${new Date(resumeAt).toISOString()}`,
          new Date(resumeAt).toISOString(),
        );
        break;
      }
    }
    // A ring whose hosts' window has not opened yet waits for it (after a soak that ended early).
    const opens = ringSteps
      .filter((s) => s.kind === 'precheck' && s.state === 'pending' && typeof s.spec['start'] === 'string')
      .map((s) => Date.parse(s.spec['start'] as string));
    if (open && opens.length > 0 && clock().getTime() < Math.min(...opens)) {
      const at = new Date(Math.min(...opens)).toISOString();
      await setRunStatus(db, runPk, 'waiting', clock().toISOString(), `ring ${String(ring)} starts in its maintenance window, at ${at}`, at);
      break;
    }
    const hosts = [...new Set(ringSteps.map((s) => s.targetId))];
    let next = 0;
    // Once the ring's failures pass the threshold the run halts whatever the rest do: no more
    // of its hosts are begun (a ring of 1,000 does not go on after 500 failures).
    const doomed = (): boolean =>
      hosts.filter((h) => all.some((s) => s.targetId === h && s.ringIndex === ring && s.state === 'failed')).length / hosts.length > run.failureThreshold;
    const worker = async (): Promise<void> => {
      for (;;) {
        const host = hosts[next++];
        if (host === undefined) return;
        const steps = all.filter((s) => s.targetId === host && s.ringIndex === ring);
        // A host already begun is carried on even so (a rollback a killed process left started
        // must still run); one not begun is left.
        if (doomed() && steps.every((s) => s.state === 'pending')) continue;
        // A host not begun when its window has ended is left for the next window: never started late.
        const first = steps.find((s) => s.kind === 'precheck');
        const windowEnd = typeof first?.spec['windowEnd'] === 'string' ? Date.parse(first.spec['windowEnd']) : null;
        if (first?.state === 'pending' && windowEnd !== null && clock().getTime() >= windowEnd) {
          for (const rest of steps.filter((x) => x.state === 'pending')) {
            if (
              !journaled(
                await markStepEnded(
                  db,
                  rest.pk,
                  'skipped',
                  clock().toISOString(),
                  null,
                  `skipped: the maintenance window ended at ${new Date(windowEnd).toISOString()} before this host began`,
                  guard(),
                ),
              )
            )
              return;
            rest.state = 'skipped';
          }
          continue;
        }
        // The first failed step, from this process or one before it: the host's remaining steps are
        // skipped, but for a rollback when the failure came once the host could have changed.
        let failed = steps.find((x) => x.state === 'failed');
        for (const s of steps) {
          if (s.state !== 'pending' && s.state !== 'started') continue;
          const skip = skipReason(s, failed, steps);
          if (skip !== null) {
            if (!journaled(await markStepEnded(db, s.pk, 'skipped', clock().toISOString(), null, skip, guard()))) return;
            s.state = 'skipped';
            continue;
          }
          if (!(await stillRunning())) return;
          // A step found started was begun by a process that died: when, for a reboot's sake.
          const previousStart = s.state === 'started' ? s.startedAt : null;
          if (!journaled(await markStepStarted(db, s.pk, clock().toISOString(), guard()))) return;
          s.state = 'started';
          hooks.afterJournal?.(s, 'started');
          let outcome: StepOutcome;
          try {
            outcome = await runStep(t, s, previousStart, steps);
          } catch (err) {
            outcome = { ok: false, result: { code: null, stdout: '', stderr: err instanceof Error ? err.message : String(err) } };
          }
          const state = outcome.ok ? 'done' : 'failed';
          if (
            !journaled(
              await markStepEnded(
                db,
                s.pk,
                state,
                clock().toISOString(),
                outcome.result.code,
                `${outcome.result.stdout}${outcome.result.stderr === '' ? '' : `\n[stderr]\n${outcome.result.stderr}`}`,
                guard(),
                outcome.facts,
              ),
            )
          )
            return;
          s.state = state;
          if (outcome.facts !== undefined) s.facts = outcome.facts;
          hooks.afterJournal?.(s, 'ended');
          // It counts against the ring's threshold (a failed rollback too).
          if (!outcome.ok) failed ??= s;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(run.maxConcurrency, hosts.length)) }, worker));
    // When this ring ended: its last journaled step end (possibly by an earlier process, when
    // this one resumes a run whose ring finished before).
    const endTimes = (await listSteps(db, runPk)).filter((s) => s.ringIndex === ring && s.finishedAt !== null).map((s) => Date.parse(s.finishedAt ?? ''));
    previousRingEnd = endTimes.length > 0 ? Math.max(...endTimes) : clock().getTime();
    if (!(await stillRunning())) break;
    const failed = hosts.filter((h) => all.some((s) => s.targetId === h && s.ringIndex === ring && s.state === 'failed'));
    if (hosts.length > 0 && failed.length / hosts.length > run.failureThreshold) {
      await setRunStatus(
        db,
        runPk,
        'halted',
        clock().toISOString(),
        `ring ${String(ring)}: ${String(failed.length)} of ${String(hosts.length)} hosts failed (threshold ${String(run.failureThreshold)})`,
      );
      break;
    }
  }
  if (await stillRunning()) await setRunStatus(db, runPk, 'done', clock().toISOString());
  const steps = await listSteps(db, runPk);
  const final = await getRun(db, runPk);
  if (final === null) throw new BulwarkError('internal', `run ${String(runPk)} vanished`);
  return { run: final, steps, failedHosts: [...new Set(steps.filter((s) => s.state === 'failed').map((s) => s.targetName))].sort() };
}

/** The kinds of step after which a host may have changed: a rollback is due when one of them, or a later one, failed. */
const CHANGES_HOST = new Set<RunStep['kind']>(['update', 'restart', 'reboot', 'gate', 'rescan']);

/**
 * Why a pending step is skipped, or null when it runs: after a failure every step is skipped but
 * a rollback, which runs when the failure came at or after the update (a failed precheck or pre
 * hook changed nothing); with no failure a rollback is not needed.
 */
function skipReason(s: RunStep, failed: RunStep | undefined, host: readonly RunStep[]): string | null {
  if (s.kind !== 'rollback') return failed === undefined ? null : `skipped: ${failed.kind} failed`;
  if (failed === undefined) return 'skipped: not needed, every step succeeded';
  const update = host.find((x) => x.kind === 'update');
  const changed =
    CHANGES_HOST.has(failed.kind) || (failed.kind === 'hook' && failed.spec['phase'] === 'post') || (update !== undefined && failed.seq > update.seq);
  return changed ? null : `skipped: ${failed.kind} failed before the update, nothing changed`;
}
