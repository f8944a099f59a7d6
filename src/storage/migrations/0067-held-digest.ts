import type { Kysely, Migration } from 'kysely';

/**
 * Issue #14: each target keeps a digest of the builds it holds, per bucket of package names
 * (`targets.held_digest`, storage/repositories/held-digest.ts), written with the fingerprint of
 * the agent report that stored them: a report that changed three packages reads back only the
 * held builds of their buckets, not all ~600. Null (every existing row): read them all once.
 */
export function heldDigest(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').addColumn('held_digest', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').dropColumn('held_digest').execute();
    },
  };
}
