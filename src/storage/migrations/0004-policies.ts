import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/** Policies, versioned (every `policy apply` of a changed file is a new version), and the plans made from them. */
export function policies(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('policies')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('applied_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('policies_pk', ['name', 'version'])
        .execute();
      await db.schema
        .createTable('plans')
        .addColumn('pk', serialType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('policy_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('plan', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('plans_policy').on('plans').columns(['policy', 'pk']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('plans').execute();
      await db.schema.dropTable('policies').execute();
    },
  };
}
