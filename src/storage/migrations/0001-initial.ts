import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The first schema: releases, advisories with their CVEs, references, fixes and change
 * events, targets with deduplicated packages, and findings (DESIGN.md domain words).
 */
export function initial(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serial = (c: ColumnDefinitionBuilder): ColumnDefinitionBuilder => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  const real = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('releases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('distro', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('family', 'text', (c) => c.notNull().check(sql`family in ('rpm', 'deb')`))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('ga', 'text')
        .addColumn('end_of_standard_support', 'text')
        .addColumn('end_of_security_support', 'text')
        .execute();

      await db.schema
        .createTable('advisories')
        .addColumn('pk', serialType, serial)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('advisory_id', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('cvss_score', real)
        .addColumn('cvss_vector', 'text')
        .addColumn('published_at', 'text')
        .addColumn('updated_at', 'text')
        .addColumn('parser', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', ts, (c) => c.notNull())
        .addColumn('last_changed_at', ts, (c) => c.notNull())
        .addColumn('withdrawn_at', ts)
        .addUniqueConstraint('advisories_source_id', ['source', 'advisory_id'])
        .execute();

      await db.schema
        .createTable('advisory_cves')
        .addColumn('advisory_pk', 'bigint', (c) => c.notNull().references('advisories.pk').onDelete('cascade'))
        .addColumn('cve', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('advisory_cves_pk', ['advisory_pk', 'cve'])
        .execute();
      await db.schema.createIndex('advisory_cves_cve').on('advisory_cves').column('cve').execute();

      await db.schema
        .createTable('advisory_references')
        .addColumn('advisory_pk', 'bigint', (c) => c.notNull().references('advisories.pk').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ref_id', 'text')
        .addColumn('url', 'text')
        .addPrimaryKeyConstraint('advisory_references_pk', ['advisory_pk', 'seq'])
        .execute();

      await db.schema
        .createTable('fixes')
        .addColumn('advisory_pk', 'bigint', (c) => c.notNull().references('advisories.pk').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('package_kind', 'text', (c) => c.notNull().check(sql`package_kind in ('source', 'binary')`))
        .addColumn('arch', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('fixed', 'text')
        .addColumn('last_affected', 'text')
        .addColumn('introduced', 'text')
        .addColumn('introduced_inclusive', 'integer', (c) => c.notNull().defaultTo(1))
        .addPrimaryKeyConstraint('fixes_pk', ['advisory_pk', 'seq'])
        .execute();
      // The matcher's candidate lookup: (release, package name).
      await db.schema.createIndex('fixes_release_package').on('fixes').columns(['release_id', 'package']).execute();

      await db.schema
        .createTable('advisory_events')
        .addColumn('pk', serialType, serial)
        .addColumn('advisory_pk', 'bigint', (c) => c.notNull().references('advisories.pk').onDelete('cascade'))
        .addColumn('at', ts, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('advisory_events_advisory').on('advisory_events').columns(['advisory_pk', 'pk']).execute();

      await db.schema
        .createTable('targets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('host', 'image')`))
        .addColumn('platform', 'text')
        .addColumn('release_id', 'text')
        .addColumn('arch', 'text')
        .addColumn('address', 'text')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('inventory_at', ts)
        .addColumn('running_kernel', 'text')
        .addColumn('reboot_required', 'integer')
        .execute();

      await db.schema
        .createTable('packages')
        .addColumn('pk', serialType, serial)
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('family', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('epoch', 'bigint')
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('release', 'text')
        .addColumn('arch', 'text', (c) => c.notNull())
        .addColumn('source_name', 'text')
        .addColumn('source_version', 'text')
        .execute();
      await db.schema.createIndex('packages_name').on('packages').columns(['name']).execute();
      await db.schema.createIndex('packages_source_name').on('packages').columns(['source_name']).execute();

      await db.schema
        .createTable('target_packages')
        .addColumn('target_id', 'text', (c) => c.notNull().references('targets.id').onDelete('cascade'))
        .addColumn('package_pk', 'bigint', (c) => c.notNull().references('packages.pk'))
        .addPrimaryKeyConstraint('target_packages_pk', ['target_id', 'package_pk'])
        .execute();
      await db.schema.createIndex('target_packages_package').on('target_packages').column('package_pk').execute();

      await db.schema
        .createTable('findings')
        .addColumn('pk', serialType, serial)
        .addColumn('target_id', 'text', (c) => c.notNull().references('targets.id').onDelete('cascade'))
        .addColumn('advisory_pk', 'bigint', (c) => c.notNull().references('advisories.pk').onDelete('cascade'))
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('arch', 'text', (c) => c.notNull())
        .addColumn('installed', 'text', (c) => c.notNull())
        .addColumn('fixed', 'text')
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'no-fix', 'fixed', 'accepted')`))
        .addColumn('reason', 'text')
        .addColumn('first_seen_at', ts, (c) => c.notNull())
        .addColumn('last_seen_at', ts, (c) => c.notNull())
        .addColumn('closed_at', ts)
        .addColumn('deadline', ts)
        .addUniqueConstraint('findings_identity', ['target_id', 'advisory_pk', 'package', 'arch'])
        .execute();
      await db.schema.createIndex('findings_status').on('findings').columns(['status', 'severity']).execute();
    },
  };
}
