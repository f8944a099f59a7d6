import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { getRepo } from '../storage/index.js';
import { auditLog } from './audit.js';
import { addRepo, listRepos } from './repos.js';
import type { Db } from './store.js';

/**
 * A repository's access keys (in its URL's user name, password or query) are shown as ***
 * wherever a repository is shown: `GET /api/v1/repos` (viewers), `repo add` and `repo list`,
 * the audit log. They were shown in full; the stored URL keeps them for syncs.
 */
describe.each(testDatabases())('repository URLs shown on $name', ({ open }) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
  });
  afterAll(async () => {
    await db.close();
  });
  const url = 'https://user:REPOSECRET42@packages.example.invalid/azl/3.0/base/x86_64?token=REPOTOKEN77';
  const shown = 'https://***:***@packages.example.invalid/azl/3.0/base/x86_64?token=***';

  it('never shows the key, and keeps it for syncing', async () => {
    const added = await addRepo(db, { id: 'keyed', url, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    expect(added.url).toBe(shown);
    expect((await listRepos(db)).map((r) => [r.id, r.url])).toEqual([['keyed', shown]]);
    const audit = JSON.stringify(await auditLog(db, { subject: 'keyed' }));
    expect([audit.includes('REPOSECRET42') || audit.includes('REPOTOKEN77'), audit.includes(shown)]).toEqual([false, true]);
    expect((await getRepo(db, 'keyed'))?.url).toBe(url);
  });
});
