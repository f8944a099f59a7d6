import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Content views (issue #7): published, numbered versions (never changed) and which one each environment serves. */
export function contentViews(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('view_versions')
        .addColumn('view', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('packages', 'integer', (c) => c.notNull())
        .addColumn('deviations', 'text', (c) => c.notNull())
        .addColumn('dir', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('view_versions_pk', ['view', 'version'])
        .execute();
      await db.schema
        .createTable('view_environments')
        .addColumn('view', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('promoted_at', ts, (c) => c.notNull())
        .addColumn('promoted_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('view_environments_pk', ['view', 'environment'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('view_environments').execute();
      await db.schema.dropTable('view_versions').execute();
    },
  };
}
