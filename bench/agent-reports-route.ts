/**
 * Issue #14: agent reports that change packages, per second, through `bulwark serve` itself (a
 * process of its own, over HTTP on loopback: signature, nonce, parse, store, incremental match,
 * the request log), on SQLite and on PostgreSQL when it answers, beside a fleet of stored hosts
 * drawn from the real Azure Linux 3.0 manifests (test/real-fleet.ts) imported in bulk. Each
 * report moves three packages of its host to a new build. The agents are this process, with up
 * to IN_FLIGHT reports on the way at once (a fleet's hosts report independently), each agent's
 * in its order; their requests are made and signed before the clock starts. Anchor in the same
 * run: only parsing the same reports, in this process.
 */
import type { ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAgentReport } from '../src/inventory/agent-report.js';
import { agentKey, createEnrollmentToken, enrollAgent, stringToSign } from '../src/services/agents.js';
import { importInventories } from '../src/services/bulk-import.js';
import { addSource } from '../src/services/feed-sources.js';
import { syncSource } from '../src/services/feeds.js';
import { openStore } from '../src/services/store.js';
import { agentReportText, realFleet, rpmQaText, type FleetHost } from '../test/real-fleet.js';
import { freshPgSchema } from '../test/databases.js';
import { startServeInstalled, stopServe } from '../test/serve-process.js';
import { staleBuild, type BenchRow } from './harness.js';

const R = 'azurelinux:3.0';
const REPORTS = 1000;
const WARM_UP = 1000;
const IN_FLIGHT = 4;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
/** CPU seconds (user + system) from a /proc stat file: a process's (all its threads), or one thread's. */
const cpuOf = (stat: string): number => {
  const f = readFileSync(stat, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
};

interface Agent {
  id: string;
  key: Buffer;
}

/** A signed request, made ahead (its timestamp is valid for minutes: services/agents.ts MAX_SKEW_MS). */
function signed(a: Agent, body: string): { body: Buffer; headers: Record<string, string> } {
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString('hex');
  const bytes = Buffer.from(body, 'utf8');
  const sig = createHmac('sha256', a.key)
    .update(stringToSign(a.id, ts, nonce, 'POST', '/agent/v1/report', bytes))
    .digest('hex');
  return {
    body: bytes,
    headers: { 'content-type': 'text/plain', 'x-bulwark-agent': a.id, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
  };
}

/**
 * The agents' side as light as a load generator: each request's bytes (head and body) made
 * ahead, written whole on one of IN_FLIGHT kept-alive sockets, and its answer read as plain
 * HTTP/1.1 with a Content-Length (what the server sends). node:http cost the shared CPU a
 * third of the server's time per report, fetch five times that.
 */
class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: ((r: { status: number; text: string }) => void) | null = null;
  private failed: ((e: Error) => void) | null = null;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.buffered = this.buffered.length === 0 ? b : Buffer.concat([this.buffered, b]);
      this.answer();
    });
    socket.on('error', (e) => this.failed?.(e));
    socket.on('close', () => this.failed?.(new Error('the server closed the connection')));
  }
  static open(url: string): Promise<Connection> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(u.port), u.hostname, () => {
        s.setNoDelay(true);
        resolve(new Connection(s));
      });
      s.once('error', reject);
    });
  }
  private answer(): void {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0 || this.waiting === null) return;
    const head = this.buffered.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (Number.isNaN(length)) throw new Error(`an answer without Content-Length: ${head}`);
    if (this.buffered.length < end + 4 + length) return;
    const text = this.buffered.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffered = this.buffered.subarray(end + 4 + length);
    const done = this.waiting;
    this.waiting = null;
    done({ status: Number(head.slice(9, 12)), text });
  }
  send(bytes: Buffer): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket.write(bytes);
    });
  }
  close(): void {
    this.failed = null;
    this.socket.destroy();
  }
}

