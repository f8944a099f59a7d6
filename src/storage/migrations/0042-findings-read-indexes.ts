import type { Kysely, Migration } from 'kysely';

/**
 * Indexes for the console's findings filters (issue #14 item 3): a host's page in the default
 * order is a range of (target_id, severity_rank desc, first_seen_at, pk) with no sort and no walk
 * of the fleet; a CVE's findings are found through their advisory (advisory_pk, the index 0038 made); the fleet sorted
 * by first seen is a walk of (first_seen_at, pk) that stops after a page.
 */
export function findingsReadIndexes(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('findings_target_page').on('findings').columns(['target_id', 'severity_rank desc', 'first_seen_at', 'pk']).execute();
      await db.schema.createIndex('findings_first_seen').on('findings').columns(['first_seen_at', 'pk']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('findings_first_seen').execute();
      await db.schema.dropIndex('findings_target_page').execute();
    },
  };
}
