import type { Kysely, Migration } from 'kysely';

/**
 * A host's findings page is read through the findings' identity index (target_id first) and its
 * few hundred rows sorted, not through an index of its own (migration 0042's findings_target_page,
 * dropped here). Every finding written, and every one whose severity changes, wrote an entry in
 * that index too, at a place of its own for each host: at 100,000 hosts on PostgreSQL, a feed
 * sync that changes the severity of a few advisories rewrites hundreds of thousands of findings,
 * each entry another page read and written. A host's page stays a range of one index.
 */
export function hostPageByIdentity(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('findings_target_page').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('findings_target_page').on('findings').columns(['target_id', 'severity_rank desc', 'first_seen_at', 'pk']).execute();
    },
  };
}