/** How the server stored the reports it took, from its /metrics (bulwark_agent_reports_stored_total by way). */
async function storedWays(url: string, token: string | null): Promise<string> {
  if (token === null) return 'ways unknown (no token)';
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const n = (way: string): string => new RegExp(`^bulwark_agent_reports_stored_total\\{way="${way}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? '?';
  return `${n('remembered')} from the remembered report, ${n('store')} from the store, ${n('whole')} whole`;
}

/** A whole request's bytes. */
function requestBytes(host: string, req: ReturnType<typeof signed>): Buffer {
  const head = [
    `POST /agent/v1/report HTTP/1.1`,
    `host: ${host}`,
    ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${String(req.body.length)}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), req.body]);
}

/** Posts the reports, up to IN_FLIGHT at once, each agent's after its previous one; findings opened or closed. */
async function postAll(url: string, reports: readonly { agent: number; bytes: Buffer }[]): Promise<number> {
  let next = 0;
  let changed = 0;
  const last = new Map<number, Promise<unknown>>();
  const free = await Promise.all(Array.from({ length: IN_FLIGHT }, () => Connection.open(url)));
  const all = [...free];
  const one = async (i: number): Promise<void> => {
    const c = free.pop() as Connection;
    const { status, text } = await c.send((reports[i] as { bytes: Buffer }).bytes);
    free.push(c);
    if (status !== 200 || !text.startsWith('ok ') || text.startsWith('ok unchanged')) throw new Error(`report: ${String(status)} ${text}`);
    const m = /\((\d+) new, (\d+) closed\)/.exec(text);
    changed += Number(m?.[1] ?? 0) + Number(m?.[2] ?? 0);
  };
  const worker = async (): Promise<void> => {
    while (next < reports.length) {
      const i = next++;
      const r = reports[i] as { agent: number; bytes: Buffer };
      const before = last.get(r.agent);
      const p = (async () => {
        await before;
        await one(i);
      })();
      last.set(r.agent, p);
      await p;
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    for (const c of all) c.close();
  }
  return changed;
}

/**
 * `inTurn` hosts report in turn. Each host's last report is in the server's memory
 * (services/agent-report-memory.ts: 128 MB, ~12,000 hosts of 600 packages), so a report is stored
 * as its difference; with `memoryMb` (BULWARK_AGENT_MEMORY_MB) too small for them all, each
 * report comes after the server has forgotten its host's last, and is stored as its difference
 * from what the store holds (services/agent-report-store.ts): what a fleet larger than the
 * memory gets, reporting round-robin, or any fleet after a restart. Timed after at least
 * WARM_UP such reports (a server that has run a while); their rate is printed beside it.
 */
export async function agentReportsThroughRoute(
  data: string,
  hosts: number,
  kind: 'sqlite' | 'postgres' = 'sqlite',
  inTurn = 20,
  memoryMb: number | null = null,
): Promise<BenchRow[]> {
  const stale = staleBuild(repo);
  if (stale !== null)
    return [
      {
        issue: '#14',
        name: `agent reports that change 3 packages, ${kind}, ${String(inTurn)} agents${memoryMb === null ? '' : `, BULWARK_AGENT_MEMORY_MB=${String(memoryMb)}`}`,
        value: null,
        unit: '/s',
        target: '',
        ok: null,
        note: `skipped: ${stale}`,
      },
    ];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-reports-'));
  const schema = kind === 'postgres' ? await freshPgSchema() : null;
  const dbPath = schema === null ? join(dir, 'b.db') : null;
  const where = schema === null ? { dbPath: join(dir, 'b.db') } : { dbPath: undefined, env: { BULWARK_DATABASE_URL: schema.url } };
  const serverKey = randomBytes(32);
  let db: Awaited<ReturnType<typeof openStore>> | null = await openStore(where);
  let server: ChildProcess | null = null;
  try {
    await addSource(db, { id: 'azurelinux-3.0-oval', location: join(data, 'azurelinux', 'oval', 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz') });
    await syncSource(db, 'azurelinux-3.0-oval');
    const fleet = realFleet(data, hosts + inTurn);
    const jsonl = join(dir, 'fleet.jsonl');
    const fd = openSync(jsonl, 'w');
    for (const h of fleet.slice(inTurn)) writeSync(fd, JSON.stringify({ name: h.name, release: R, inventory: rpmQaText(h.packages) + '\n' }) + '\n');
    closeSync(fd);
    await importInventories(db, jsonl, { release: R });
    const agents: Agent[] = [];
    for (let i = 0; i < inTurn; i++) {
      const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'bench' } });
      const id = (await enrollAgent(db, serverKey, { token, hostname: `agent-${String(i)}` })).agentId;
      agents.push({ id, key: Buffer.from(agentKey(serverKey, id), 'hex') });
    }
    // The server is the store's only user from here.
    await db.close();
    db = null;
    const env: NodeJS.ProcessEnv = {
      HOME: dir,
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      BULWARK_AGENT_KEY: serverKey.toString('hex'),
      BULWARK_DATABASE_URL: schema?.url ?? '',
      ...(memoryMb === null ? {} : { BULWARK_AGENT_MEMORY_MB: String(memoryMb) }),
    };
    // No scheduler: nothing else runs beside the reports.
    const started = await startServeInstalled(repo, [...(dbPath === null ? [] : ['--db', dbPath]), 'serve', '--listen', '127.0.0.1:0', '--no-scheduler'], env);
    server = started.child;
    const pid = started.child.pid as number;
    // Round r (from 1) moves three packages of each host to a new build; round 0 is the host as it is.
    const text = (r: number): string => {
      const round = Math.floor(r / inTurn);
      const pkgs = (fleet[r % inTurn] as FleetHost).packages;
      return agentReportText(
        round === 0 ? pkgs : pkgs.map((p, j) => (j % 97 === round % 97 && j < 3 * 97 ? { ...p, release: `${p.release ?? '1'}.${String(round)}` } : p)),
      );
    };
    const host = new URL(started.url).host;
    const request = (r: number): { agent: number; bytes: Buffer } => ({
      agent: r % inTurn,
      bytes: requestBytes(host, signed(agents[r % inTurn] as Agent, text(r))),
    });
    // Each host's whole report (round 0), then its changed reports, untimed, until the server has
    // taken at least WARM_UP of them (its code compiled: a server that has run a while), then REPORTS timed.
    await postAll(
      started.url,
      Array.from({ length: inTurn }, (_, r) => request(r)),
    );
    const warm = Math.ceil(WARM_UP / inTurn) * inTurn;
    let t = performance.now();
    await postAll(
      started.url,
      Array.from({ length: warm }, (_, r) => request(inTurn + r)),
    );
    const warmS = (performance.now() - t) / 1000;
    const reports = Array.from({ length: REPORTS }, (_, r) => request(inTurn + warm + r));
    const texts = reports.map((_, r) => text(inTurn + warm + r));
    const loadBefore = load();
    // The process (all its threads), and its main thread (the task of the process's own id).
    const [all, main] = [`/proc/${String(pid)}/stat`, `/proc/${String(pid)}/task/${String(pid)}/stat`];
    const serverCpu = cpuOf(all);
    const mainBefore = cpuOf(main);
    const clientCpu = process.cpuUsage();
    t = performance.now();
    const changed = await postAll(started.url, reports);
    const routeS = (performance.now() - t) / 1000;
    const serverMs = ((cpuOf(all) - serverCpu) * 1000) / REPORTS;
    const mainMs = ((cpuOf(main) - mainBefore) * 1000) / REPORTS;
    const c = process.cpuUsage(clientCpu);
    const clientMs = (c.user + c.system) / 1000 / REPORTS;
    const loadAfter = load();
    const ways = await storedWays(started.url, started.token);
    const cpu = process.cpuUsage();
    t = performance.now();
    for (const x of texts) await parseAgentReport(x, 'bench');
    const parseS = (performance.now() - t) / 1000;
    const parseCpu = process.cpuUsage(cpu);
    const bytes = texts.reduce((n, x) => n + Buffer.byteLength(x), 0) / texts.length;
    const at = `${kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${hosts.toLocaleString('en-US')} stored hosts, ${String(inTurn)} agents in turn${memoryMb === null ? '' : ` (BULWARK_AGENT_MEMORY_MB=${String(memoryMb)}, more than the server remembers: the difference from the store)`}`;
    return [
      {
        issue: '#14',
        name: `agent reports that change 3 packages, POST /agent/v1/report to bulwark serve, ${at}`,
        value: REPORTS / routeS,
        unit: '/s',
        target: kind === 'sqlite' ? '>= 500' : '',
        ok: kind === 'sqlite' ? REPORTS / routeS >= 500 : null,
        note: `server ${serverMs.toFixed(2)} ms CPU a report (its main thread ${mainMs.toFixed(2)}, the rest compiling, collecting, checkpointing), the agents ${clientMs.toFixed(2)}; ${String(IN_FLIGHT)} in flight; ${String(changed)} findings opened or closed; stored ${ways}; the ${String(warm)} before them (from the server's start) ${(warm / warmS).toFixed(0)}/s; load ${loadBefore} → ${loadAfter}`,
      },
      {
        issue: '#14',
        name: `  parsing the same reports only (anchor, in process), ${at}`,
        value: REPORTS / parseS,
        unit: '/s',
        target: '',
        ok: null,
        note: `${((parseCpu.user + parseCpu.system) / 1000 / REPORTS).toFixed(2)} ms CPU a report; ~${String((fleet[0] as FleetHost).packages.length)} packages, ${(bytes / 1024).toFixed(0)} KiB each`,
      },
    ];
  } finally {
    if (server !== null && server.exitCode === null) await stopServe(server);
    await db?.close();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
