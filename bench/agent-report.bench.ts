/**
 * Issue #20 item 4: one agent report of a very large host (100,000 packages) stored and matched,
 * through the service the API's report route calls (signature checks aside), on SQLite and on
 * PostgreSQL; and the same report sent again (recognised by its fingerprint). Issue #14: reports
 * that change three packages, per second, through the route (bench/agent-reports-route.ts);
 * BULWARK_BENCH_AGENT_FLEET sets how many hosts are stored beside them (default 1,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Advisory } from '../src/core/advisory.js';
import { acceptAgentReport, createEnrollmentToken, enrollAgent } from '../src/services/agents.js';
import { openStore, type Db } from '../src/services/store.js';
import { getAgent, transaction, upsertAdvisories } from '../src/storage/index.js';
import { freshPgSchema, pgAvailable } from '../test/databases.js';
import { agentReportsThroughRoute } from './agent-reports-route.js';
import type { BenchContext, BenchRow } from './harness.js';

const N = 100_000;

function report(n: number): string {
  const lines = Array.from({ length: n }, (_, i) => `bw-pkg-${String(i)}\t1.${String(i)}.0-1\tamd64\tbw-src-${String(i)}\t1.${String(i)}.0-1\tii `);
  return [
    'bulwark-report 1',
    '@@os-release',
    'ID=debian',
    'VERSION_ID="13"',
    '@@uname',
    '6.12.0-1-amd64',
    'x86_64',
    '@@managers',
    'apt-get',
    '@@packages dpkg',
    ...lines,
    '',
  ].join('\n');
}

// One advisory per 100 source packages, every tenth of them affecting the host.
function advisories(n: number): Advisory[] {
  return Array.from({ length: n / 100 }, (_, k) => ({
    source: 'bench-scale',
    id: `BENCH-${String(k)}`,
    title: `bench ${String(k)}`,
    description: '',
    severity: 'medium' as const,
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: null,
    updatedAt: null,
    parser: 'bench@1',
    fixes: [
      {
        release: 'debian:13',
        package: `bw-src-${String(k * 100)}`,
        packageKind: 'source' as const,
        arch: null,
        status: 'fixed' as const,
        fixed: k % 10 === 0 ? `1.${String(k * 100)}.0-2` : '0.1-1',
        lastAffected: null,
        introduced: null,
      },
    ],
  }));
}

async function measure(db: Db, label: string): Promise<BenchRow[]> {
  const key = Buffer.alloc(32, 7);
  await transaction(db, (tx) => upsertAdvisories(tx, advisories(N), new Date().toISOString()));
  const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'bench' } });
  const agent = await getAgent(db, (await enrollAgent(db, key, { token, hostname: 'huge' })).agentId);
  if (agent === null) throw new Error('no agent');
  const text = report(N);
  let t = performance.now();
  const first = await acceptAgentReport(db, agent, text);
  const firstS = (performance.now() - t) / 1000;
  t = performance.now();
  const again = await acceptAgentReport(db, agent, text);
  const againMs = performance.now() - t;
  return [
    {
      issue: '#20',
      name: `agent report of ${N.toLocaleString('en-US')} packages stored and matched, ${label}`,
      value: firstS,
      unit: 's',
      target: 'stored and matched',
      ok: first.startsWith(`ok ${String(N)} packages, ${String(N / 100 / 10)} findings`),
      note: `${first.trim()}; ${String(N / 100)} advisories; ${(text.length / 1e6).toFixed(1)} MB`,
    },
    { issue: '#20', name: `the same report again (unchanged), ${label}`, value: againMs, unit: 'ms', target: '', ok: again === 'ok unchanged\n' ? true : null },
  ];
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  // Issue #14: reports that change packages, through the route, beside a stored fleet.
  const fleet = Number(process.env['BULWARK_BENCH_AGENT_FLEET'] ?? 1000);
  if (ctx.sharedData !== null) rows.push(...(await agentReportsThroughRoute(ctx.sharedData, fleet)));
  // 600 hosts: all remembered (128 MB), then with 1 MB (~100 remembered), each report from the store.
  if (ctx.sharedData !== null) rows.push(...(await agentReportsThroughRoute(ctx.sharedData, fleet, 'sqlite', 600)));
  if (ctx.sharedData !== null) rows.push(...(await agentReportsThroughRoute(ctx.sharedData, fleet, 'sqlite', 600, 1)));
  if (ctx.sharedData !== null && pgAvailable) rows.push(...(await agentReportsThroughRoute(ctx.sharedData, fleet, 'postgres')));
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-report-'));
  try {
    const db = await openStore({ dbPath: join(dir, 'b.db') });
    try {
      rows.push(...(await measure(db, 'SQLite')));
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (pgAvailable) {
    const schema = await freshPgSchema();
    const db = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: schema.url } });
    try {
      rows.push(...(await measure(db, 'PostgreSQL')));
    } finally {
      await db.close();
      await schema.drop();
    }
  }
  return rows;
}
