import { sql } from 'kysely';
import { kx, type Executor } from '../database.js';

/** Findings counted by status, severity and release, and opened/closed per day and severity (for the dashboard's overview). */
export async function findingsSummary(on: Executor): Promise<{
  groups: { status: string; severity: string; release: string | null; n: number }[];
  opened: { day: string; severity: string; n: number }[];
  closed: { day: string; severity: string; n: number }[];
}> {
  const ex = kx(on);
  const groups = await ex
    .selectFrom('findings')
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .select(['findings.status', 'findings.severity', 'targets.release_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy(['findings.status', 'findings.severity', 'targets.release_id'])
    .execute();
  const day = (col: 'findings.first_seen_at' | 'findings.closed_at') => sql<string>`substr(cast(${sql.ref(col)} as text), 1, 10)`;
  const opened = await ex
    .selectFrom('findings')
    .select([day('findings.first_seen_at').as('day'), 'findings.severity', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy([day('findings.first_seen_at'), 'findings.severity'])
    .execute();
  const closed = await ex
    .selectFrom('findings')
    .where('findings.closed_at', 'is not', null)
    .select([day('findings.closed_at').as('day'), 'findings.severity', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy([day('findings.closed_at'), 'findings.severity'])
    .execute();
  return {
    groups: groups.map((g) => ({ status: g.status, severity: g.severity, release: g.release_id, n: Number(g.n) })),
    opened: opened.map((r) => ({ day: r.day, severity: r.severity, n: Number(r.n) })),
    closed: closed.map((r) => ({ day: r.day, severity: r.severity, n: Number(r.n) })),
  };
}
