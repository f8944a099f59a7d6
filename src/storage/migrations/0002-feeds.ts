import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Feeds (issue #3): advisory kind and OVAL logic, per-fix module stream and reboot hint, the
 * operator's feed sources (additions to and overrides of the built-in catalog) and each
 * source's sync state (HTTP validators and the fingerprint that lets an unchanged feed be
 * skipped).
 */
export function feeds(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('advisories')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('security'))
        .execute();
      await db.schema.alterTable('advisories').addColumn('oval', 'text').execute();
      await db.schema.alterTable('fixes').addColumn('module', 'text').execute();
      await db.schema.alterTable('fixes').addColumn('reboot_suggested', 'integer').execute();

      await db.schema
        .createTable('feed_sources')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('release_id', 'text')
        .addColumn('description', 'text')
        .addColumn('added_at', ts, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('feed_state')
        .addColumn('source', 'text', (c) => c.primaryKey())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('etag', 'text')
        .addColumn('last_modified', 'text')
        .addColumn('fingerprint', 'text')
        .addColumn('synced_at', ts, (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('feed_state').execute();
      await db.schema.dropTable('feed_sources').execute();
      await db.schema.alterTable('fixes').dropColumn('reboot_suggested').execute();
      await db.schema.alterTable('fixes').dropColumn('module').execute();
      await db.schema.alterTable('advisories').dropColumn('oval').execute();
      await db.schema.alterTable('advisories').dropColumn('kind').execute();
    },
  };
}
