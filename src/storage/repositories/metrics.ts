import { kx, type Executor } from '../database.js';

/** Counts for `GET /metrics` (issue #18 item 5): runs by status, steps by kind and state. */
export async function runOutcomeCounts(on: Executor): Promise<{ runs: { status: string; n: number }[]; steps: { kind: string; state: string; n: number }[] }> {
  const ex = kx(on);
  const runs = await ex
    .selectFrom('runs')
    .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy('status')
    .execute();
  const steps = await ex
    .selectFrom('run_steps')
    .select(['kind', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy(['kind', 'state'])
    .execute();
  return { runs: runs.map((r) => ({ status: r.status, n: Number(r.n) })), steps: steps.map((s) => ({ kind: s.kind, state: s.state, n: Number(s.n) })) };
}
