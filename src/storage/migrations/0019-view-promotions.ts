import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Every promotion of a content view version, kept: a view's promotion path checks them. */
export function viewPromotions(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('view_promotions')
        .addColumn('view', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('promoted_at', ts, (c) => c.notNull())
        .addColumn('promoted_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('view_promotions_by_version').on('view_promotions').columns(['view', 'version']).execute();
      // What environments served before this table existed counts as promoted.
      await sql`insert into view_promotions (view, environment, version, promoted_at, promoted_by) select view, environment, version, promoted_at, promoted_by from view_environments`.execute(
        db,
      );
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('view_promotions').execute();
    },
  };
}
