import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testDatabases } from '../../../test/databases.js';
import type { Advisory } from '../../core/advisory.js';
import { rawKysely, transaction, type Db, type Tx } from '../database.js';
import { upsertAdvisories } from './advisories.js';
import { advisoryPksOf } from './builds.js';
import { restoreIndexes, suspendFindingIndexes } from './findings-bulk.js';
import { writeFindingSets, type ResolvedFinding } from './findings-write.js';
import { upsertTarget } from './targets.js';
import { testAdvisory } from '../../../test/advisory-fixture.js';

const T0 = '2026-12-01T00:00:00.000Z';
const SOURCE = 'azurelinux-3.0-oval';

const advisory = (id: string): Advisory => testAdvisory({ source: SOURCE, id });

/** Every stored finding, without its row id (the two write paths number rows alike only by chance). */
async function findingRows(db: Db): Promise<string[]> {
  const rows = await rawKysely(db)
    .selectFrom('findings')
    .innerJoin('targets', 'targets.id', 'findings.target_id')
    .selectAll('findings')
    .select('targets.name')
    .execute();
  return rows
    .map((r) => {
      const o: Record<string, unknown> = { ...r };
      delete o['pk'];
      delete o['target_id'];
      return JSON.stringify(o);
    })
    .sort();
}

const indexesOf = async (db: Db | Tx): Promise<unknown[]> =>
  (
    await (
      db.dialect === 'sqlite'
        ? sql<{ name: string; sql: string | null }>`select name, sql from sqlite_master where tbl_name = 'findings' order by name`
        : sql<{
            name: string;
            sql: string;
          }>`select indexname as name, indexdef as sql from pg_indexes where tablename = 'findings' and schemaname = current_schema() order by indexname`
    ).execute(rawKysely(db))
  ).rows;

/**
 * Issue #14 bulk import: new findings written by one prepared statement inside a transaction
 * (SQLite) store exactly what the multi-row statements store, and the findings indexes dropped
 * for a scan that at least doubles the table come back exactly as they were, or stay when the
 * transaction rolls back.
 */
describe.each(testDatabases())('bulk findings writes on $name', ({ name, open }) => {
  let a: Db;
  let b: Db;
  beforeEach(async () => {
    [a, b] = [await open(), await open()];
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  const sets = async (db: Db, hosts: number): Promise<{ targetId: string; current: ResolvedFinding[]; builds: [] }[]> => {
    await upsertAdvisories(db, [advisory('oval:1'), advisory('oval:2'), advisory('oval:3')], T0);
    const pks = await advisoryPksOf(
      db,
      ['oval:1', 'oval:2', 'oval:3'].map((id) => ({ source: SOURCE, id })),
    );
    const out = [];
    for (let h = 0; h < hosts; h++) {
      const t = await upsertTarget(db, { name: `h${String(h)}`, kind: 'host' }, T0);
      const current: ResolvedFinding[] = ['oval:1', 'oval:2', 'oval:3'].slice(0, 1 + (h % 3)).map((id, i) => ({
        advisorySource: SOURCE,
        advisoryId: id,
        advisoryPk: pks.get(`${SOURCE}\u0000${id}`) as number,
        package: i === 1 ? 'curl' : 'openssl',
        arch: h % 2 === 0 ? 'x86_64' : 'aarch64',
        installed: `0:3.${String(h)}-1.azl3`,
        fixed: i === 2 ? null : '0:9-1.azl3',
        severity: i === 0 ? 'critical' : 'low',
        status: i === 2 ? 'no-fix' : 'open',
        reason: i === 1 ? 'a reason with "quotes" and ünïcode' : null,
        ...(i === 1 ? {} : { sourcePackage: 'openssl' }),
      }));
      out.push({ targetId: t.id, current, builds: [] as [] });
    }
    return out;
  };

  it('stores the same findings inside a transaction as outside one', async () => {
    const outside = await sets(a, 7);
    const inside = await sets(b, 7);
    await writeFindingSets(a, outside, {}, T0);
    await transaction(b, (tx) => writeFindingSets(tx, inside, {}, T0));
    const want = await findingRows(a);
    expect(want.length).toBe(13);
    expect(await findingRows(b)).toEqual(want);
  });

  it('stores many new findings in a transaction (50-row statements and single rows) as outside one, numbered in the order given', async () => {
    const outside = await sets(a, 61);
    const inside = await sets(b, 61);
    await writeFindingSets(a, outside, {}, T0);
    await transaction(b, (tx) => writeFindingSets(tx, inside, {}, T0));
    const want = await findingRows(a);
    expect(want.length).toBe(121);
    expect(await findingRows(b)).toEqual(want);
    const order = await rawKysely(b)
      .selectFrom('findings')
      .innerJoin('targets', 'targets.id', 'findings.target_id')
      .select(['targets.name', 'findings.advisory_pk'])
      .orderBy('findings.pk')
      .execute();
    const names = new Map((await rawKysely(b).selectFrom('targets').select(['id', 'name']).execute()).map((t) => [t.id, t.name]));
    expect(order.map((r) => `${r.name} ${String(r.advisory_pk)}`)).toEqual(
      inside.flatMap((s) => s.current.map((f) => `${String(names.get(s.targetId))} ${String(f.advisoryPk)}`)),
    );
  });

  it('drops the secondary indexes only for a scan that at least doubles the findings, and builds them again as they were', async () => {
    const first = await sets(a, 6);
    const before = await indexesOf(a);
    // Outside a transaction, or on PostgreSQL: never.
    expect(
      await suspendFindingIndexes(
        a,
        first.map((s) => s.targetId),
      ),
    ).toBeNull();
    await transaction(a, async (tx) => {
      const s = await suspendFindingIndexes(
        tx,
        first.slice(0, 3).map((x) => x.targetId),
      );
      if (name === 'postgres') expect(s).toBeNull();
      else {
        expect(s?.statements.length).toBeGreaterThan(3);
        expect((await indexesOf(tx)).length).toBeLessThan(before.length);
      }
      await writeFindingSets(tx, first.slice(0, 3), {}, T0);
      await restoreIndexes(tx, s);
    });
    expect(await indexesOf(a)).toEqual(before);
    // 3 targets with findings, 2 fresh ones: not enough to rebuild.
    await transaction(a, async (tx) => {
      expect(
        await suspendFindingIndexes(
          tx,
          first.slice(1, 5).map((x) => x.targetId),
        ),
      ).toBeNull();
    });
    // A failure after the drop rolls the drop back too.
    await expect(
      transaction(a, async (tx) => {
        const s = await suspendFindingIndexes(
          tx,
          first.slice(3).map((x) => x.targetId),
        );
        if (name === 'sqlite') expect(s).not.toBeNull();
        await writeFindingSets(tx, first.slice(3), {}, T0);
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(await indexesOf(a)).toEqual(before);
    expect((await findingRows(a)).length).toBe(6);
  });
});
