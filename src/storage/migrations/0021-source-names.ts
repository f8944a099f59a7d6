import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Source package names an inventory did not carry (issue #13): where a stored package's source
 * came from, what earlier inventories of a release taught, and what snapshotted repositories'
 * primary.xml says of each exact build.
 */
export function sourceNames(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // null: given by the inventory (every row stored before this migration).
      await db.schema.alterTable('packages').addColumn('source_origin', 'text').execute();
      await db.schema
        .createTable('learned_sources')
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('source_name', 'text', (c) => c.notNull())
        .addColumn('learned_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('learned_sources_pk', ['release_id', 'name'])
        .execute();
      await db.schema
        .createTable('repo_sources')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('release', 'text', (c) => c.notNull())
        .addColumn('source_name', 'text', (c) => c.notNull())
        .addColumn('snapshot_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('repo_sources_pk', ['name', 'version', 'release'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('repo_sources').execute();
      await db.schema.dropTable('learned_sources').execute();
      await db.schema.alterTable('packages').dropColumn('source_origin').execute();
    },
  };
}
