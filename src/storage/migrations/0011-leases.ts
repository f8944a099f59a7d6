import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Leases (issue #6, scale-out): several `bulwark serve` processes on one database share the work
 * by leasing it — `scheduler` for the planning pass, `run:<pk>` for executing a run. A lease is
 * held until it expires unless its holder renews it, so work whose process died is taken over.
 */
export function leases(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('expires_at', ts, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('leases').execute();
    },
  };
}
