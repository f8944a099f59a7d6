import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BulwarkError } from '../core/errors.js';
import { availableArgv, installedArgv, precheckArgv, readAvailable, readInstalled, readPrecheck, refreshArgv, resolveTargets, sourceArgv, updateArgv, type CommandOptions, type PackageManager, type Target } from '../executor/commands.js';
import { versionScheme } from '../core/version/registry.js';
import type { Plan } from '../policy/plan.js';
import { claimTargets, createRunRow, getRun, leaseHolder, listRunRows, listSteps, tryLease, markStepEnded, markStepStarted, setRunStatus, transaction, type LeaseGuard, type NewStep, type RunRow, type RunStep } from '../storage/index.js';
import { acquireLease } from './lease.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Patch runs (issue #5): a plan becomes a journaled list of steps per host — precheck, update
 * to the exact planned versions, reboot when the plan says so, re-scan — executed ring by ring
 * with bounded concurrency and a failure threshold that halts the rollout. Each step is
 * committed to the journal as started before it runs and as done or failed after, so a killed
 * process resumes where it stopped: finished steps are never run again; an interrupted one is
 * run again (every step is idempotent: installing an exact version already installed is
 * "nothing to do").
 */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How steps reach a host: its package manager, a way to run argv there, reboot and re-scan. */
export interface RunTransport {
  packageManager(targetId: string): Promise<PackageManager>;
  /** Extra manager arguments for this host (an installroot, repositories) — validated by the transport. */
  managerOptions(targetId: string): Promise<{ installroot?: string; extra?: readonly string[] }>;
  exec(targetId: string, argv: readonly string[]): Promise<CommandResult>;
  /**
   * Reboots the host and waits for it to come back. `since`: the step was begun before (its
   * process died) at that time — a host booted since then is not rebooted again.
   */
  reboot(targetId: string, o?: { since?: string }): Promise<CommandResult>;
  rescan(targetId: string): Promise<CommandResult>;
}

/**
 * The steps of a plan's approved entries, ring by ring.
 * @example const pk = await createRun(db, 'azl3-prod', plan, null, { failureThreshold: 0.2, maxConcurrency: 5 })
 */
export async function createRun(db: Db, policy: string, plan: Plan, planPk: number | null, o: { failureThreshold: number; maxConcurrency: number; soakHours?: number; holder?: string; ignoreWindows?: boolean }, clock: Clock = systemClock): Promise<number> {
  const steps: NewStep[] = [];
  const entries = plan.entries.filter((e) => e.approval === 'approved').sort((a, b) => a.ringIndex - b.ringIndex || a.target.localeCompare(b.target));
  if (entries.length === 0) throw new BulwarkError('usage', `the plan of ${policy} has no approved host to patch`);
  for (const e of entries) {
    const packages = e.packages.map((p) => ({ name: p.name, version: p.to, ...(p.pin !== undefined ? { pin: p.pin } : {}) }));
    const base = { ringIndex: e.ringIndex, targetId: e.targetId, targetName: e.target };
    // A policy patching from a content view names the repository hosts know it by.
    const repo = plan.source?.repoId ?? null;
    // The host's maintenance window: it starts no earlier, and not at all once the window has
    // ended (it is planned again for the next one). Emergency work has none.
    const window = e.emergency || e.window === null || o.ignoreWindows === true ? {} : { start: e.start, ...(e.windowEnd !== null ? { windowEnd: e.windowEnd } : {}) };
    const exclude = plan.exclude !== undefined && plan.exclude.length > 0 ? { exclude: plan.exclude } : {};
    steps.push({ ...base, kind: 'precheck', spec: { packages, ...(repo !== null ? { repo } : {}), ...exclude, ...window } });
    steps.push({ ...base, kind: 'update', spec: { packages, ...(repo !== null ? { repo } : {}), ...exclude } });
    if (e.reboot) steps.push({ ...base, kind: 'reboot', spec: {} });
    steps.push({ ...base, kind: 'rescan', spec: {} });
  }
  // The creator holds the new run's lease from the start: no other process takes it for an
  // orphan before its executor begins.
  return transaction(db, async (tx) => {
    // A host is in one run at a time, whoever starts them (scheduler, CLI, API) and however many at once.
    const clash = await claimTargets(tx, db.dialect, entries.map((e) => e.targetId));
    if (clash.size > 0) throw new BulwarkError('storage.conflict', `${entries.filter((e) => clash.has(e.targetId)).map((e) => `${e.target} (in run ${String(clash.get(e.targetId)?.run)}, ${clash.get(e.targetId)?.status ?? ''})`).join(', ')}: already in a run that is not over (resume or cancel it first)`);
    const pk = await createRunRow(tx, { policy, planPk, failureThreshold: o.failureThreshold, maxConcurrency: o.maxConcurrency, soakHours: o.soakHours ?? 0, now: clock().toISOString() }, steps);
    await tryLease(tx, `run:${String(pk)}`, o.holder ?? PROCESS_ID, new Date().toISOString(), new Date(Date.now() + 15_000).toISOString());
    return pk;
  });
}

