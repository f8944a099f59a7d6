import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Agents report when their host booted (/proc/stat btime) beside the boot id: a reboot step
 * found begun after a crash is done when the host booted after the step began, as over SSH.
 */
export function agentBootTime(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('agents').addColumn('booted_at', ts).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('agents').dropColumn('booted_at').execute();
    },
  };
}
