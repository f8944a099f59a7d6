import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Waiting on events, not on wall-clock budgets (issue #13, "a suite that fails on a busy
 * machine"). On a shared 2-core CI machine a step that takes 2 s when quiet takes 20 s at load 6;
 * a test that says "the run is done within 60 s" then fails while Bulwark is right. Tests here
 * wait for what they need to see (a journal row, a lease change, a process exit), and give up
 * early only when it can no longer happen (the process that would make it happen is gone).
 * A test's own timeout stays, as HANG_GUARD_MS: it ends a test that hangs, it is not a budget.
 */

/**
 * The timeout of a test that waits on events: long enough that no load this machine meets
 * reaches it (it is not a measure of how long the test should take; bench/ measures speed), short
 * enough that a hung test does not hold CI for hours.
 */
export const HANG_GUARD_MS = 30 * 60_000;

/** How often a condition is looked at: a read of a table or a file, cheap at any load. */
const POLL_MS = 25;

/**
 * Resolves with the first value `probe` returns that is not null, undefined or false. `gone`, when
 * given, is asked on each round why the awaited thing can no longer happen (e.g. "both servers
 * exited"): a reason other than null fails at once, naming `what` was awaited.
 * @example const run = await waitFor(async () => (await listRunRows(db, q))[0] ?? null, { what: 'a run to start', gone: () => (server.exitCode !== null ? 'the server exited' : null) })
 */
export async function waitFor<T>(
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  o: { what: string; gone?: () => string | null },
): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    const why = o.gone?.() ?? null;
    // The probe is asked once more after `gone` says so: what was awaited may have happened just before.
    if (why !== null) {
      const last = await probe();
      if (last !== null && last !== undefined && last !== false) return last;
      throw new Error(`gave up waiting for ${o.what}: ${why}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Whether a child process is still running. */
export function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!alive(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
}

function lineCount(file: string): number {
  let n = 0;
  for (const c of readFileSync(file)) if (c === 0x0a) n++;
  return n;
}

/**
 * Runs a worker (test/run-worker.ts: it executes or resumes one patch run and writes a line to
 * `trace` after each journal write) again and again, killing it with SIGKILL at points chosen from
 * the journal, until it reports the run finished. Each kill comes after the worker has written
 * 1 to `maxEventsPerLife` new journal rows (chosen at random), so every life makes progress and the
 * run ends after at most `maxKills` kills, whatever the machine's load; a timer could fire before a
 * loaded worker had even started, over and over. A kill lands at once after a journal write or,
 * as the trace is polled, somewhere in the step that follows it.
 * A life that ends by itself without finishing (its lease ran out while the machine stalled it, so
 * its next journal write was refused and it stopped, as it must) is started again, not counted.
 * A worker that fails (non-zero exit without a kill) fails the test with its stderr.
 * @example const r = await killAtJournal({ argv: ['--import', 'tsx', worker, db, pk, hosts, trace], trace, maxKills: 6, random: rng(seed) })
 */
export async function killAtJournal(o: {
  argv: readonly string[];
  trace: string;
  maxKills: number;
  maxEventsPerLife?: number;
  random: () => number;
  /** The worker's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * Trace lines (`<step pk> started`) the worker is also killed at, each the first time it is
   * written, besides the random points: a kill in the middle of a chosen step, whatever the seed.
   */
  killAt?: ReadonlySet<string>;
}): Promise<{ kills: number; selfStopped: number; result: unknown; targeted: string[] }> {
  let kills = 0;
  let selfStopped = 0;
  const targets = new Set(o.killAt ?? []);
  const targeted: string[] = [];
  const newLines = (from: number): string[] => readFileSync(o.trace, 'utf8').split('\n').slice(from, -1);
  for (;;) {
    const before = lineCount(o.trace);
    const killAfter = kills < o.maxKills ? 1 + Math.floor(o.random() * (o.maxEventsPerLife ?? 4)) : Infinity;
    const hit = (): boolean => {
      const fresh = newLines(before);
      const t = fresh.find((l) => targets.has(l));
      if (t !== undefined) {
        targets.delete(t);
        targeted.push(t);
        return true;
      }
      return fresh.length >= killAfter;
    };
    const child = spawn(process.execPath, [...o.argv], { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env !== undefined ? { env: o.env } : {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const end = exited(child);
    let killed = false;
    if (killAfter !== Infinity || targets.size > 0) {
      const reached = await waitFor(hit, {
        what: `journal write ${String(killAfter)} of this worker`,
        gone: () => (alive(child) ? null : 'the worker exited first'),
      }).catch(() => false);
      if (reached && alive(child)) {
        killed = child.kill('SIGKILL');
      }
    }
    const { code, signal } = await end;
    if (killed && signal === 'SIGKILL') {
      kills++;
      continue;
    }
    if (code !== 0) throw new Error(`the run worker failed (exit ${String(code)}, signal ${String(signal)}): ${err}`);
    const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { status?: string };
    if (result.status === 'done' || result.status === 'halted') return { kills, selfStopped, result, targeted };
    // It stopped by itself (lease lost under load, or another holder): its rows since are kept.
    selfStopped++;
    if (selfStopped > 50) throw new Error(`the run worker stopped 50 times without finishing the run; last: ${out} ${err}`);
  }
}
