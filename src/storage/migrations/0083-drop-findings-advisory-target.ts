import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The findings' (advisory_pk, target_id) index goes (issue #14). Every finding a scan inserts,
 * and every finding whose severity a feed changes (on every host that has it), wrote an entry to
 * each of the findings' indexes; this one answered nothing the others do not: "the findings on
 * these advisories" is a range of (advisory_pk, severity, status) (migration 0062, a tenth of its
 * size thanks to deduplication), the targets and packages with findings on them a range of the
 * grouped view's (advisory_pk, package, …, target_id, …) read from the index alone (migration
 * 0060), and "these targets' findings on these advisories" a range of the identity key
 * (target_id, advisory_pk, package, arch). The batched range writes it was made for (migration
 * 0057) are set operations over the scope's findings now (findings-scope-pg.ts).
 */
export function dropFindingsAdvisoryTarget(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index if exists findings_advisory_target`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`create index findings_advisory_target on findings (advisory_pk, target_id)`.execute(db);
    },
  };
}
