import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Issue #17: the console folds findings by source package, and a fleet of 10,000 hosts made that
 * look the source name up in the host's inventory once per finding, on every page (seconds). The
 * name is now stored on the finding when it is written (`source_package`: the inventory's source
 * name of the binary on that host, else the binary's own name), filled here for stored rows the
 * same way the read did (the least source name among the host's builds of that binary), on both
 * databases (the least by code point, as the writer picks it: `collate "C"` on PostgreSQL). Two
 * covering indexes let the grouped views count a fleet's findings from the index alone, and
 * unfold a page's groups in the index's order: by advisory and by source package.
 */
export function findingSourcePackage(dialect: Dialect): Migration {
  const least = dialect === 'postgres' ? sql`min(p.source_name collate "C")` : sql`min(p.source_name)`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('findings').addColumn('source_package', 'text').execute();
      await sql`update findings set source_package = coalesce((select ${least} from target_packages tp inner join packages p on p.pk = tp.package_pk
        where tp.target_id = findings.target_id and p.name = findings.package), findings.package)`.execute(db);
      await db.schema
        .createIndex('findings_group_advisory')
        .on('findings')
        .columns(['advisory_pk', 'package', 'installed', 'fixed', 'target_id', 'status', 'severity_rank', 'first_seen_at'])
        .execute();
      await db.schema
        .createIndex('findings_group_source')
        .on('findings')
        .columns(['source_package', 'package', 'installed', 'fixed', 'advisory_pk', 'target_id', 'status', 'severity_rank', 'first_seen_at'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('findings_group_source').execute();
      await db.schema.dropIndex('findings_group_advisory').execute();
      await db.schema.alterTable('findings').dropColumn('source_package').execute();
    },
  };
}
