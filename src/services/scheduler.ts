import { BulwarkError } from '../core/errors.js';
import { isKernel, soakFor, type Plan, type PlanEntry } from '../policy/plan.js';
import { listPolicies, makePlan } from './policies.js';
import { createRun, executeRun, PROCESS_ID, type RunReport, type RunTransport } from './runs.js';
import { busyTargetRuns, busyTargets, getRun, orphanRuns, runsToResume } from '../storage/index.js';
import { acquireLease } from './lease.js';
import { recordAudit, SCHEDULER, type Actor } from './audit.js';
import { endExpiredAcceptances } from './risk-acceptance.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * The scheduler (issue #5): on every tick — and at once after a feed sync brings new or changed
 * advisories — each policy's plan is assembled, and the approved entries whose time has come
 * (an emergency out-of-band rule: now; otherwise their ring's window is open) and that no
 * unfinished run already covers become a run, started at once. Ticks are cheap when nothing is
 * due: one plan assembly per policy.
 */
export interface TickResult {
  policy: string;
  started: { run: number; hosts: string[] } | null;
  report?: RunReport;
  /**
   * Targets with work under this policy that no run can reach (imported inventories, no address):
   * left out of every run (issue #17 item 5: `serve --demo` started runs on them, which halted).
   */
  unreachable?: string[];
}

/**
 * What of an entry may run now: all of it inside its window, or only its emergency packages
 * outside it (an emergency rule may patch outside windows; the rest waits for the window).
 */
function dueNow(e: PlanEntry, now: number, always: boolean): PlanEntry | null {
  if (e.approval !== 'approved') return null;
  if (e.emergency) {
    // Only what an emergency rule covers goes now; the rest of the host's updates wait for its
    // window (once the emergency findings are fixed, the entry gets its window again).
    const packages = e.packages.filter((p) => p.emergency);
    // The entry's reboot came from its kernel, unless the policy always reboots or the host asked
    // for one anyway (no kernel in the entry): the emergency part keeps it only then.
    return packages.length === 0
      ? null
      : { ...e, packages, reboot: e.reboot && (always || packages.some((p) => isKernel(p.name)) || !e.packages.some((p) => isKernel(p.name))) };
  }
  // Its previous ring is still in a run not over (running, paused, halted): not before it ends.
  if (e.after?.unfinished === true) return null;
  const start = Date.parse(e.start);
  const end = e.windowEnd === null ? Infinity : Date.parse(e.windowEnd);
  return start <= now && now < end ? e : null;
}

/**
 * Executes a run and, when this process finished it (done, halted, cancelled), records `run.end`
 * — whichever path started it: a new run, a soak's end or an orphan taken over, attached or in
 * the background.
 */
async function executeAudited(
  db: Db,
  pk: number,
  transport: RunTransport,
  clock: Clock,
  o: Parameters<typeof executeRun>[4],
  actor: Actor,
  policy: string,
): Promise<RunReport> {
  const report = await executeRun(db, pk, transport, clock, o);
  if (report.heldBy === undefined && ['done', 'halted', 'cancelled'].includes(report.run.status))
    await recordAudit(db, actor, 'run.end', policy, { run: pk, status: report.run.status, failed: report.failedHosts }, clock);
  return report;
}

/**
 * One scheduling pass over every policy; runs what is due (awaiting each run unless `detach`).
 * @example await schedulerTick(db, transport)
 */
export async function schedulerTick(
  db: Db,
  transport: RunTransport,
  opts: { clock?: Clock; actor?: Actor; detach?: boolean; holder?: string; leaseTtlMs?: number; runLeaseTtlMs?: number } = {},
): Promise<TickResult[]> {
  const clock = opts.clock ?? systemClock;
  const actor = opts.actor ?? SCHEDULER;
  const out: TickResult[] = [];
  // One scheduler at a time across processes sharing the database: the pass is leased (and the
  // holder keeps it by renewing each pass; if it dies, another takes over after the TTL).
  const holder = opts.holder ?? PROCESS_ID;
  const lease = await acquireLease(db, 'scheduler', holder, { ttlMs: opts.leaseTtlMs ?? 120_000 });
  if (lease === null) return out;
  // Renewed while this pass runs (a pass that waits for its runs can take hours), and not given
  // up after it: the next pass of this process takes it again.
  try {
    return await tickLeased(db, transport, opts, clock, actor, holder, out);
  } finally {
    await lease.stop();
  }
}

async function tickLeased(
  db: Db,
  transport: RunTransport,
  opts: { detach?: boolean; runLeaseTtlMs?: number },
  clock: Clock,
  actor: Actor,
  holder: string,
  out: TickResult[],
): Promise<TickResult[]> {
  // Runs waiting out a soak whose time has come go on first, then runs whose process died
  // (running, but nobody holds their lease).
  const resume = [...(await runsToResume(db, clock().toISOString())), ...(await orphanRuns(db, new Date().toISOString()))];
  for (const pk of [...new Set(resume)]) {
    const run = await getRun(db, pk);
    const lease = { lease: { holder, waitMs: 0, ...(opts.runLeaseTtlMs !== undefined ? { ttlMs: opts.runLeaseTtlMs } : {}) } };
    if (opts.detach === true) {
      executeAudited(db, pk, transport, clock, lease, actor, run?.policy ?? '?').catch(() => undefined);
      out.push({ policy: run?.policy ?? '?', started: { run: pk, hosts: [] } });
      continue;
    }
    const report = await executeAudited(db, pk, transport, clock, lease, actor, run?.policy ?? '?');
    if (report.heldBy === undefined)
      out.push({ policy: run?.policy ?? '?', started: { run: pk, hosts: [...new Set(report.steps.map((s) => s.targetName))] }, report });
  }
  // Expired risk acceptances end before the plans are made: their findings are open work again.
  await endExpiredAcceptances(db, actor, clock);
  for (const { name } of await listPolicies(db)) {
    const now = clock();
    const { plan, policy, pk, policyVersion } = await makePlan(db, name, { at: now, reachable: transport.reaches?.bind(transport) });
    const busy = new Set(await busyTargets(db));
    const entries = plan.entries.filter((e) => !busy.has(e.targetId)).flatMap((e) => dueNow(e, now.getTime(), policy.reboot === 'always') ?? []);
    const left = plan.warnings?.find((w) => w.kind === 'unreachable-target')?.targets ?? [];
    const unreachable = left.length > 0 ? { unreachable: left } : {};
    if (entries.length === 0) {
      out.push({ policy: name, started: null, ...unreachable });
      continue;
    }
    const sub: Plan = { ...plan, entries };
    const runPk = await createRun(
      db,
      name,
      sub,
      pk,
      {
        failureThreshold: policy.rollout.failureThreshold,
        maxConcurrency: policy.rollout.maxConcurrency,
        soakHours: soakFor(entries, policy.rollout.soakHours, now.getTime()),
        holder,
      },
      clock,
    );
    const hosts = entries.map((e) => e.target);
    await recordAudit(db, actor, 'run.start', name, { run: runPk, policyVersion, hosts, reasons: [...new Set(entries.flatMap((e) => e.reasons))] }, clock);
    const lease = { lease: { holder, ...(opts.runLeaseTtlMs !== undefined ? { ttlMs: opts.runLeaseTtlMs } : {}) } };
    if (opts.detach === true) {
      executeAudited(db, runPk, transport, clock, lease, actor, name).catch(() => undefined);
      out.push({ policy: name, started: { run: runPk, hosts }, ...unreachable });
    } else {
      const report = await executeAudited(db, runPk, transport, clock, lease, actor, name);
      out.push({ policy: name, started: { run: runPk, hosts }, report, ...unreachable });
    }
  }
  return out;
}

/** Audits that a scheduler (`bulwark scheduler`) starts, with who started it and how. */
export async function schedulerStarted(db: Db, actor: Actor, detail: Record<string, unknown>, clock: Clock = systemClock): Promise<void> {
  await recordAudit(db, actor, 'scheduler.start', 'scheduler', detail, clock);
}

/**
 * Plans a policy now and starts a run of its approved entries (what `bulwark run --policy` and
 * `POST /api/v1/runs` do). With `detach` the run goes on in the background and this returns once
 * it is journaled; otherwise it returns the finished report.
 * @example const { run } = await runPolicyNow(db, 'azl3-prod', transport, { actor: { kind: 'cli', name: 'alice' } })
 */
export async function runPolicyNow(
  db: Db,
  name: string,
  transport: RunTransport,
  o: { actor: Actor; detach?: boolean; clock?: Clock; runLeaseTtlMs?: number; ignoreWindows?: boolean },
): Promise<{ run: number; hosts: string[]; report: RunReport | null }> {
  const clock = o.clock ?? systemClock;
  const { plan: full, pk, policyVersion, policy } = await makePlan(db, name, { save: true, clock, reachable: transport.reaches?.bind(transport) });
  // Hosts already in a run that is not over (a halted one waits for its operator) stay out.
  const busy = await busyTargetRuns(db);
  const plan: Plan = { ...full, entries: full.entries.filter((e) => !busy.has(e.targetId)) };
  const left = full.entries
    .filter((e) => e.approval === 'approved' && busy.has(e.targetId))
    .map((e) => `${e.target} (run ${String(busy.get(e.targetId)?.run)}, ${busy.get(e.targetId)?.status ?? ''})`);
  if (left.length > 0 && !plan.entries.some((e) => e.approval === 'approved'))
    throw new BulwarkError('storage.conflict', `every approved host of ${name} is in a run that is not over: ${left.join(', ')} (resume or cancel it first)`);
  // The same soak as the scheduler's runs and the plan show: an emergency's shortened to meet its deadline.
  const soakHours = soakFor(
    plan.entries.filter((e) => e.approval === 'approved'),
    policy.rollout.soakHours,
    clock().getTime(),
  );
  const runPk = await createRun(
    db,
    name,
    plan,
    pk,
    { failureThreshold: policy.rollout.failureThreshold, maxConcurrency: policy.rollout.maxConcurrency, soakHours, ignoreWindows: o.ignoreWindows === true },
    clock,
  );
  const hosts = plan.entries.filter((e) => e.approval === 'approved').map((e) => e.target);
  await recordAudit(db, o.actor, 'run.start', name, { run: runPk, plan: pk, policyVersion, hosts }, clock);
  const finish = (): Promise<RunReport> =>
    executeAudited(db, runPk, transport, clock, o.runLeaseTtlMs === undefined ? {} : { lease: { ttlMs: o.runLeaseTtlMs } }, o.actor, name);
  if (o.detach === true) {
    // Errors end up in the run's journal; a crash of this process leaves it resumable.
    finish().catch(() => undefined);
    return { run: runPk, hosts, report: null };
  }
  return { run: runPk, hosts, report: await finish() };
}
