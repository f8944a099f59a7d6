import type { Kysely, Migration } from 'kysely';

/**
 * A feed sync's re-scan reads the stored findings on the advisories it changed, for a range of
 * targets at a time (storage findings-scope-pg.ts `rs_old`: pk, target, package, arch, installed).
 * The (advisory_pk, target_id) index of migration 0057 found them, and each was then read from
 * the table, a page of its own per host: at 100,000 hosts about 18 s of the sync. This index
 * holds those columns, so they are read from the index alone (where the table's pages are marked
 * all-visible, as autovacuum leaves them); it takes the old one's place and serves its lookups
 * (its first two columns), so a finding still has the same number of index entries to write.
 */
export function findingsAdvisoryCovering(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createIndex('findings_advisory_rows')
        .on('findings')
        .columns(['advisory_pk', 'target_id', 'package', 'arch', 'installed', 'pk'])
        .execute();
      await db.schema.dropIndex('findings_advisory_target').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('findings_advisory_target').on('findings').columns(['advisory_pk', 'target_id']).execute();
      await db.schema.dropIndex('findings_advisory_rows').execute();
    },
  };
}
