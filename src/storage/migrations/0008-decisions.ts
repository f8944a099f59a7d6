import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Operators' decisions about advisories under a policy (issue #5): approvals of updates that
 * need one, and holds with a reason and an expiry. Rows are never deleted: revoking one sets
 * revoked_at/revoked_by, so the history stays next to the audit log.
 */
export function decisions(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('decisions')
        .addColumn('pk', serialType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('advisory_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('approve', 'hold')`))
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('until', ts)
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('revoked_at', ts)
        .addColumn('revoked_by', 'text')
        .execute();
      await db.schema.createIndex('decisions_policy').on('decisions').columns(['policy', 'advisory_id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('decisions').execute();
    },
  };
}
