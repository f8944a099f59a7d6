/**
 * Issue #14 product-path figures, in a process of its own (peak RSS is its own). Prints JSON.
 * Usage: node --import tsx bench/fleet-worker.ts SHARED_DATA_DIR HOSTS [sqlite|postgres]
 *
 * What users run, through the services the CLI and API call: a store with the real Azure Linux
 * 3.0 OVAL of 2025-01-31, HOSTS hosts from the real manifests (test/real-fleet.ts) imported in
 * bulk from JSON lines (`bulwark hosts import`), a full re-match (`scan --all`), then the next
 * real copy of the feed (2025-02-24) synced with its re-scan; beside it, the in-memory engine
 * (parse the same feed, index the same fleet, match it: matching/fleet.ts) in the same process.
 * Then agent reports that change three packages each, per second.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Advisory } from '../src/core/advisory.js';
import { parseOval } from '../src/feeds/oval/parser.js';
import { feedDocuments } from '../src/lib/archive.js';
import { FleetIndex, matchFleet } from '../src/matching/fleet.js';
import { acceptAgentReport, createEnrollmentToken, enrollAgent } from '../src/services/agents.js';
import { importInventories } from '../src/services/bulk-import.js';
import { addSource } from '../src/services/feed-sources.js';
import { syncSource } from '../src/services/feeds.js';
import { scanAll } from '../src/services/scan.js';
import { openStore, type Db } from '../src/services/store.js';
import { getAgent } from '../src/storage/index.js';
import { freshPgSchema } from '../test/databases.js';
import { agentReportText, realFleet, rpmQaText, type FleetHost } from '../test/real-fleet.js';

const [data, hostsArg, kind] = process.argv.slice(2);
if (data === undefined) throw new Error('usage: fleet-worker SHARED_DATA_DIR HOSTS [sqlite|postgres]');
const HOSTS = Number(hostsArg ?? 1000);
const OLD = join(data, 'azurelinux', 'oval', 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz');
const NEXT = join(data, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const R = 'azurelinux:3.0';

async function parse(path: string): Promise<Advisory[]> {
  const out: Advisory[] = [];
  for await (const doc of feedDocuments(createReadStream(path), path, { maxDocumentBytes: 1 << 30, maxTotalBytes: 1 << 30 }))
    for await (const a of parseOval(doc.bytes, { source: 'azurelinux-3.0-oval', name: doc.name, warn: () => undefined })) out.push(a);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'bulwark-fleet-bench-'));
const schema = kind === 'postgres' ? await freshPgSchema() : null;
const db: Db = await openStore(schema === null ? { dbPath: join(dir, 'b.db') } : { dbPath: undefined, env: { BULWARK_DATABASE_URL: schema.url } });
const out: Record<string, number | string> = { hosts: HOSTS, database: kind ?? 'sqlite' };
try {
  await addSource(db, { id: 'azurelinux-3.0-oval', location: OLD });
  await syncSource(db, 'azurelinux-3.0-oval');
  const fleet = realFleet(data, HOSTS);
  const jsonl = join(dir, 'fleet.jsonl');
  // Line by line: 10,000 hosts' inventories are a few hundred MB of JSON.
  const fd = openSync(jsonl, 'w');
  for (const h of fleet) writeSync(fd, JSON.stringify({ name: h.name, release: R, inventory: rpmQaText(h.packages) + '\n' }) + '\n');
  closeSync(fd);
  out['installedPackages'] = fleet.reduce((n, h) => n + h.packages.length, 0);
  let t = performance.now();
  const cpu = process.cpuUsage();
  const imp = await importInventories(db, jsonl, { release: R });
  out['importS'] = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  out['importCpuS'] = (used.user + used.system) / 1e6;
  out['importStoreS'] = imp.importSeconds;
  out['importMatchS'] = imp.matchSeconds;
  out['distinctBuilds'] = imp.matched;
  out['importFailures'] = imp.failures.length;
  t = performance.now();
  const all = await scanAll(db);
  out['rematchS'] = (performance.now() - t) / 1000;
  out['rematchChanged'] = all.scanned.filter((s) => s.counts.opened + s.counts.closed + s.counts.reopened > 0).length;
  t = performance.now();
  const sync = await syncSource(db, 'azurelinux-3.0-oval', { file: NEXT });
  out['syncS'] = (performance.now() - t) / 1000;
  out['syncPrintedS'] = sync.seconds;
  out['syncRescanned'] = sync.rescanned ?? 0;
  out['syncChanged'] = `${String(sync.added)} added, ${String(sync.changed)} changed, ${String(sync.withdrawn)} withdrawn`;
  // The in-memory engine on the same fleet and the same next feed, in the same process.
  t = performance.now();
  const advisories = await parse(NEXT);
  const index = new FleetIndex(R, 'rpm');
  for (const h of fleet) index.add(h.name, h.packages, h.runningKernel);
  const m = matchFleet(index, advisories);
  out['inMemoryS'] = (performance.now() - t) / 1000;
  out['inMemoryDistinct'] = m.distinctMatched;
  // Agent reports that change three packages each.
  const key = Buffer.alloc(32, 7);
  const agents = [];
  const AGENTS = 20;
  for (let i = 0; i < AGENTS; i++) {
    // An enrollment token enrolls one agent.
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'bench' } });
    const a = await getAgent(db, (await enrollAgent(db, key, { token, hostname: `agent-${String(i)}` })).agentId);
    if (a === null) throw new Error('no agent');
    agents.push(a);
  }
  for (const [i, a] of agents.entries()) await acceptAgentReport(db, a, agentReportText((fleet[i] as FleetHost).packages));
  const REPORTS = 500;
  let changedFindings = 0;
  t = performance.now();
  for (let r = 0; r < REPORTS; r++) {
    const i = r % AGENTS;
    const host = fleet[i] as FleetHost;
    const round = Math.floor(r / AGENTS) + 1;
    // Three packages move to a new build each round (an update), the rest stay.
    const pkgs = host.packages.map((p, j) => (j % 97 === round % 97 && j < 3 * 97 ? { ...p, release: `${p.release ?? '1'}.${String(round)}` } : p));
    const line = await acceptAgentReport(db, agents[i] as NonNullable<(typeof agents)[number]>, agentReportText(pkgs));
    if (!line.startsWith('ok ') || line.startsWith('ok unchanged')) throw new Error(`report ${String(r)}: ${line}`);
    const mm = /\((\d+) new, (\d+) closed\)/.exec(line);
    changedFindings += Number(mm?.[1] ?? 0) + Number(mm?.[2] ?? 0);
  }
  out['agentReportsPerS'] = REPORTS / ((performance.now() - t) / 1000);
  out['agentFindingChanges'] = changedFindings;
  out['maxRssMB'] = process.resourceUsage().maxRSS / 1024;
} finally {
  await db.close();
  await schema?.drop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
