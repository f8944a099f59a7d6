import type { Kysely, Migration } from 'kysely';

/** Agents report their boot id (/proc/sys/kernel/random/boot_id): a reboot is a new one. */
export function agentBoot(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('agents').addColumn('boot_id', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('agents').dropColumn('boot_id').execute();
    },
  };
}
