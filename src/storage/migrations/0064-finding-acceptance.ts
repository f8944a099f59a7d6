import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Risk acceptance (`bulwark findings accept`): who accepted a finding (`accepted_by`, the audit
 * log's actor label) and when (`accepted_at`); the reason stays in `reason` and the expiry in
 * `accepted_until` (migration 0028), indexed: each scan looks for expired acceptances first.
 *
 * `deadline` goes: nothing ever wrote it, and a stored deadline cannot stay exact. A finding's
 * deadline is a function of the policies whose scope covers its host (tags and releases change),
 * of each policy's current version (out-of-band rules, cadence, time zone), of the KEV and EPSS
 * signals of its CVEs (each sync) and of its advisory (published, CVSS, CVEs); a host covered by
 * two policies has two. Plans (src/policy/deadlines.ts findingDeadline) and compliance reports
 * (a profile or the policies) compute it when asked, from the current facts.
 */
export function findingAcceptance(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('findings').addColumn('accepted_by', 'text').execute();
      await db.schema.alterTable('findings').addColumn('accepted_at', ts).execute();
      await db.schema.alterTable('findings').dropColumn('deadline').execute();
      // Every scan looks for expired acceptances first: a range of the few non-null expiries,
      // never a walk of the fleet's findings (withdrawn ones can be many).
      await db.schema.createIndex('findings_accepted_until').on('findings').column('accepted_until').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('findings_accepted_until').execute();
      await db.schema.alterTable('findings').addColumn('deadline', ts).execute();
      await db.schema.alterTable('findings').dropColumn('accepted_at').execute();
      await db.schema.alterTable('findings').dropColumn('accepted_by').execute();
    },
  };
}
