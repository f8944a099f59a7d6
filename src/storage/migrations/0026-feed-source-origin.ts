import type { Kysely, Migration } from 'kysely';

/**
 * Through which door a feed source was configured (`cli` or `api`): downloads let an API-added
 * source use the operator's allow-list of own-network mirrors (BULWARK_FEED_ALLOW) only when
 * the operator allows that too (BULWARK_FEED_ALLOW_API), at every hop of every sync — an API
 * location naming a public host could otherwise redirect, or resolve, into an allowed block.
 * Sources configured before this knew no API door worth telling apart: they count as `cli`.
 */
export function feedSourceOrigin(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('feed_sources').addColumn('added_via', 'text', (c) => c.notNull().defaultTo('cli')).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('feed_sources').dropColumn('added_via').execute();
    },
  };
}