/**
 * The versions to install on this host (resolveTargets): what it has installed now and what its
 * repositories offer, read with its own package manager (apt-cache, dnf repoquery; tdnf: the
 * planned versions as they are). A package already at or above its planned version is left out.
 */
async function resolveOnHost(t: RunTransport, targetId: string, pm: PackageManager, packages: readonly Target[], options: CommandOptions, fromView: boolean): Promise<{ targets: Target[]; notes: string }> {
  const names = packages.map((p) => p.name);
  const argv = availableArgv(pm, names, options);
  const installedQuery = installedArgv(pm, names, options);
  if (argv === null || installedQuery === null) return { targets: [...packages], notes: '' };
  // apt-cache exits 100 when a name is unknown: the others' versions are still listed.
  const available = readAvailable(pm, (await t.exec(targetId, argv)).stdout);
  const installed = readInstalled(pm, (await t.exec(targetId, installedQuery)).stdout);
  const scheme = versionScheme(pm === 'apt' ? 'deb' : 'rpm');
  const r = resolveTargets(packages, available, (a, b) => scheme.compare(a, b), { installed, basis: fromView ? 'build' : 'fix' });
  return { targets: r.targets, notes: [...r.current.map((c) => `already: ${c}\n`), ...r.changed.map((c) => `resolved: ${c}\n`)].join('') };
}

async function runStep(t: RunTransport, s: RunStep, previousStart: string | null): Promise<{ ok: boolean; result: CommandResult }> {
  const packages = (s.spec['packages'] ?? []) as Target[];
  const repo = typeof s.spec['repo'] === 'string' ? s.spec['repo'] : null;
  const exclude = Array.isArray(s.spec['exclude']) ? (s.spec['exclude'] as string[]) : [];
  const optionsFor = async (pm: PackageManager): Promise<CommandOptions> => {
    const o = await t.managerOptions(s.targetId);
    const only = sourceArgv(pm, repo);
    return { ...(only.length === 0 ? o : { ...o, extra: [...(o.extra ?? []), ...only] }), ...(exclude.length > 0 ? { exclude } : {}) };
  };
  switch (s.kind) {
    case 'precheck': {
      const pm = await t.packageManager(s.targetId);
      const options = await optionsFor(pm);
      const refresh = refreshArgv(pm, options);
      let refreshed = '';
      if (refresh !== null) {
        const u = await t.exec(s.targetId, refresh);
        if (u.code !== 0) return { ok: false, result: { ...u, stdout: `refreshing the package lists failed\n${u.stdout}` } };
        refreshed = `${refresh.join(' ')}:\n${u.stdout}\n`;
      }
      const resolved = await resolveOnHost(t, s.targetId, pm, packages, options, repo !== null);
      if (resolved.targets.length === 0) return { ok: true, result: { code: 0, stdout: `every package is at or above its planned version\n${resolved.notes}${refreshed}`, stderr: '' } };
      const r = await t.exec(s.targetId, precheckArgv(pm, resolved.targets, options));
      const read = readPrecheck(pm, r.code, r.stdout, r.stderr, { exclude });
      return { ok: read.ok, result: { ...r, stdout: `${read.message}\n${resolved.notes}${refreshed}${r.stdout}` } };
    }
    case 'update': {
      const pm = await t.packageManager(s.targetId);
      const options = await optionsFor(pm);
      // The same resolution as the precheck's: the lists were refreshed there.
      const resolved = await resolveOnHost(t, s.targetId, pm, packages, options, repo !== null);
      if (resolved.targets.length === 0) return { ok: true, result: { code: 0, stdout: `nothing to update: every package is at or above its planned version\n${resolved.notes}`, stderr: '' } };
      const r = await t.exec(s.targetId, updateArgv(pm, resolved.targets, options));
      return { ok: r.code === 0, result: { ...r, stdout: `${resolved.notes}${r.stdout}` } };
    }
    case 'reboot': {
      const r = await t.reboot(s.targetId, previousStart === null ? undefined : { since: previousStart });
      return { ok: r.code === 0, result: r };
    }
    case 'rescan': {
      const r = await t.rescan(s.targetId);
      return { ok: r.code === 0, result: r };
    }
  }
}

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

