import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Patch runs and their journal (issue #5): every step is written before it starts and after it
 * ends, so a killed process resumes without repeating a finished step.
 */
export function runs(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  const serial =
    dialect === 'postgres'
      ? (c: import('kysely').ColumnDefinitionBuilder) => c.primaryKey()
      : (c: import('kysely').ColumnDefinitionBuilder) => c.primaryKey().autoIncrement();
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('runs')
        .addColumn('pk', serialType, serial)
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('plan_pk', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_threshold', dialect === 'postgres' ? 'double precision' : 'real', (c) => c.notNull())
        .addColumn('max_concurrency', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('updated_at', ts, (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
      await db.schema
        .createTable('run_steps')
        .addColumn('pk', serialType, serial)
        .addColumn('run_pk', 'bigint', (c) => c.notNull().references('runs.pk').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('ring_index', 'integer', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('target_name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('started_at', ts)
        .addColumn('finished_at', ts)
        .addColumn('exit_code', 'integer')
        .addColumn('output', 'text')
        .execute();
      await db.schema.createIndex('run_steps_run').on('run_steps').columns(['run_pk', 'seq']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('run_steps').execute();
      await db.schema.dropTable('runs').execute();
    },
  };
}
