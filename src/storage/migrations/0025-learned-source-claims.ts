import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Learned source names kept per reporting target (issue #13, review): `learned_sources` held
 * one name per binary and the latest report won, so one inventory saying openssl is built from
 * "zzz" changed every other host's manifest and SBOM scans. A claim now belongs to the target
 * that made it (and goes with it); services decide from all claims together. The old table's
 * rows say no target, so they cannot be weighed and are dropped: hosts teach them again at their
 * next collection.
 */
export function learnedSourceClaims(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('learned_source_claims')
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull().references('targets.id').onDelete('cascade'))
        .addColumn('source_name', 'text', (c) => c.notNull())
        .addColumn('learned_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('learned_source_claims_pk', ['release_id', 'name', 'target_id'])
        .execute();
      await db.schema.createIndex('learned_source_claims_target').on('learned_source_claims').column('target_id').execute();
      await db.schema.dropTable('learned_sources').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('learned_sources')
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('source_name', 'text', (c) => c.notNull())
        .addColumn('learned_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('learned_sources_pk', ['release_id', 'name'])
        .execute();
      await db.schema.dropTable('learned_source_claims').execute();
    },
  };
}
