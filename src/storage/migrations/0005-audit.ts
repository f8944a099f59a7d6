import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The audit log (issue #5): who applied, approved, held, ran or cancelled what, and when.
 * Append-only, enforced by the database itself: triggers refuse UPDATE and DELETE.
 */
export function audit(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('audit')
        .addColumn('pk', serialType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('at', ts, (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      if (dialect === 'postgres') {
        await sql`create function bulwark_audit_append_only() returns trigger language plpgsql as $$ begin raise exception 'the audit log is append-only'; end $$`.execute(
          db,
        );
        await sql`create trigger audit_append_only before update or delete on audit for each row execute function bulwark_audit_append_only()`.execute(db);
      } else {
        await sql`create trigger audit_no_update before update on audit begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
        await sql`create trigger audit_no_delete before delete on audit begin select raise(abort, 'the audit log is append-only'); end`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('audit').execute();
      if (dialect === 'postgres') await sql`drop function if exists bulwark_audit_append_only()`.execute(db);
    },
  };
}
