import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * API tokens (issue #6): only a SHA-256 of each token's secret is stored (the secret is 256
 * random bits, shown once); tokens expire and are revoked, never deleted, so the audit log's
 * actors stay resolvable.
 */
export function apiTokens(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('viewer', 'operator', 'admin')`))
        .addColumn('secret_sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', ts)
        .addColumn('revoked_at', ts)
        .addColumn('revoked_by', 'text')
        .addColumn('last_used_at', ts)
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('api_tokens').execute();
    },
  };
}
