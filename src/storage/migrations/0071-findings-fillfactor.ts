import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Findings pages keep a fifth free on PostgreSQL (issue #14): every scan refreshes the
 * `last_seen_at` of the findings it sees again, a column no index holds, so with room on the page
 * the new row version stays there (a HOT update) and none of the findings' ten indexes is
 * written. At 100,000 hosts a feed sync rewrites hundreds of thousands of such rows. Pages written
 * before keep their layout until rewritten (VACUUM FULL) or freed by updates. SQLite: nothing.
 */
export function findingsFillfactor(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect === 'postgres') await sql`alter table findings set (fillfactor = 80)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect === 'postgres') await sql`alter table findings reset (fillfactor)`.execute(db);
    },
  };
}
