import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Repositories and their snapshots (issue #7): a snapshot is immutable and content-addressed —
 * its id is the SHA-256 of the repomd.xml it was taken from, its files are stored by their own
 * SHA-256 (in the object store beside the database), and the row lists them.
 */
export function repos(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('repos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('rpm-md', 'deb')`))
        /** deb: the suite (dists/<suite>), or null for a flat repository. */
        .addColumn('suite', 'text')
        /** deb: JSON arrays of components and architectures. */
        .addColumn('components', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('arches', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('url', 'text', (c) => c.notNull())
        /** JSON: [{ origin, armored }] — the keys trusted to sign this repository's metadata. */
        .addColumn('keys', 'text', (c) => c.notNull())
        .addColumn('verify', 'integer', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('repo_snapshots')
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('repo_id', 'text', (c) => c.notNull().references('repos.id').onDelete('cascade'))
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('revision', 'text')
        .addColumn('packages', 'integer', (c) => c.notNull())
        .addColumn('signed_by', 'text')
        /** JSON: [{ type, href, sha256, size }] */
        .addColumn('files', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('repo_snapshots_pk', ['repo_id', 'id'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('repo_snapshots').execute();
      await db.schema.dropTable('repos').execute();
    },
  };
}
