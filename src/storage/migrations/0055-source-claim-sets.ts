import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Learned source names stored per distinct fact, not per host x binary (issue #14): the claims
 * of migration 0025 were one row per (release, binary, target), ~600 rows per host written on
 * every import, so storing 10,000 hosts wrote 6 million of them. What is read is only, per
 * (release, binary), which sources targets claim and how many targets claim each; that count is
 * now kept per fact (`source_claim_counts`), and each target's own claims, which its later
 * reports replace and which go with it, as one JSON object per (target, release)
 * (`source_claim_sets`). Rows then grow with distinct claims, plus one per target. Every claim
 * of the old table is carried over: its counts and sets are built from it here.
 */
export function sourceClaimSets(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('source_claim_sets')
        .addColumn('target_id', 'text', (c) => c.notNull().references('targets.id').onDelete('cascade'))
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('claims', 'text', (c) => c.notNull())
        .addColumn('learned_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('source_claim_sets_pk', ['target_id', 'release_id'])
        .execute();
      await db.schema
        .createTable('source_claim_counts')
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('source_name', 'text', (c) => c.notNull())
        .addColumn('targets', 'integer', (c) => c.notNull())
        .addColumn('learned_at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('source_claim_counts_pk', ['release_id', 'name', 'source_name'])
        .execute();
      const object = dialect === 'postgres' ? sql`json_object_agg(name, source_name)::text` : sql`json_group_object(name, source_name)`;
      await sql`insert into source_claim_sets (target_id, release_id, claims, learned_at)
        select target_id, release_id, ${object}, max(learned_at) from learned_source_claims group by target_id, release_id`.execute(db);
      await sql`insert into source_claim_counts (release_id, name, source_name, targets, learned_at)
        select release_id, name, source_name, count(*), min(learned_at) from learned_source_claims group by release_id, name, source_name`.execute(db);
      await db.schema.dropTable('learned_source_claims').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
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
      const pairs =
        dialect === 'postgres'
          ? sql`select s.release_id, j.key as name, s.target_id, j.value as source_name, s.learned_at from source_claim_sets s, json_each_text(s.claims::json) j`
          : sql`select s.release_id, j.key as name, s.target_id, j.value as source_name, s.learned_at from source_claim_sets s, json_each(s.claims) j`;
      await sql`insert into learned_source_claims (release_id, name, target_id, source_name, learned_at) ${pairs}`.execute(db);
      await db.schema.dropTable('source_claim_counts').execute();
      await db.schema.dropTable('source_claim_sets').execute();
    },
  };
}
