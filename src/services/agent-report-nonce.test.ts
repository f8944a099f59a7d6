import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import type { Advisory } from '../core/advisory.js';
import { getAgent, loadInventory, rawKysely, transaction, upsertAdvisories } from '../storage/index.js';
import { agentKey, createEnrollmentToken, enrollAgent, stringToSign } from './agents.js';
import type { Db } from './store.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';

/**
 * Issue #14: the report route stores its request's nonce inside the report's own transaction (one
 * commit a report, not two). A replayed report must still be refused, whichever way the report is
 * stored (unchanged, as a difference, whole; on a new boot), before or while the first is stored,
 * and must change nothing; a report whose transaction fails leaves no nonce behind.
 */
const advisory: Advisory = testAdvisory({ source: 'nonce-test', id: 'ADV-1', fixes: [fixedIn('debian:13', 'bw-src-0', '1.0-2')] });

const report = (version: string, boot: string | null = null): string =>
  [
    'bulwark-report 1',
    '@@os-release',
    'ID=debian',
    'VERSION_ID="13"',
    '@@uname',
    '6.1.0-18-amd64',
    'x86_64',
    ...(boot === null ? [] : ['@@boot', boot, '1700000000']),
    '@@packages dpkg',
    `bw-pkg-0\t${version}\tamd64\tbw-src-0\t${version}\tii `,
    'bw-pkg-1\t2.0-1\tamd64\tbw-src-1\t2.0-1\tii ',
    '',
  ].join('\n');

describe.each(testDatabases())('agent report nonces on $name', ({ open }) => {
  let db: Db;
  let app: ReturnType<typeof createApp>;
  const serverKey = randomBytes(32);
  let agentId = '';

  /** A signed report request, sent again as it is by calling the result again (a replay). */
  const signed = (body: string, nonce = randomBytes(16).toString('hex')): (() => Promise<Response>) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const path = '/agent/v1/report';
    const sig = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
      .update(stringToSign(agentId, ts, nonce, 'POST', path, body))
      .digest('hex');
    const headers = {
      'content-type': 'text/plain',
      'x-bulwark-agent': agentId,
      'x-bulwark-timestamp': ts,
      'x-bulwark-nonce': nonce,
      'x-bulwark-signature': sig,
    };
    return () => Promise.resolve(app.request(path, { method: 'POST', headers, body }));
  };
  const answer = async (res: Promise<Response>): Promise<[number, string]> => {
    const r = await res;
    return [r.status, await r.text()];
  };
  const installed = async (): Promise<string[]> => {
    const targetId = (await getAgent(db, agentId))?.targetId ?? '';
    return (await loadInventory(db, targetId)).map((p) => `${p.name} ${p.version}`).sort();
  };
  const nonces = async (): Promise<number> =>
    Number((await sql<{ n: number | string }>`select count(*) as n from agent_nonces`.execute(rawKysely(db))).rows[0]?.n);

  beforeEach(async () => {
    db = await open();
    app = createApp(db, {
      knownHostsFile: '/nonexistent/known_hosts',
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: serverKey,
      authFailuresPerMinute: 1000,
    });
    await transaction(db, (tx) => upsertAdvisories(tx, [advisory], new Date().toISOString()));
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'test' } });
    agentId = (await enrollAgent(db, serverKey, { token, hostname: 'nonce-host' })).agentId;
  });
  afterEach(async () => {
    await db.close();
  });

  it('refuses a replayed report stored whole, unchanged, or as a difference, and the replay changes nothing', async () => {
    const first = signed(report('1.0-1'));
    expect(await answer(first())).toEqual([200, 'ok 2 packages, 1 findings (1 new, 0 closed)\n']);
    expect(await answer(first())).toEqual([401, expect.stringMatching(/replay/) as string]);
    // The same text under a new nonce is unchanged; replayed, refused.
    const same = signed(report('1.0-1'));
    expect(await answer(same())).toEqual([200, 'ok unchanged\n']);
    expect((await answer(same()))[0]).toBe(401);
    // A fixed package (stored as a difference), then the old report replayed: refused, and the
    // host keeps the newer inventory.
    const fixed = signed(report('1.0-2'));
    expect(await answer(fixed())).toEqual([200, 'ok 2 packages, 0 findings (0 new, 1 closed)\n']);
    expect(await answer(first())).toEqual([401, expect.stringMatching(/replay/) as string]);
    expect(await answer(fixed())).toEqual([401, expect.stringMatching(/replay/) as string]);
    expect(await installed()).toEqual(['bw-pkg-0 1.0-2', 'bw-pkg-1 2.0-1']);
    expect(await nonces()).toBe(3);
  });

  it('refuses a replayed report from an older boot: the boot id stays the newer one', async () => {
    const [bootA, bootB] = [randomUUID(), randomUUID()];
    const fromA = signed(report('1.0-1', bootA));
    expect((await answer(fromA()))[0]).toBe(200);
    expect((await answer(signed(report('1.0-1', bootB))()))[0]).toBe(200);
    expect((await getAgent(db, agentId))?.bootId).toBe(bootB);
    expect((await answer(fromA()))[0]).toBe(401);
    expect((await getAgent(db, agentId))?.bootId).toBe(bootB);
  });

  it('takes exactly one of the same report sent twice at once', async () => {
    const twice = signed(report('1.0-1'));
    const statuses = (await Promise.all([answer(twice()), answer(twice())])).map(([s]) => s).sort();
    expect(statuses).toEqual([200, 401]);
    expect(await nonces()).toBe(1);
  });

  it('leaves no nonce when the report fails: the same request sent again is stored, once', async () => {
    const req = signed(report('1.0-1'));
    // Matching fails after the inventory is stored: the advisories cannot be read.
    await sql`alter table advisories rename to advisories_away`.execute(rawKysely(db));
    expect((await answer(req()))[0]).toBe(500);
    await sql`alter table advisories_away rename to advisories`.execute(rawKysely(db));
    expect(await nonces()).toBe(0);
    expect(await answer(req())).toEqual([200, 'ok 2 packages, 1 findings (1 new, 0 closed)\n']);
    expect((await answer(req()))[0]).toBe(401);
  });

  it('still stores the nonce of other agent requests before they run', async () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const sig = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
      .update(stringToSign(agentId, ts, nonce, 'GET', '/agent/v1/tasks', ''))
      .digest('hex');
    const headers = { 'x-bulwark-agent': agentId, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig };
    expect(await answer(Promise.resolve(app.request('/agent/v1/tasks', { headers })))).toEqual([200, 'none\n']);
    expect((await answer(Promise.resolve(app.request('/agent/v1/tasks', { headers }))))[0]).toBe(401);
    expect(await nonces()).toBe(1);
  });
});
