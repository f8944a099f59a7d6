import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { rawKysely, type Db } from './database.js';
import { appendAudit, listAudit } from './repositories/audit.js';

describe.each(testDatabases())('the audit log on $name', ({ open }) => {
  let db: Db;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  it('appends and lists newest first; the database refuses updates and deletes', async () => {
    await appendAudit(db, { at: '2026-11-24T10:00:00.000Z', actor: 'cli:alice', action: 'policy.apply', subject: 'p', detail: { version: 1 } });
    await appendAudit(db, { at: '2026-11-24T11:00:00.000Z', actor: 'cli:bob', action: 'host.add', subject: 'web-01', detail: {} });
    expect((await listAudit(db)).map((e) => [e.actor, e.action, e.subject])).toEqual([
      ['cli:bob', 'host.add', 'web-01'],
      ['cli:alice', 'policy.apply', 'p'],
    ]);
    expect(await listAudit(db, { subject: 'p' })).toHaveLength(1);
    await expect(rawKysely(db).updateTable('audit').set({ actor: 'mallory' }).execute()).rejects.toThrow(/append-only/);
    await expect(rawKysely(db).deleteFrom('audit').execute()).rejects.toThrow(/append-only/);
    expect(await listAudit(db)).toHaveLength(2);
  });
});
