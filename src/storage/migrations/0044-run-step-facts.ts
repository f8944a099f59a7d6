import type { Kysely, Migration } from 'kysely';

/**
 * Facts a run step learned on its host, as JSON (issue #15): the precheck records the installed
 * versions and the package manager's history position before the update, which a rollback
 * restores; the restart step records which services it restarted and whether the host needs a
 * reboot, which the reboot step decides by. Null for steps that learned nothing.
 */
export function runStepFacts(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('run_steps').addColumn('facts', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('run_steps').dropColumn('facts').execute();
    },
  };
}
