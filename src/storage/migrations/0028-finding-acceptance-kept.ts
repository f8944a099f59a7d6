import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * An operator's acceptance outlives its finding's withdrawal: `closed_from` keeps the status a
 * finding had when it closed as `withdrawn` (an `accepted` one, whose reason stays in `reason`),
 * so that the advisory's return reopens it `accepted` rather than `open`; `accepted_until` is
 * when an acceptance expires (null: until an operator changes it).
 */
export function findingAcceptanceKept(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('findings').addColumn('closed_from', 'text').execute();
      await db.schema.alterTable('findings').addColumn('accepted_until', ts).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('findings').dropColumn('accepted_until').execute();
      await db.schema.alterTable('findings').dropColumn('closed_from').execute();
    },
  };
}
