import { createHmac, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import type { Advisory } from '../core/advisory.js';
import { getAgent, loadInventory, rawKysely, transaction, upsertAdvisories } from '../storage/index.js';
import { agentKey, createEnrollmentToken, enrollAgent, stringToSign } from './agents.js';
import { findFindings } from './report.js';
import type { Db } from './store.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';

/**
 * Issue #20 item 4: a host of 100,000 packages reports through the API (the route the agent
 * posts to, signature and all) and is stored and matched on both databases. Every IN list built
 * from a report's package names is chunked: SQLite binds at most 32,766 parameters per statement
 * and PostgreSQL 65,535, and a report of 33,000 packages used to answer 500 after its inventory
 * and fingerprint were committed, so the resent report was "unchanged" and never matched.
 */
const advisory = (id: string, pkg: string, fixed: string): Advisory => testAdvisory({ source: 'scale-test', id, fixes: [fixedIn('debian:13', pkg, fixed)] });

const report = (n: number, version = (i: number) => `1.${String(i)}.0-1`): string =>
  [
    'bulwark-report 1',
    '@@os-release',
    'ID=debian',
    'VERSION_ID="13"',
    '@@uname',
    '6.1.0-18-amd64',
    'x86_64',
    '@@managers',
    'apt-get',
    '@@packages dpkg',
    ...Array.from({ length: n }, (_, i) => `bw-pkg-${String(i)}\t${version(i)}\tamd64\tbw-src-${String(i)}\t${version(i)}\tii `),
    '',
  ].join('\n');

describe.each(testDatabases())('a large agent report on $name', ({ open }) => {
  let db: Db;
  let app: ReturnType<typeof createApp>;
  const serverKey = randomBytes(32);
  let agentId = '';

  const post = (body: string): Promise<Response> => {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const path = '/agent/v1/report';
    const sig = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
      .update(stringToSign(agentId, ts, nonce, 'POST', path, body))
      .digest('hex');
    return Promise.resolve(
      app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-bulwark-agent': agentId, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
        body,
      }),
    );
  };

  beforeEach(async () => {
    db = await open();
    app = createApp(db, {
      knownHostsFile: '/nonexistent/known_hosts',
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: serverKey,
      authFailuresPerMinute: 1000,
    });
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'test' } });
    agentId = (await enrollAgent(db, serverKey, { token, hostname: 'huge-host' })).agentId;
  });
  afterEach(async () => {
    await db.close();
  });

  it('stores and matches a report of 100,000 packages', async () => {
    // Advisories naming packages at both ends of the list, and one the host is not affected by.
    await transaction(db, (tx) =>
      upsertAdvisories(
        tx,
        [advisory('ADV-FIRST', 'bw-src-0', '1.0.0-2'), advisory('ADV-LAST', 'bw-src-99999', '1.99999.0-2'), advisory('ADV-FIXED', 'bw-src-50000', '1.0.0-1')],
        new Date().toISOString(),
      ),
    );
    const res = await post(report(100_000));
    expect([res.status, await res.text()]).toEqual([200, 'ok 100000 packages, 2 findings (2 new, 0 closed)\n']);
    const targetId = (await getAgent(db, agentId))?.targetId ?? '';
    expect((await loadInventory(db, targetId)).length).toBe(100_000);
    const found = await findFindings(db, { hosts: ['huge-host'] });
    expect(found.map((f) => `${f.advisoryId} ${f.package} ${f.installed}`).sort()).toEqual(['ADV-FIRST bw-pkg-0 1.0.0-1', 'ADV-LAST bw-pkg-99999 1.99999.0-1']);
    // A findings filter naming 40,000 hosts (a fleet's worth) is bound as one list, not 80,000 parameters.
    const hosts = [...Array.from({ length: 40_000 }, (_, i) => `host-${String(i)}`), 'huge-host'];
    expect((await findFindings(db, { hosts })).length).toBe(2);
  }, 240_000);

  it('does not keep the fingerprint of a report whose matching failed: the same report sent again is matched', async () => {
    await transaction(db, (tx) => upsertAdvisories(tx, [advisory('ADV-FIRST', 'bw-src-0', '1.0.0-2')], new Date().toISOString()));
    const text = report(10);
    // Matching fails after the inventory is stored: the advisories cannot be read.
    await sql`alter table advisories rename to advisories_away`.execute(rawKysely(db));
    const failed = await post(text);
    expect(failed.status).toBe(500);
    await sql`alter table advisories_away rename to advisories`.execute(rawKysely(db));
    const again = await post(text);
    expect([again.status, await again.text()]).toEqual([200, 'ok 10 packages, 1 findings (1 new, 0 closed)\n']);
    expect(await (await post(text)).text()).toBe('ok unchanged\n');
  });
});
