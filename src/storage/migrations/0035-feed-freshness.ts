import type { Kysely, Migration } from 'kysely';

/**
 * Feed freshness (issue #16 item 5): a source's own staleness threshold in days (null: the
 * default of its format, src/services/freshness.ts). The newest publication date inside a feed
 * is read from what it stored; the last attempt and its error from the audit log.
 */
export function feedFreshness(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('feed_sources').addColumn('stale_after_days', 'integer').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('feed_sources').dropColumn('stale_after_days').execute();
    },
  };
}
