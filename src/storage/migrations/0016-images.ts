import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Image builds (issue #7): each build of an image definition, numbered per image and never
 * changed, with the content-view version it came from, its artifact and the target its
 * inventory is scanned as.
 */
export function images(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('image_builds')
        .addColumn('image', 'text', (c) => c.notNull())
        .addColumn('build', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('release', 'text', (c) => c.notNull())
        .addColumn('view', 'text', (c) => c.notNull())
        .addColumn('view_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('dir', 'text', (c) => c.notNull())
        .addColumn('artifact', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('packages', 'integer', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_builds_pk', ['image', 'build'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('image_builds').execute();
    },
  };
}
