import { sql, type Kysely, type Migration } from 'kysely';

/**
 * For large fleets (issue #6 benchmarks): findings carry their severity as a rank, indexed in the
 * API's default order, so a page of the newest-most-severe findings is an index scan, not a sort
 * of every finding; targets keep a fingerprint of their last inventory, so an agent report that
 * changed nothing is recognised without parsing or matching it again.
 */
export function scale(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('findings')
        .addColumn('severity_rank', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update findings set severity_rank = case severity when 'critical' then 5 when 'high' then 4 when 'medium' then 3 when 'low' then 2 when 'none' then 1 else 0 end`.execute(
        db,
      );
      await db.schema.createIndex('findings_page').on('findings').columns(['severity_rank desc', 'first_seen_at', 'pk']).execute();
      await db.schema.alterTable('targets').addColumn('inventory_sha256', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').dropColumn('inventory_sha256').execute();
      await db.schema.dropIndex('findings_page').execute();
      await db.schema.alterTable('findings').dropColumn('severity_rank').execute();
    },
  };
}
