import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

const STATUS = 'mitigated';

/**
 * Live patches (issue #15): each target keeps its running kernel's live patches as its last
 * inventory said (`targets.live_patches`, JSON; null: not collected), and a finding whose every
 * CVE a loaded live patch fixes is `mitigated`: the status check admits it. The check is
 * rewritten from the one the database has (another migration may have added a status too, and
 * migrations run in any order): PostgreSQL alters the constraint; SQLite cannot, so the table is
 * rebuilt from its own stored definition with only the check changed, rows and indexes kept.
 */
export function livePatches(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('targets').addColumn('live_patches', 'text').execute();
      await editStatuses(db, dialect, (list) => (list.includes(STATUS) ? list : [...list, STATUS]));
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`update findings set status = 'open' where status = ${STATUS}`.execute(db);
      await editStatuses(db, dialect, (list) => list.filter((s) => s !== STATUS));
      await db.schema.alterTable('targets').dropColumn('live_patches').execute();
    },
  };
}

/** The quoted words of `status in ('a', 'b')` (or PostgreSQL's `status = ANY (ARRAY['a'::text, …])`). */
function statusesIn(def: string): string[] {
  return [...def.matchAll(/'([a-z-]+)'/g)].map((m) => m[1] ?? '').filter((s) => s !== '');
}

const quoted = (list: readonly string[]): string => list.map((s) => `'${s}'`).join(', ');

async function editStatuses(db: Kysely<unknown>, dialect: Dialect, edit: (list: string[]) => string[]): Promise<void> {
  if (dialect === 'postgres') {
    const checks = await sql<{
      name: string;
      def: string;
    }>`select conname as name, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'findings'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%status%'`.execute(
      db,
    );
    const first = checks.rows[0];
    if (first === undefined) throw new Error('findings: no status check to extend');
    const list = edit(statusesIn(first.def));
    for (const c of checks.rows) await sql`alter table findings drop constraint ${sql.id(c.name)}`.execute(db);
    await sql`alter table findings add constraint findings_status_check check (status in (${sql.raw(quoted(list))}))`.execute(db);
    return;
  }
  const table = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = 'findings'`.execute(db);
  const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'findings' and sql is not null`.execute(db);
  const create = table.rows[0]?.sql;
  const check = create === undefined ? null : /status in \(([^)]*)\)/.exec(create);
  if (create === undefined || check?.[1] === undefined) throw new Error('findings: no status check in its definition');
  const list = edit(statusesIn(check[1]));
  const renamed = create.replace(/^create table\s+("findings"|findings)/i, 'create table "findings_rebuilt"').replace(check[0], `status in (${quoted(list)})`);
  await sql.raw(renamed).execute(db);
  await sql`insert into findings_rebuilt select * from findings`.execute(db);
  await sql`drop table findings`.execute(db);
  await sql`alter table findings_rebuilt rename to findings`.execute(db);
  for (const i of indexes.rows) await sql.raw(i.sql).execute(db);
}
