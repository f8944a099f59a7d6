/**
 * Issue #14: agent reports that change packages, per second, through the route the agent posts
 * to (POST /agent/v1/report: signature, nonce, parse, store, incremental match), on SQLite with
 * one server (the API in process, no socket), and on PostgreSQL when it answers, beside a fleet of stored hosts drawn from the real
 * Azure Linux 3.0 manifests (test/real-fleet.ts) imported in bulk. Each report moves three
 * packages of its host to a new build. Anchor in the same run: only parsing the same reports.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/api/app.js';
import { parseAgentReport } from '../src/inventory/agent-report.js';
import { agentKey, createEnrollmentToken, enrollAgent, stringToSign } from '../src/services/agents.js';
import { importInventories } from '../src/services/bulk-import.js';
import { addSource } from '../src/services/feed-sources.js';
import { syncSource } from '../src/services/feeds.js';
import { checkpointerForStore, openStore } from '../src/services/store.js';
import { agentReportText, realFleet, rpmQaText, type FleetHost } from '../test/real-fleet.js';
import { freshPgSchema } from '../test/databases.js';
import { refusingTransport } from '../test/refusing-transport.js';
import type { BenchRow } from './harness.js';

const R = 'azurelinux:3.0';
const REPORTS = 500;

const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * `agents` hosts report in turn. With 20 (the default) each host's last report is in the server's
 * memory (services/agent-report-delta.ts, 512 hosts), so a report is stored as its difference;
 * with more than 512 each report comes after the server has forgotten its host's last, and is
 * stored as its difference from what the store holds (services/agent-report-store.ts): what a
 * large fleet reporting round-robin gets.
 */
export async function agentReportsThroughRoute(data: string, hosts: number, kind: 'sqlite' | 'postgres' = 'sqlite', inTurn = 20): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-reports-'));
  const schema = kind === 'postgres' ? await freshPgSchema() : null;
  const where = schema === null ? { dbPath: join(dir, 'b.db') } : { dbPath: undefined, env: { BULWARK_DATABASE_URL: schema.url } };
  const db = await openStore(where);
  // As `bulwark serve` does on SQLite: WAL checkpoints in a worker thread (BULWARK_BENCH_CHECKPOINTER=off: in the server's thread, SQLite's default).
  const checkpoints = process.env['BULWARK_BENCH_CHECKPOINTER'] === 'off' ? null : checkpointerForStore(db, where);
  try {
    await addSource(db, { id: 'azurelinux-3.0-oval', location: join(data, 'azurelinux', 'oval', 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz') });
    await syncSource(db, 'azurelinux-3.0-oval');
    const fleet = realFleet(data, hosts + inTurn);
    const jsonl = join(dir, 'fleet.jsonl');
    const fd = openSync(jsonl, 'w');
    for (const h of fleet.slice(inTurn)) writeSync(fd, JSON.stringify({ name: h.name, release: R, inventory: rpmQaText(h.packages) + '\n' }) + '\n');
    closeSync(fd);
    await importInventories(db, jsonl, { release: R });
    const serverKey = randomBytes(32);
    const app = createApp(db, {
      knownHostsFile: '/dev/null',
      transport: () => refusingTransport,
      version: 'bench',
      agentServerKey: serverKey,
      authFailuresPerMinute: 1e6,
    });
    const agents: { id: string; key: Buffer }[] = [];
    for (let i = 0; i < inTurn; i++) {
      const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'bench' } });
      const id = (await enrollAgent(db, serverKey, { token, hostname: `agent-${String(i)}` })).agentId;
      agents.push({ id, key: Buffer.from(agentKey(serverKey, id), 'hex') });
    }
    const post = async (a: { id: string; key: Buffer }, body: string): Promise<string> => {
      const ts = String(Math.floor(Date.now() / 1000));
      const nonce = randomBytes(16).toString('hex');
      const sig = createHmac('sha256', a.key)
        .update(stringToSign(a.id, ts, nonce, 'POST', '/agent/v1/report', body))
        .digest('hex');
      const res = await app.request('/agent/v1/report', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-bulwark-agent': a.id, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
        body,
      });
      const text = await res.text();
      if (res.status !== 200 || !text.startsWith('ok ') || text.startsWith('ok unchanged')) throw new Error(`report: ${String(res.status)} ${text}`);
      return text;
    };
    for (const [i, a] of agents.entries()) await post(a, agentReportText((fleet[i] as FleetHost).packages));
    // The reports, made before the clock starts: three packages move to a new build each round.
    const texts = Array.from({ length: REPORTS }, (_, r) => {
      const round = Math.floor(r / inTurn) + 1;
      const pkgs = (fleet[r % inTurn] as FleetHost).packages;
      return agentReportText(pkgs.map((p, j) => (j % 97 === round % 97 && j < 3 * 97 ? { ...p, release: `${p.release ?? '1'}.${String(round)}` } : p)));
    });
    const loadBefore = load();
    let cpu = process.cpuUsage();
    let t = performance.now();
    let changed = 0;
    for (let r = 0; r < REPORTS; r++) {
      const m = /\((\d+) new, (\d+) closed\)/.exec(await post(agents[r % inTurn] as { id: string; key: Buffer }, texts[r] as string));
      changed += Number(m?.[1] ?? 0) + Number(m?.[2] ?? 0);
    }
    const routeS = (performance.now() - t) / 1000;
    const routeCpu = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    t = performance.now();
    for (const text of texts) await parseAgentReport(text, 'bench');
    const parseS = (performance.now() - t) / 1000;
    const parseCpu = process.cpuUsage(cpu);
    const cpuMs = (u: NodeJS.CpuUsage): string => ((u.user + u.system) / 1000 / REPORTS).toFixed(2);
    const at = `${kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${hosts.toLocaleString('en-US')} stored hosts, ${String(inTurn)} agents in turn${inTurn > 512 ? ' (more than the server remembers: the difference from the store)' : ''}`;
    return [
      {
        issue: '#14',
        name: `agent reports that change 3 packages, POST /agent/v1/report, ${at}`,
        value: REPORTS / routeS,
        unit: '/s',
        target: kind === 'sqlite' ? '>= 500' : '',
        ok: kind === 'sqlite' ? REPORTS / routeS >= 500 : null,
        note: `${cpuMs(routeCpu)} ms CPU a report; ${String(changed)} findings opened or closed; WAL checkpoints ${checkpoints === null ? (kind === 'sqlite' ? "in the server's thread" : 'n/a') : 'in a worker thread'}; load ${loadBefore} → ${load()}`,
      },
      {
        issue: '#14',
        name: `  parsing the same reports only (anchor), ${at}`,
        value: REPORTS / parseS,
        unit: '/s',
        target: '',
        ok: null,
        note: `${cpuMs(parseCpu)} ms CPU a report; ~${String((fleet[0] as FleetHost).packages.length)} packages each`,
      },
    ];
  } finally {
    await checkpoints?.close();
    await db.close();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
