import type { Kysely, Migration } from 'kysely';

/**
 * Which version of each part a composite content view's version was made from (issue #21, items
 * 5 and 7): JSON `[{ view, environment, version }]`, so retention never prunes a version a kept
 * composite version was built from. Null for versions of views without parts, and for versions
 * published before (retention reads the promotion history for those).
 */
export function viewVersionParts(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('view_versions').addColumn('parts', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('view_versions').dropColumn('parts').execute();
    },
  };
}
