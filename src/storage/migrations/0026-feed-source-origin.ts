import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Through which door a feed source was configured (`cli` or `api`): downloads let an API-added
 * source use the operator's allow-list of own-network mirrors (BULWARK_FEED_ALLOW) only when
 * the operator allows that too (BULWARK_FEED_ALLOW_API), at every hop of every sync — an API
 * location naming a public host could otherwise redirect, or resolve, into an allowed block.
 * Sources configured before this are told apart by the audit log: one whose latest `feed.add`
 * was by an API caller (anyone but `cli:…`) is `api`, the rest `cli`.
 */
export function feedSourceOrigin(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('feed_sources')
        .addColumn('added_via', 'text', (c) => c.notNull().defaultTo('cli'))
        .execute();
      await backfillFeedSourceOrigin(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('feed_sources').dropColumn('added_via').execute();
    },
  };
}

/** Marks as `api` each source whose latest `feed.add` in the audit log was not by the CLI. */
export async function backfillFeedSourceOrigin(db: Kysely<unknown>): Promise<void> {
  await sql`update feed_sources set added_via = 'api' where exists (
    select 1 from audit a where a.action = 'feed.add' and a.subject = feed_sources.id and a.actor not like 'cli:%'
      and a.pk = (select max(b.pk) from audit b where b.action = 'feed.add' and b.subject = feed_sources.id))`.execute(db);
}
