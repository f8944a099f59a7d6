import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

const BEFORE = `'open', 'no-fix', 'fixed', 'accepted'`;
const AFTER = `'open', 'no-fix', 'fixed', 'accepted', 'withdrawn'`;

/**
 * A finding closed because its advisory was withdrawn by the feed is `withdrawn`, not `fixed`
 * (issue #13: a wrong feed closed 174 real findings as "fixed"): the status check admits it.
 * PostgreSQL alters the constraint; SQLite cannot, so the table is rebuilt from its own stored
 * definition with only the check changed, rows and indexes kept.
 */
export function findingWithdrawn(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await setStatuses(db, dialect, BEFORE, AFTER);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`update findings set status = 'fixed' where status = 'withdrawn'`.execute(db);
      await setStatuses(db, dialect, AFTER, BEFORE);
    },
  };
}

async function setStatuses(db: Kysely<unknown>, dialect: Dialect, from: string, to: string): Promise<void> {
  if (dialect === 'postgres') {
    const checks = await sql<{
      name: string;
    }>`select conname as name from pg_constraint where conrelid = 'findings'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%status%'`.execute(
      db,
    );
    for (const c of checks.rows) await sql`alter table findings drop constraint ${sql.id(c.name)}`.execute(db);
    await sql`alter table findings add constraint findings_status_check check (status in (${sql.raw(to)}))`.execute(db);
    return;
  }
  const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'findings'`.execute(db);
  const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'findings' and sql is not null`.execute(db);
  const create = table.rows[0]?.sql;
  if (create?.includes(from) !== true) throw new Error(`findings: the status check (${from}) is not in its definition`);
  const renamed = create.replace(/^create table\s+("findings"|findings)/i, 'create table "findings_rebuilt"').replace(from, to);
  await sql.raw(renamed).execute(db);
  await sql`insert into findings_rebuilt select * from findings`.execute(db);
  await sql`drop table findings`.execute(db);
  await sql`alter table findings_rebuilt rename to findings`.execute(db);
  for (const i of indexes.rows) await sql.raw(i.sql).execute(db);
}
