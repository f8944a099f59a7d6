import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Soak time between rings: a run waits (status `waiting`) until `resume_at`, then the scheduler resumes it. */
export function runSoak(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('runs')
        .addColumn('soak_hours', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('runs').addColumn('resume_at', ts).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('runs').dropColumn('resume_at').execute();
      await db.schema.alterTable('runs').dropColumn('soak_hours').execute();
    },
  };
}
