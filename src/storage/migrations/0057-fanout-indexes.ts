import type { Kysely, Migration } from 'kysely';

/**
 * Issue #14, 100,000 hosts on PostgreSQL: a feed sync writes its findings in SQL a range of
 * targets at a time (storage findings-fanout.ts). The inverted index of links and the findings by
 * advisory gain the target as a second column, so "the holders of this build within these
 * targets" and "the findings on this advisory within these targets" are ranges of one index, not
 * every holder or finding of the fleet filtered per batch. Each replaces the one-column index it
 * extends (every query that used it can use the wider one).
 */
export function fanOutIndexes(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('target_packages_package_target').on('target_packages').columns(['package_pk', 'target_id']).execute();
      await db.schema.dropIndex('target_packages_package').ifExists().execute();
      await db.schema.createIndex('findings_advisory_target').on('findings').columns(['advisory_pk', 'target_id']).execute();
      await db.schema.dropIndex('findings_advisory').ifExists().execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('findings_advisory').on('findings').column('advisory_pk').execute();
      await db.schema.dropIndex('findings_advisory_target').execute();
      await db.schema.createIndex('target_packages_package').on('target_packages').column('package_pk').execute();
      await db.schema.dropIndex('target_packages_package_target').execute();
    },
  };
}
