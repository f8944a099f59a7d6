import type { Kysely, Migration } from 'kysely';

/**
 * Issue #14: a feed sync re-matches only the advisories it changed, and writes findings as set
 * differences against the stored findings on those advisories, across the fleet: they are found
 * by advisory (the unique key starts with the target, which a sync does not know). Existing
 * rows are kept as they are; only the index is added.
 */
export function findingsByAdvisory(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('findings_advisory').on('findings').column('advisory_pk').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('findings_advisory').execute();
    },
  };
}
