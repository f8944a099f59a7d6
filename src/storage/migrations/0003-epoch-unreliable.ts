import type { Kysely, Migration } from 'kysely';

/** Fixes whose feed writes a meaningless epoch (Microsoft's OVAL "0:"), for the matcher's correction. */
export function epochUnreliable(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('fixes')
        .addColumn('epoch_unreliable', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('fixes').dropColumn('epoch_unreliable').execute();
    },
  };
}
