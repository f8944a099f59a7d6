import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The findings' accepted_until index holds only the findings that have an expiry (issue #14).
 * Almost every finding has none, and a full index still took an entry for each: every finding a
 * scan inserts, and every finding whose indexed columns change (a feed changing an advisory's
 * severity changes it on every host), wrote one more index page. At 100,000 hosts a feed sync
 * writes hundreds of thousands of them. The one reader, the expiry check
 * (`accepted_until <= now`), implies `accepted_until is not null`, so both databases still answer
 * it from the index. Same name, so what drops it by name keeps working.
 */
export function acceptedUntilPartial(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index findings_accepted_until`.execute(db);
      await sql`create index findings_accepted_until on findings (accepted_until) where accepted_until is not null`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop index findings_accepted_until`.execute(db);
      await sql`create index findings_accepted_until on findings (accepted_until)`.execute(db);
    },
  };
}
