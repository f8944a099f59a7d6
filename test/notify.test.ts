import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditLog } from '../src/services/audit.js';
import { runDemo } from '../src/services/demo.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { deliveries, parseNotifyText, retryDeadLetter } from '../src/services/notify.js';
import { applyPolicyText } from '../src/services/policies.js';
import { openStore } from '../src/services/store.js';
import { SYSTEM } from '../src/services/audit.js';
import { rawKysely } from '../src/storage/index.js';
import { freshPgSchema, pgAvailable } from './databases.js';
import { startServe, stopServe } from './serve-process.js';

/**
 * Issue #18 item 4, with two real `bulwark serve --notify FILE` processes on one database: a
 * webhook receiver gets each event exactly once and every signature verifies; a receiver that
 * always fails is retried and then dead-lettered; an e-mail arrives at a small SMTP server
 * (written below: EHLO, MAIL, RCPT, DATA, QUIT); no payload carries a secret.
 */
const SECRET = 'hook-secret-3f9a1c77d2';
const SMTP_PASSWORD = 'smtp-password-8b2e';

describe('notify rules', () => {
  it('are validated strictly, with the line of the mistake', () => {
    const text =
      'notify:\n  channels:\n    - { name: ops, type: webhook, url: "https://h.example/x", secretEnv: OPS }\n  rules:\n    - name: r\n      events: [finding.critical]\n      channels: [opz]\n';
    expect(() => parseNotifyText(text, 'n.yaml')).toThrow(/n\.yaml:7: notify\.rules\.0\.channels\.0: no channel named opz \(channels: ops\)/);
    expect(() => parseNotifyText('notify:\n  rules:\n    - { name: r, events: [finding.cirtical], channels: [x] }\n', 'n.yaml')).toThrow(
      /n\.yaml:3: notify\.rules\.0\.events\.0/,
    );
    expect(() => parseNotifyText('other: 1\n', 'n.yaml')).toThrow(/no "notify:" key/);
    expect(() =>
      parseNotifyText('notify:\n  channels:\n    - { name: m, type: email, smtp: { host: h }, from: "a@b", to: ["x@y\\nBcc: z@w"] }\n', 'n.yaml'),
    ).toThrow(/n\.yaml:3/);
    expect(parseNotifyText('notify:\n', 'n.yaml').rules).toEqual([]);
  });
});

/** Where the two servers' database is: a SQLite file, or a PostgreSQL schema of its own. */
interface Location {
  args: string[];
  env: NodeJS.ProcessEnv;
  drop: () => Promise<void>;
}
const LOCATIONS: { name: string; make: (dir: string) => Promise<Location> }[] = [
  { name: 'sqlite', make: (dir) => Promise.resolve({ args: ['--db', join(dir, 'b.db')], env: { BULWARK_DATABASE_URL: '' }, drop: () => Promise.resolve() }) },
  ...(pgAvailable
    ? [
        {
          name: 'postgres',
          make: async () => {
            const s = await freshPgSchema();
            return { args: [], env: { BULWARK_DATABASE_URL: s.url }, drop: s.drop };
          },
        },
      ]
    : []),
];