async function executeLeased(db: Db, runPk: number, t: RunTransport, clock: Clock, hooks: ExecuteOptions, leaseLost: () => boolean, held: { lease: string; holder: string }): Promise<RunReport> {
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
        await setRunStatus(db, runPk, 'waiting', clock().toISOString(), `ring ${String(ring)} starts after the soak, at ${new Date(resumeAt).toISOString()}`, new Date(resumeAt).toISOString());
        break;
      }
    }
    // A ring whose hosts' window has not opened yet waits for it (after a soak that ended early).
    const opens = ringSteps.filter((s) => s.kind === 'precheck' && s.state === 'pending' && typeof s.spec['start'] === 'string').map((s) => Date.parse(s.spec['start'] as string));
    if (open && opens.length > 0 && clock().getTime() < Math.min(...opens)) {
      const at = new Date(Math.min(...opens)).toISOString();
      await setRunStatus(db, runPk, 'waiting', clock().toISOString(), `ring ${String(ring)} starts in its maintenance window, at ${at}`, at);
      break;
    }
    const hosts = [...new Set(ringSteps.map((s) => s.targetId))];
    let next = 0;
    // Once the ring's failures pass the threshold the run halts whatever the rest do: no more
    // of its hosts are begun (a ring of 1,000 does not go on after 500 failures).
    const doomed = (): boolean => hosts.filter((h) => all.some((s) => s.targetId === h && s.ringIndex === ring && s.state === 'failed')).length / hosts.length > run.failureThreshold;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (doomed()) return;
        const host = hosts[next++];
        if (host === undefined) return;
        const steps = all.filter((s) => s.targetId === host && s.ringIndex === ring);
        // A host not begun when its window has ended is left for the next window: never started late.
        const first = steps.find((s) => s.kind === 'precheck');
        const windowEnd = typeof first?.spec['windowEnd'] === 'string' ? Date.parse(first.spec['windowEnd']) : null;
        if (first?.state === 'pending' && windowEnd !== null && clock().getTime() >= windowEnd) {
          for (const rest of steps.filter((x) => x.state === 'pending')) {
            if (!journaled(await markStepEnded(db, rest.pk, 'skipped', clock().toISOString(), null, `skipped: the maintenance window ended at ${new Date(windowEnd).toISOString()} before this host began`, guard()))) return;
            rest.state = 'skipped';
          }
          continue;
        }
        for (const s of steps) {
          if (s.state === 'done' || s.state === 'skipped') continue;
          if (s.state === 'failed') break;
          if (!(await stillRunning())) return;
          // A step found started was begun by a process that died: when, for a reboot's sake.
          const previousStart = s.state === 'started' ? s.startedAt : null;
          if (!journaled(await markStepStarted(db, s.pk, clock().toISOString(), guard()))) return;
          s.state = 'started';
          hooks.afterJournal?.(s, 'started');
          let outcome: { ok: boolean; result: CommandResult };
          try {
            outcome = await runStep(t, s, previousStart);
          } catch (err) {
            outcome = { ok: false, result: { code: null, stdout: '', stderr: err instanceof Error ? err.message : String(err) } };
          }
          const state = outcome.ok ? 'done' : 'failed';
          if (!journaled(await markStepEnded(db, s.pk, state, clock().toISOString(), outcome.result.code, `${outcome.result.stdout}${outcome.result.stderr === '' ? '' : `\n[stderr]\n${outcome.result.stderr}`}`, guard()))) return;
          s.state = state;
          hooks.afterJournal?.(s, 'ended');
          if (!outcome.ok) {
            // The host's remaining steps are skipped; it counts against the ring's threshold.
            for (const rest of steps.filter((x) => x.seq > s.seq && x.state === 'pending')) {
              if (!journaled(await markStepEnded(db, rest.pk, 'skipped', clock().toISOString(), null, `skipped: ${s.kind} failed`, guard()))) return;
              rest.state = 'skipped';
            }
            break;
          }
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
      await setRunStatus(db, runPk, 'halted', clock().toISOString(), `ring ${String(ring)}: ${String(failed.length)} of ${String(hosts.length)} hosts failed (threshold ${String(run.failureThreshold)})`);
      break;
    }
  }
  if (await stillRunning()) await setRunStatus(db, runPk, 'done', clock().toISOString());
  const steps = await listSteps(db, runPk);
  const final = await getRun(db, runPk);
  if (final === null) throw new BulwarkError('internal', `run ${String(runPk)} vanished`);
  return { run: final, steps, failedHosts: [...new Set(steps.filter((s) => s.state === 'failed').map((s) => s.targetName))].sort() };
}

/**
 * Pause, resume (back to running) or cancel a run, audited as `run.<action>`; a running executor
 * stops before its next step.
 */
export async function setRunState(db: Db, runPk: number, action: 'pause' | 'resume' | 'cancel', actor: Actor = SYSTEM, clock: Clock = systemClock): Promise<RunRow> {
  const run = await getRun(db, runPk);
  if (run === null) throw new BulwarkError('storage.not-found', `no run ${String(runPk)}`);
  const allowed: Record<typeof action, readonly string[]> = { pause: ['running', 'waiting'], resume: ['paused'], cancel: ['running', 'waiting', 'paused', 'halted'] };
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

export function listRuns(db: Db, o: { policy?: string | undefined; status?: RunRow['status'] | undefined; limit?: number; offset?: number } = {}): Promise<RunRow[]> {
  return listRunRows(db, { policy: o.policy, status: o.status, limit: o.limit ?? 100, offset: o.offset ?? 0 });
}
