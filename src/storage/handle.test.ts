import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { kx, rawKysely, transaction, type Db } from './database.js';
import { getTarget, upsertTarget } from './index.js';

// Services hold a Db and the Tx a transaction hands them, and pass them to repository
// functions; neither shows a query builder (issue #19: SQL stays in storage).
describe.each(testDatabases())('the database handle on $name', ({ open }) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db.close();
  });

  it('shows no query builder: no kysely property, nothing but the dialect, description, schema and close', () => {
    expect('kysely' in db).toBe(false);
    expect(
      Object.keys(db)
        .filter((k) => k !== 'schema')
        .sort(),
    ).toEqual(['close', 'description', 'dialect']);
  });

  it('runs repository functions on the Db and on the Tx a transaction hands, which is not the Db', async () => {
    const seen = await transaction(db, async (tx) => {
      expect(Object.keys(tx).sort()).toEqual(['dialect', 'inTransaction']);
      await upsertTarget(tx, { name: 'handle-01', kind: 'host' }, '2026-12-06T00:00:00.000Z');
      return getTarget(tx, 'handle-01');
    });
    expect(seen?.name).toBe('handle-01');
    expect((await getTarget(db, 'handle-01'))?.name).toBe('handle-01');
  });

  it('rolls a failed transaction back through the Tx', async () => {
    await expect(
      transaction(db, async (tx) => {
        await upsertTarget(tx, { name: 'handle-02', kind: 'host' }, '2026-12-06T00:00:00.000Z');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await getTarget(db, 'handle-02')).toBeNull();
  });

  it('refuses an object that is not an open handle, and gives tests the Kysely handle behind one', async () => {
    expect(() => kx({ dialect: db.dialect, description: 'forged', close: () => Promise.resolve() })).toThrow(/not an open Bulwark database handle/);
    expect(await rawKysely(db).selectFrom('targets').select('name').where('name', '=', 'handle-01').execute()).toEqual([{ name: 'handle-01' }]);
  });
});
