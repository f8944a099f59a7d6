import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import type { Kysely } from 'kysely';
import { backfillFeedSourceOrigin } from '../storage/migrations/0026-feed-source-origin.js';
import { recordAudit } from './audit.js';
import { addSource, listSources, syncSource } from './feeds.js';
import type { Db } from './store.js';
import { rawKysely } from '../storage/index.js';

/**
 * The operator's allow-list of own-network mirrors (BULWARK_FEED_ALLOW) serves sources the
 * operator configured (CLI); a source an admin token configured through the API uses it only when
 * the operator also sets BULWARK_FEED_ALLOW_API=yes, and its literal address is never taken as
 * the operator's choice. Checked at every sync, on SQLite and PostgreSQL, with a real server.
 */
describe.each(testDatabases())('feed sources by who configured them, on $name', ({ open }) => {
  let db: Db;
  let server: Server;
  let port = 0;
  let hits = 0;
  const feed = readFileSync(join(import.meta.dirname, '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml'));
  beforeAll(async () => {
    db = await open();
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(200).end(feed);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
    await db.close();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  const sync = async (id: string): Promise<string> => {
    try {
      const r = await syncSource(db, id, { force: true });
      return r.status;
    } catch (err) {
      return `failed: ${(err as Error).message.replace(/^http:\/\/[^ ]*: /, '')}`;
    }
  };
  const NEUTRAL = 'failed: cannot connect (the host is not reachable, refused the connection, or is not at a public address)';

  it('keeps who configured each source (the CLI by default)', async () => {
    await addSource(db, { id: 'by-cli', format: 'oval', release: 'azurelinux:3.0', location: `http://localhost:${String(port)}/feed.xml` });
    await addSource(db, { id: 'by-api', format: 'oval', release: 'azurelinux:3.0', location: `http://localhost:${String(port)}/feed.xml`, via: 'api' });
    await addSource(db, { id: 'literal-api', format: 'oval', release: 'azurelinux:3.0', location: `http://127.0.0.1:${String(port)}/feed.xml`, via: 'api' });
    await addSource(db, { id: 'literal-cli', format: 'oval', release: 'azurelinux:3.0', location: `http://127.0.0.1:${String(port)}/feed.xml` });
    const by = Object.fromEntries((await listSources(db)).filter((s) => !s.id.includes('.')).map((s) => [s.id, s.addedVia]));
    expect(by).toMatchObject({ 'by-cli': 'cli', 'by-api': 'api', 'literal-api': 'api', 'literal-cli': 'cli' });
  });

  it("lets only the operator's sources through the allow-list unless the operator allows the API too", async () => {
    vi.stubEnv('BULWARK_FEED_ALLOW', 'localhost');
    const before = hits;
    expect([await sync('by-cli'), await sync('by-api'), await sync('literal-cli'), await sync('literal-api')]).toEqual(['synced', NEUTRAL, 'synced', NEUTRAL]);
    expect(hits - before).toBe(2);
    vi.stubEnv('BULWARK_FEED_ALLOW_API', 'yes');
    expect([await sync('by-api'), await sync('literal-api')]).toEqual(['synced', NEUTRAL]);
    vi.stubEnv('BULWARK_FEED_ALLOW', 'localhost,127.0.0.1');
    expect(await sync('literal-api')).toBe('synced');
  });

  it('tells sources configured before it was stored apart by the audit log (migration 0026)', async () => {
    await addSource(db, { id: 'old-api', format: 'oval', location: `http://localhost:${String(port)}/feed.xml`, via: 'api' }, { kind: 'cli', name: 'alice' });
    await addSource(db, { id: 'old-cli', format: 'oval', location: `http://localhost:${String(port)}/feed.xml`, via: 'api' }, { kind: 'cli', name: 'alice' });
    await addSource(db, { id: 'old-none', format: 'oval', location: `http://localhost:${String(port)}/feed.xml`, via: 'api' }, { kind: 'cli', name: 'alice' });
    // As before the column: everything cli; the audit log says who added each last.
    await rawKysely(db).updateTable('feed_sources').set({ added_via: 'cli' }).where('id', 'in', ['old-api', 'old-cli', 'old-none']).execute();
    await recordAudit(db, { kind: 'cli', name: 'alice' }, 'feed.add', 'old-api');
    await recordAudit(db, { kind: 'token', name: 'abc:admin' }, 'feed.add', 'old-api');
    await recordAudit(db, { kind: 'user', name: 'bob' }, 'feed.add', 'old-cli');
    await recordAudit(db, { kind: 'cli', name: 'alice' }, 'feed.add', 'old-cli');
    await backfillFeedSourceOrigin(rawKysely(db) as unknown as Kysely<unknown>);
    const by = Object.fromEntries((await listSources(db)).filter((s) => s.id.startsWith('old-')).map((s) => [s.id, s.addedVia]));
    expect(by).toEqual({ 'old-api': 'api', 'old-cli': 'cli', 'old-none': 'cli' });
  });

  it('takes the origin of whoever configured the location last', async () => {
    vi.stubEnv('BULWARK_FEED_ALLOW', 'localhost');
    await addSource(db, { id: 'by-cli', format: 'oval', release: 'azurelinux:3.0', location: `http://localhost:${String(port)}/feed.xml`, via: 'api' });
    expect(await sync('by-cli')).toBe(NEUTRAL);
    await addSource(db, { id: 'by-cli', format: 'oval', release: 'azurelinux:3.0', location: `http://localhost:${String(port)}/feed.xml` });
    expect(await sync('by-cli')).toBe('synced');
  });
});
