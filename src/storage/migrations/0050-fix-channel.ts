import type { Kysely, Migration } from 'kysely';

/**
 * A fix shipped only in a subscription channel (Ubuntu Pro's esm-infra, esm-apps; issue #16
 * item 7), as the distribution names it; null for a fix anyone can install.
 */
export function fixChannel(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('fixes').addColumn('channel', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('fixes').dropColumn('channel').execute();
    },
  };
}
