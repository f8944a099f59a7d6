import type { Kysely, Migration } from 'kysely';

/**
 * What a host has enabled beside its packages (issue #16 items 7 and 8), as JSON arrays of
 * strings, null when the collector did not learn it: its dnf module streams (`nodejs:20`) and
 * its subscription channels (Ubuntu Pro's "Ubuntu Pro (esm-infra)").
 */
export function targetStreams(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').addColumn('module_streams', 'text').execute();
      await db.schema.alterTable('targets').addColumn('channels', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').dropColumn('channels').execute();
      await db.schema.alterTable('targets').dropColumn('module_streams').execute();
    },
  };
}
