import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import { startServer } from '../api/server.js';
import { getAgent, inventoryFingerprint } from '../storage/index.js';
import { agentKey, createEnrollmentToken, enrollAgent, runAgentTask, stringToSign } from './agents.js';
import { openStore, type Db } from './store.js';

/**
 * Issue #20 item 7: an agent signs the bytes it sends (bulwark-agent.sh hashes the file with
 * sha256sum), and they need not be UTF-8: an os-release with a Latin-1 byte, a task's output cut
 * mid-character by `head -c 1048576`. The server verifies over the same bytes.
 */
describe('agent signatures over the bytes sent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-agent-sig-'));
  const serverKey = randomBytes(32);
  let db: Db;
  let app: ReturnType<typeof createApp>;
  let agentId = '';

  /** Through the app in process, or to `url` (a server's socket) when given. */
  const post = (path: string, body: Buffer, url?: string): Promise<Response> => {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const sig = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
      .update(stringToSign(agentId, ts, nonce, 'POST', path, body))
      .digest('hex');
    const init = {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-bulwark-agent': agentId, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
      body,
    };
    return url === undefined ? Promise.resolve(app.request(path, init)) : fetch(`${url}${path}`, init);
  };

  beforeAll(async () => {
    db = await openStore({ dbPath: join(dir, 'b.db') });
    app = createApp(db, {
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: serverKey,
      authFailuresPerMinute: 1000,
    });
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'test' } });
    agentId = (await enrollAgent(db, serverKey, { token, hostname: 'latin1-host' })).agentId;
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies a report holding a Latin-1 byte (not UTF-8) and stores it', async () => {
    const report = Buffer.concat([
      Buffer.from('bulwark-report 1\n@@os-release\nID=debian\nVERSION_ID="13"\nPRETTY_NAME="Debian '),
      Buffer.from([0xe9]), // é in Latin-1
      Buffer.from('"\n@@uname\n6.12.0-1-amd64\nx86_64\n@@packages dpkg\nbash\t5.2.37-2\tamd64\tbash\t5.2.37-2\tii \n'),
    ]);
    const res = await post('/agent/v1/report', report);
    expect([res.status, await res.text()]).toEqual([200, 'ok 1 packages, 0 findings (0 new, 0 closed)\n']);
    // Its fingerprint is the text's, as read (not the signature's hash of the bytes sent): the
    // same report is recognised however it comes.
    const targetId = (await getAgent(db, agentId))?.targetId ?? '';
    expect((await inventoryFingerprint(db, targetId))?.sha256).toBe(createHash('sha256').update(report.toString('utf8')).digest('hex'));
  });

  it('verifies such a report sent to `bulwark serve` over its socket, its body read from the Node request (Content-Length)', async () => {
    const server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: serverKey,
      authFailuresPerMinute: 1000,
    });
    try {
      const report = Buffer.concat([
        Buffer.from('bulwark-report 1\n@@os-release\nID=debian\nVERSION_ID="13"\nPRETTY_NAME="D'),
        Buffer.from([0xe9]),
        Buffer.from('bian"\n@@uname\n6.12.0-1-amd64\nx86_64\n@@packages dpkg\nbash\t5.2.37-3\tamd64\tbash\t5.2.37-3\tii \n'),
      ]);
      const res = await post('/agent/v1/report', report, server.url);
      expect([res.status, await res.text()]).toEqual([200, 'ok 1 packages, 0 findings (0 new, 0 closed)\n']);
      const targetId = (await getAgent(db, agentId))?.targetId ?? '';
      expect((await inventoryFingerprint(db, targetId))?.sha256).toBe(createHash('sha256').update(report.toString('utf8')).digest('hex'));
    } finally {
      await server.close();
    }
  });

  it('verifies a task result whose output head -c cut in the middle of a character', async () => {
    const targetId = (await getAgent(db, agentId))?.targetId ?? '';
    const task = runAgentTask(db, targetId, 'exec', ['dnf', '-y', 'install', 'x-1-1'], { timeoutMs: 20_000, pollMs: 20 });
    let pk = '';
    for (let i = 0; i < 200 && pk === ''; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const ts = String(Math.floor(Date.now() / 1000));
      const nonce = randomBytes(16).toString('hex');
      const sig = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
        .update(stringToSign(agentId, ts, nonce, 'GET', '/agent/v1/tasks', ''))
        .digest('hex');
      const next = await (
        await app.request('/agent/v1/tasks', {
          headers: { 'x-bulwark-agent': agentId, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
        })
      ).text();
      pk = /^task (\d+) exec$/m.exec(next)?.[1] ?? '';
    }
    // "Überprüfung" whose first character (two bytes in UTF-8) lost its second byte.
    const output = Buffer.from('Überprüfung\n').subarray(0, 1);
    const res = await post(`/agent/v1/tasks/${pk}/result`, Buffer.concat([Buffer.from('exit=0\nerror: '), output]));
    expect([res.status, await res.text()]).toEqual([200, 'ok\n']);
    const done = await task;
    expect([done.code, done.stdout]).toEqual([0, 'error: \ufffd']);
  });
});
