import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentKey, createEnrollmentToken, enrollAgent, runAgentTask, stringToSign } from '../services/agents.js';
import { openStore, type Db } from '../services/store.js';
import { getAgent } from '../storage/index.js';
import { REPORT_BODY_LIMIT, TASK_RESULT_BODY_LIMIT } from './routes/index.js';
import { startServer } from './server.js';
import { refusingTransport } from '../../test/refusing-transport.js';

/**
 * Request bodies on the real server (a listening socket, real clients): every /agent/ route has a
 * limit of its own, refused with 413 before the body is read — by Content-Length at once, a
 * streamed body as soon as it passes the limit — and a request naming no enrolled agent is
 * refused before its body is read at all. Enrollment is public, so its limit is a few KB.
 */
const refusing = refusingTransport;

/**
 * A POST that declares `declared` bytes (null: chunked) and then streams zeros, up to `total`,
 * until the server answers. Says how many bytes were written before the answer came.
 */
function post(
  url: string,
  o: { headers?: Record<string, string>; declared: number | null; total: number },
): Promise<{ status: number; body: string; written: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = httpRequest(
      url,
      { method: 'POST', headers: { 'content-type': 'text/plain', ...(o.declared === null ? {} : { 'content-length': String(o.declared) }), ...o.headers } },
      (res) => {
        answered = true;
        const at = written;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), written: at });
        });
      },
    );
    // The server may close the connection once it has answered: that is not a failure here.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.flushHeaders();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (!answered && written < o.total) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && written >= o.total && o.declared === null) req.end();
    };
    // Content-Length announced: nothing is sent for the first moment, to see that the answer needs none.
    setTimeout(pump, o.declared === null ? 0 : 300);
  });
}

describe('request body limits on the agent routes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-limits-'));
  const serverKey = randomBytes(32);
  let db: Db;
  let server: { url: string; close: () => Promise<void> };
  let agentId = '';
  let targetId = '';

  const signed = (method: string, path: string, body: string | Buffer): Record<string, string> => {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const sig = createHmac('sha256', Buffer.from(agentKey(serverKey, agentId), 'hex'))
      .update(stringToSign(agentId, ts, nonce, method, path, body))
      .digest('hex');
    return { 'x-bulwark-agent': agentId, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig };
  };

  beforeAll(async () => {
    db = await openStore({ dbPath: join(dir, 'b.db') });
    server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => refusing,
      version: 'test',
      agentServerKey: serverKey,
      authFailuresPerMinute: 1000,
    });
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'test' } });
    agentId = (await enrollAgent(db, serverKey, { token, hostname: 'big-host' })).agentId;
    targetId = (await getAgent(db, agentId))?.targetId ?? '';
  });
  afterAll(async () => {
    await server.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a public enrollment larger than a few KB by its Content-Length, before a byte of it is sent', async () => {
    const r = await post(`${server.url}/agent/v1/enroll`, { declared: 400_000_000, total: 400_000_000 });
    expect([r.status, r.written]).toEqual([413, 0]);
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'input.too-large', message: 'the request body is larger than 4096 bytes' } });
  });

  it('stops reading a streamed enrollment (no Content-Length) as soon as it passes the limit', async () => {
    const total = 256 * 1024 * 1024;
    const r = await post(`${server.url}/agent/v1/enroll`, { declared: null, total });
    expect(r.status).toBe(413);
    // What was written before the answer: socket buffers, not the 256 MiB.
    expect(r.written).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a signed request of an unknown agent before reading its body, and an oversized report of a real one', async () => {
    const unknown = await post(`${server.url}/agent/v1/report`, {
      declared: null,
      total: 64 * 1024 * 1024,
      headers: { ...signed('POST', '/agent/v1/report', ''), 'x-bulwark-agent': 'ffffffffffffffff' },
    });
    expect([unknown.status, unknown.written < 16 * 1024 * 1024]).toEqual([401, true]);
    expect(unknown.body).toMatch(/unknown or revoked agent/);
    const big = await post(`${server.url}/agent/v1/report`, {
      declared: REPORT_BODY_LIMIT + 1,
      total: REPORT_BODY_LIMIT + 1,
      headers: signed('POST', '/agent/v1/report', ''),
    });
    expect([big.status, big.written]).toEqual([413, 0]);
  });

  it('takes a signed report of a host with 5,000 packages, and a task result with a MiB of output', async () => {
    const lines = Array.from(
      { length: 5000 },
      (_, i) => `bw-package-number-${String(i)}\t2:1.${String(i)}.0-3+deb12u1\tamd64\tbw-source-package-${String(i)}\t2:1.${String(i)}.0-3+deb12u1\tii `,
    );
    const report = [
      'bulwark-report 1',
      '@@os-release',
      'ID=debian',
      'VERSION_ID="12"',
      '@@uname',
      '6.1.0-18-amd64',
      'x86_64',
      '@@managers',
      'apt-get',
      '@@packages dpkg',
      ...lines,
      '',
    ].join('\n');
    const res = await fetch(`${server.url}/agent/v1/report`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...signed('POST', '/agent/v1/report', report) },
      body: report,
    });
    expect([res.status, /^ok 5000 packages, \d+ findings/.test(await res.text())]).toEqual([200, true]);
    // A real report of this size is far below the limit.
    expect(Buffer.byteLength(report)).toBeLessThan(REPORT_BODY_LIMIT / 10);

    const task = runAgentTask(db, targetId, 'exec', ['dnf', '-y', 'install', 'x-1-1'], { timeoutMs: 20_000, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    const next = await (await fetch(`${server.url}/agent/v1/tasks`, { headers: signed('GET', '/agent/v1/tasks', '') })).text();
    const pk = /^task (\d+) exec$/m.exec(next)?.[1] ?? '';
    const path = `/agent/v1/tasks/${pk}/result`;
    const tooBig = `exit=0\n${'x'.repeat(TASK_RESULT_BODY_LIMIT)}`;
    const refused = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...signed('POST', path, tooBig) },
      body: tooBig,
    });
    expect(refused.status).toBe(413);
    const result = `exit=0\n${'x'.repeat(1024 * 1024)}`;
    const ok = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...signed('POST', path, result) },
      body: result,
    });
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);
    const done = await task;
    expect([done.code, done.stdout.length]).toEqual([0, 1024 * 1024]);
  });
});
