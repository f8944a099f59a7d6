import type { Kysely, Migration } from 'kysely';

/** The image build a host was made from (`<image>@<build>`, read from /etc/bulwark-image). */
export function targetImage(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').addColumn('image', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').dropColumn('image').execute();
    },
  };
}
