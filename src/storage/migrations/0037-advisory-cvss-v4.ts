import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * CVSS v4.0 beside v3 (issue #16 item 2): an advisory's v4.0 vector and its score by the
 * specification's method (src/core/cvss4.ts), null when its feed gives none. Kept apart from
 * `cvss_score`/`cvss_vector`, which stay v3: the two scales are never mixed.
 */
export function advisoryCvssV4(dialect: Dialect): Migration {
  const real = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('advisories').addColumn('cvss_v4_score', real).execute();
      await db.schema.alterTable('advisories').addColumn('cvss_v4_vector', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('advisories').dropColumn('cvss_v4_vector').execute();
      await db.schema.alterTable('advisories').dropColumn('cvss_v4_score').execute();
    },
  };
}
