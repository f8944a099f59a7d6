import type { Kysely, Migration } from 'kysely';

/**
 * What a content view version was made of — its YAML, the selected builds' files, its deviation
 * report, its sources' advisories — as one SHA-256: publishing a view whose fingerprint is its
 * latest version's publishes nothing (issue #21, item 8), so an unchanged view does not mark
 * images behind. Null for versions published before.
 */
export function viewVersionFingerprint(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('view_versions').addColumn('fingerprint', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('view_versions').dropColumn('fingerprint').execute();
    },
  };
}
