import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentServerKey, createEnrollmentToken, enrollAgent } from '../src/services/agents.js';
import { SYSTEM } from '../src/services/audit.js';
import { runDemo } from '../src/services/demo.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { applyPolicyText } from '../src/services/policies.js';
import { openStore } from '../src/services/store.js';
import { rawKysely } from '../src/storage/index.js';
import { requires, tool } from './needs.js';
import { parsePrometheusText, valueOf, type Family } from './prom-text.js';
import { startServe, stopServe } from './serve-process.js';

/**
 * Issue #18 item 5: `curl /metrics` of a real `bulwark serve` parses with a strict Prometheus
 * text-format parser (test/prom-text.ts), every series is `bulwark_…`, and its numbers agree with
 * what the API answers (overview, runs, agents, feeds). Its structured JSON log carries request ids.
 */
describe('the Prometheus text parser is strict', () => {
  it.each([
    ['no final line feed', '# TYPE bulwark_x gauge\nbulwark_x 1'],
    ['a sample without TYPE', 'bulwark_x 1\n'],
    ['TYPE after samples', '# TYPE bulwark_x gauge\nbulwark_x 1\n# TYPE bulwark_x gauge\n'],
    ['a bad escape', '# TYPE bulwark_x gauge\nbulwark_x{a="\\t"} 1\n'],
    ['a bad value', '# TYPE bulwark_x gauge\nbulwark_x one\n'],
    ['a duplicate series', '# TYPE bulwark_x gauge\nbulwark_x{a="1"} 1\nbulwark_x{a="1"} 2\n'],
    ['buckets not cumulative', '# TYPE bulwark_h histogram\nbulwark_h_bucket{le="1"} 2\nbulwark_h_bucket{le="+Inf"} 1\nbulwark_h_sum 1\nbulwark_h_count 1\n'],
    ['+Inf not equal to _count', '# TYPE bulwark_h histogram\nbulwark_h_bucket{le="+Inf"} 2\nbulwark_h_sum 1\nbulwark_h_count 1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
  it('reads escapes, histograms and comments', () => {
    const f = parsePrometheusText(
      '# a comment\n# HELP bulwark_x X\n# TYPE bulwark_x gauge\nbulwark_x{a="q\\"\\\\\\n"} 1.5e3\n# TYPE bulwark_h histogram\nbulwark_h_bucket{le="1"} 1\nbulwark_h_bucket{le="+Inf"} 2\nbulwark_h_sum 3\nbulwark_h_count 2\n',
    );
    expect(valueOf(f, 'bulwark_x', { a: 'q"\\\n' })).toBe(1500);
    expect(valueOf(f, 'bulwark_h_count')).toBe(2);
  });
});

requires(tool('curl')).describe('GET /metrics of a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-comply-metrics-'));
  const db = join(dir, 'b.db');
  let server: Awaited<ReturnType<typeof startServe>>;
  let stderr = '';
  const env = { BULWARK_DATABASE_URL: '', BULWARK_AGENT_KEY: 'c'.repeat(64), BULWARK_AGENT_MEMORY_MB: '3' };

  beforeAll(async () => {
    const s = await openStore({ dbPath: db, env: {} });
    try {
      await runDemo(s);
      await applyPolicyText(s, 'apiVersion: bulwark/v1\nkind: Policy\nname: metrics\ncadence: { monthly: { weekday: tuesday, week: 2 } }\n', 'test', SYSTEM);
      // A feed whose file is not there: its sync fails, is audited with its duration, and the feed counts as failing.
      await addSource(s, { id: 'metrics-feed', format: 'osv', location: join(dir, 'absent.json') });
      await syncSource(s, 'metrics-feed').catch(() => undefined);
      const t = await createEnrollmentToken(s, { tags: [], expiresInHours: 1, actor: SYSTEM });
      await enrollAgent(s, agentServerKey(env), { token: t.token, hostname: 'agent-01' });
      const k = rawKysely(s);
      const now = new Date().toISOString();
      for (const status of ['done', 'done', 'halted']) {
        const { pk } = await k
          .insertInto('runs')
          .values({
            policy: 'metrics',
            plan_pk: null,
            status,
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
            target_name: 'x',
            kind: 'update',
            spec: '{}',
            state: status === 'done' ? 'done' : 'failed',
            started_at: now,
            finished_at: now,
            exit_code: 0,
            output: '',
          })
          .execute();
      }
    } finally {
      await s.close();
    }
    server = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler'], env);
    server.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  }, 120_000);

  afterAll(async () => {
    await stopServe(server.child);
    rmSync(dir, { recursive: true, force: true });
  });

  const curl = (path: string, o: { token?: string | null; headers?: string[] } = {}): { status: number; body: string; headers: string } => {
    const head = join(dir, 'headers');
    const args = [
      '-sS',
      '-D',
      head,
      '-o',
      '-',
      '-w',
      '\n%{http_code}',
      ...(o.token === null ? [] : ['-H', `Authorization: Bearer ${o.token ?? server.token ?? ''}`]),
      ...(o.headers ?? []).flatMap((h) => ['-H', h]),
      `${server.url}${path}`,
    ];
    const out = execFileSync('curl', args, { encoding: 'utf8' });
    const cut = out.lastIndexOf('\n');
    return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut), headers: execFileSync('cat', [head], { encoding: 'utf8' }) };
  };

  it('parses strictly, names every series bulwark_…, and agrees with the API', () => {
    expect(server.token).toMatch(/^bwk_/);
    expect(curl('/metrics', { token: null }).status).toBe(401);
    // Some traffic first, for the latency histogram.
    const overview = JSON.parse(curl('/api/v1/overview').body) as {
      hosts: { total: number; staleInventory: number; neverInventoried: number };
      open: { bySeverity: Record<string, number> };
      fixed: number;
      sla: { policy: string; breaches: number }[];
    };
    const runs = (JSON.parse(curl('/api/v1/runs').body) as { items: { status: string }[] }).items;
    const agents = (JSON.parse(curl('/api/v1/agents').body) as { items: { lastSeenAt: string | null; revokedAt: string | null }[] }).items;
    const feeds = (JSON.parse(curl('/api/v1/feeds').body) as { items: { id: string; state: unknown; freshness: { state: string; lastAttempt: unknown } }[] })
      .items;
    const m = curl('/metrics', { headers: ['X-Request-Id: comply-scrape-1'] });
    expect(m.status).toBe(200);
    expect(m.headers).toMatch(/content-type: text\/plain; version=0\.0\.4/i);
    expect(m.headers).toMatch(/x-request-id: comply-scrape-1/i);
    const f: Map<string, Family> = parsePrometheusText(m.body);
    expect([...f.keys()].filter((n) => !n.startsWith('bulwark_'))).toEqual([]);
    expect(f.size).toBeGreaterThan(12);

    const hostSum = ['fresh', 'stale', 'never-inventoried'].reduce((a, s) => a + (valueOf(f, 'bulwark_hosts', { state: s }) ?? NaN), 0);
    expect(hostSum).toBe(overview.hosts.total);
    expect(overview.hosts.total).toBeGreaterThan(0);
    expect(valueOf(f, 'bulwark_hosts', { state: 'never-inventoried' })).toBe(overview.hosts.neverInventoried);
    for (const [sev, n] of Object.entries(overview.open.bySeverity)) expect([sev, valueOf(f, 'bulwark_findings_open', { severity: sev })]).toEqual([sev, n]);
    expect(Object.values(overview.open.bySeverity).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(valueOf(f, 'bulwark_findings_closed', { reason: 'fixed' })).toBe(overview.fixed);
    for (const s of overview.sla) expect(valueOf(f, 'bulwark_sla_breaches', { policy: s.policy })).toBe(s.breaches);
    expect(overview.sla.length).toBeGreaterThan(0);
    for (const status of ['done', 'halted']) expect(valueOf(f, 'bulwark_runs', { status })).toBe(runs.filter((r) => r.status === status).length);
    expect(valueOf(f, 'bulwark_run_steps', { kind: 'update', state: 'failed' })).toBe(1);
    const agentSum = ['reporting', 'silent', 'never-reported', 'revoked'].reduce((a, s) => a + (valueOf(f, 'bulwark_agents', { state: s }) ?? NaN), 0);
    expect(agentSum).toBe(agents.length);
    expect(valueOf(f, 'bulwark_agents', { state: 'never-reported' })).toBe(agents.filter((a) => a.lastSeenAt === null && a.revokedAt === null).length);
    const used = feeds.filter((x) => x.state !== null || x.freshness.lastAttempt !== null);
    expect(used.length).toBeGreaterThan(0);
    for (const x of used) expect([x.id, valueOf(f, 'bulwark_feed_stale', { source: x.id })]).toEqual([x.id, x.freshness.state === 'fresh' ? 0 : 1]);
    expect(valueOf(f, 'bulwark_feed_last_attempt_failed', { source: 'metrics-feed' })).toBe(1);
    expect(valueOf(f, 'bulwark_feed_sync_duration_seconds', { source: 'metrics-feed', status: 'failed' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(f, 'bulwark_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/overview', status: '200' })).toBe(1);
    expect(valueOf(f, 'bulwark_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status: '401' })).toBe(1);
    // The memory of agents' reports, at the budget the server was started with (no report yet).
    expect(valueOf(f, 'bulwark_agent_report_memory_bytes', { of: 'budget' })).toBe(3 * 1024 * 1024);
    expect([valueOf(f, 'bulwark_agent_report_memory_bytes', { of: 'used' }), valueOf(f, 'bulwark_agent_report_memory_hosts')]).toEqual([0, 0]);
    for (const way of ['remembered', 'store', 'whole']) expect([way, valueOf(f, 'bulwark_agent_reports_stored_total', { way })]).toEqual([way, 0]);
  });

  it('logs one structured JSON line per request, with its request id', async () => {
    curl('/api/v1/health', { token: null, headers: ['X-Request-Id: comply-health-7'] });
    // pino writes asynchronously; the line arrives shortly.
    for (let i = 0; i < 50 && !stderr.includes('comply-health-7'); i++) await new Promise((r) => setTimeout(r, 100));
    const lines = stderr
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l['requestId'] === 'comply-health-7');
    expect(line).toMatchObject({ msg: 'request', method: 'GET', route: '/api/v1/health', status: 200, service: 'bulwark' });
    // A made-up id (one with a space) is replaced, not logged as given.
    const r = curl('/api/v1/health', { token: null, headers: ['X-Request-Id: a b'] });
    expect(/x-request-id: ([0-9a-f-]{36})/i.exec(r.headers)?.[1]).toBeDefined();
  });
});
