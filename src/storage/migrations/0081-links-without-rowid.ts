import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * On SQLite the host → build links are a WITHOUT ROWID table (issue #14 bulk import): the rows
 * live in their primary key's B-tree (target, build) instead of a rowid table plus a second
 * B-tree of the same key. At 10,000 hosts that is 6 M links and about 290 MB less to write (and
 * to copy again when the WAL is checkpointed), and a host's links sit together in key order.
 * The table is made again and its rows copied in key order, its inverted index after them.
 * PostgreSQL: nothing (a heap with a primary key index, as before).
 */
export function linksWithoutRowid(dialect: Dialect): Migration {
  const rebuild = async (db: Kysely<unknown>, withoutRowid: boolean): Promise<void> => {
    await sql`create table target_packages_next (
      target_id text not null references targets (id) on delete cascade,
      package_pk bigint not null references packages (pk),
      constraint target_packages_pk primary key (target_id, package_pk)
    )${withoutRowid ? sql` without rowid` : sql``}`.execute(db);
    await sql`insert into target_packages_next (target_id, package_pk) select target_id, package_pk from target_packages order by target_id, package_pk`.execute(
      db,
    );
    await sql`drop table target_packages`.execute(db);
    await sql`alter table target_packages_next rename to target_packages`.execute(db);
    await sql`create index target_packages_package_target on target_packages (package_pk, target_id)`.execute(db);
  };
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect === 'sqlite') await rebuild(db, true);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect === 'sqlite') await rebuild(db, false);
    },
  };
}