describe.each(LOCATIONS)('notifications from two servers on $name', ({ make }) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-comply-notify-'));
  let where: Location = { args: [], env: {}, drop: () => Promise.resolve() };
  const open = (): ReturnType<typeof openStore> => openStore({ dbPath: where.args[1], env: where.env });
  const servers: Awaited<ReturnType<typeof startServe>>[] = [];
  const listeners: { close: (cb: () => void) => void }[] = [];
  afterAll(async () => {
    for (const s of servers) await stopServe(s.child);
    await where.drop();
    for (const l of listeners)
      await new Promise<void>((r) => {
        l.close(() => {
          r();
        });
      });
    rmSync(dir, { recursive: true, force: true });
  });

  const listen = async (s: Server | ReturnType<typeof createNetServer>): Promise<number> => {
    listeners.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  };

  it('each event reaches the webhook once, signed; a failing receiver is retried then dead-lettered; an e-mail arrives', async () => {
    where = await make(dir);
    const s = await open();
    try {
      await runDemo(s);
      await applyPolicyText(s, 'apiVersion: bulwark/v1\nkind: Policy\nname: notify\ncadence: { monthly: { weekday: tuesday, week: 2 } }\n', 'test', SYSTEM);
      await addSource(s, { id: 'broken-feed', format: 'osv', location: join(dir, 'absent.json') });
      await syncSource(s, 'broken-feed').catch(() => undefined);
      const now = new Date().toISOString();
      const k = rawKysely(s);
      const { pk } = await k
        .insertInto('runs')
        .values({
          policy: 'notify',
          plan_pk: null,
          status: 'halted',
          failure_threshold: 0.1,
          max_concurrency: 1,
          created_at: now,
          updated_at: now,
          note: null,
          resume_at: null,
        })
        .returning('pk')
        .executeTakeFirstOrThrow();
      await k
        .insertInto('run_steps')
        .values({
          run_pk: pk,
          seq: 1,
          ring_index: 0,
          target_id: 'x',
          target_name: 'demo-azl3-vm',
          kind: 'update',
          spec: '{}',
          state: 'failed',
          started_at: now,
          finished_at: now,
          exit_code: 1,
          output: '',
        })
        .execute();
    } finally {
      await s.close();
    }

    const received: { key: string; kind: string; body: string; ok: boolean }[] = [];
    const hook = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const ts = String(req.headers['x-bulwark-timestamp'] ?? '');
        const given = Buffer.from(String(req.headers['x-bulwark-signature'] ?? ''));
        const want = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`);
        received.push({
          key: String(req.headers['x-bulwark-delivery']),
          kind: String(req.headers['x-bulwark-event']),
          body,
          ok: given.length === want.length && timingSafeEqual(given, want),
        });
        res.writeHead(204).end();
      });
    });
    let failures = 0;
    const failing = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        failures++;
        res.writeHead(503).end('down');
      });
    });
    const mails: { from: string; to: string[]; data: string; auth: string | null }[] = [];
    const smtp = createNetServer((sock) => {
      sock.setEncoding('utf8');
      let buf = '';
      let inData = false;
      let cur = { from: '', to: [] as string[], data: '', auth: null as string | null };
      sock.write('220 test ESMTP\r\n');
      sock.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\r\n')) !== -1) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (inData) {
            if (line === '.') {
              inData = false;
              mails.push(cur);
              cur = { from: '', to: [], data: '', auth: null };
              sock.write('250 queued\r\n');
            } else cur.data += (line.startsWith('..') ? line.slice(1) : line) + '\n';
            continue;
          }
          if (/^EHLO /i.test(line)) sock.write('250-test\r\n250 AUTH PLAIN\r\n');
          else if (/^AUTH PLAIN /i.test(line)) {
            cur.auth = Buffer.from(line.slice(11), 'base64').toString('utf8');
            sock.write('235 ok\r\n');
          } else if (/^MAIL FROM:/i.test(line)) {
            cur.from = line.slice(10);
            sock.write('250 ok\r\n');
          } else if (/^RCPT TO:/i.test(line)) {
            cur.to.push(line.slice(8));
            sock.write('250 ok\r\n');
          } else if (line === 'DATA') {
            inData = true;
            sock.write('354 go on\r\n');
          } else if (line === 'QUIT') sock.end('221 bye\r\n');
          else sock.write('502 no\r\n');
        }
      });
    });
    const [hookPort, failPort, smtpPort] = [await listen(hook), await listen(failing), await listen(smtp)];
    const file = join(dir, 'bulwark.yaml');
    writeFileSync(
      file,
      `# the notify: key of the configuration file
notify:
  intervalSeconds: 0.5
  retry: { attempts: 3, backoffSeconds: 0.2 }
  channels:
    - { name: ops, type: webhook, url: "http://127.0.0.1:${String(hookPort)}/hook", secretEnv: BULWARK_TEST_HOOK_SECRET }
    - { name: down, type: webhook, url: "http://127.0.0.1:${String(failPort)}/hook", secretEnv: BULWARK_TEST_HOOK_SECRET }
    - { name: mail, type: email, smtp: { host: 127.0.0.1, port: ${String(smtpPort)}, tls: none, user: bulwark, passwordEnv: BULWARK_TEST_SMTP_PASSWORD }, from: bulwark@example.org, to: [secops@example.org] }
  rules:
    - { name: everything, events: [finding.critical, run.halted, host.failed, feed.failing, sla.breach], channels: [ops] }
    - { name: pager, events: [run.halted], channels: [down, mail] }
`,
    );
    const env = { ...where.env, BULWARK_TEST_HOOK_SECRET: SECRET, BULWARK_TEST_SMTP_PASSWORD: SMTP_PASSWORD };
    for (let i = 0; i < 2; i++) servers.push(await startServe([...where.args, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler', '--notify', file], env));

    const store = await open();
    try {
      // Until the failing channel is dead-lettered and the mail is in: then a few more passes of both servers.
      for (let i = 0; i < 600; i++) {
        const dead = await deliveries(store, 'dead');
        if (dead.length > 0 && mails.length > 0 && received.length >= 4) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 3000));
      const events = await rawKysely(store).selectFrom('notify_events').select(['key', 'kind']).execute();
      const forOps = events.filter((e) => ['finding.critical', 'run.halted', 'host.failed', 'feed.failing', 'sla.breach'].includes(e.kind)).map((e) => e.key);
      expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['finding.critical', 'run.halted', 'host.failed', 'feed.failing']));
      // Exactly once each, and signed.
      expect(received.map((r) => r.key).sort()).toEqual([...forOps].sort());
      expect(received.every((r) => r.ok)).toBe(true);
      expect(received.every((r) => !r.body.includes(SECRET) && !r.body.includes(SMTP_PASSWORD))).toBe(true);
      const halted = received.find((r) => r.kind === 'run.halted');
      expect(JSON.parse(halted?.body ?? '{}')).toMatchObject({ kind: 'run.halted', title: expect.stringMatching(/^Run \d+ of notify halted$/) as unknown });
      // The failing receiver: tried 3 times, then dead.
      const dead = await deliveries(store, 'dead');
      expect(dead.map((d) => [d.channel, d.kind, d.attempts])).toEqual([['down', 'run.halted', 3]]);
      expect(dead[0]?.lastError).toMatch(/HTTP 503/);
      expect(failures).toBe(3);
      // One e-mail, authenticated with the password from the environment (it is in no payload).
      expect(mails).toHaveLength(1);
      expect(mails[0]).toMatchObject({ from: '<bulwark@example.org>', to: ['<secops@example.org>'], auth: `\0bulwark\0${SMTP_PASSWORD}` });
      expect(mails[0]?.data).toMatch(/^Subject: \[Bulwark\] Run \d+ of notify halted$/m);
      // A dead letter put back in the queue is audited; it fails 3 more times and is dead again.
      await retryDeadLetter(store, dead[0]?.pk ?? 0, { kind: 'cli', name: 'alice' });
      expect((await auditLog(store, { limit: 1 }))[0]).toMatchObject({ action: 'notify.retry', actor: 'cli:alice' });
      for (let i = 0; i < 100 && failures < 6; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1000));
      expect(failures).toBe(6);
      expect((await deliveries(store, 'dead')).map((d) => d.attempts)).toEqual([3]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
