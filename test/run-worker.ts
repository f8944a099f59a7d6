/**
 * Executes (or resumes) one patch run in a process of its own, so that a test can kill it with
 * SIGKILL at any moment and start it again. Usage:
 *   node --import tsx test/run-worker.ts DB RUN_PK HOSTS_JSON [TRACE_FILE]
 * TRACE_FILE gets a line per journal write (`<step> started|ended`), written synchronously after it.
 * HOSTS_JSON: {"<targetId>": {"root": "...", "extra": [...], "name": "..."}} for test roots, or
 * `ssh:KNOWN_HOSTS_FILE` for the hosts' own SSH addresses, as `bulwark run resume` reaches them.
 */
import { appendFileSync } from 'node:fs';
import { importRootInventory } from '../src/services/inventory.js';
import { sshRunTransport } from '../src/services/run-transport.js';
import { executeRun, type RunTransport } from '../src/services/runs.js';
import { scanTarget } from '../src/services/scan.js';
import { openStore } from '../src/services/store.js';
import { rootTransport } from './root-transport.js';

const [dbPath, pkText, hostsJson, trace] = process.argv.slice(2);
if (dbPath === undefined || pkText === undefined || hostsJson === undefined) throw new Error('usage: run-worker DB RUN_PK HOSTS_JSON');
const db = await openStore({ dbPath });
try {
  let t: RunTransport;
  if (hostsJson.startsWith('ssh:')) t = sshRunTransport(db, { knownHostsFile: hostsJson.slice('ssh:'.length), acceptNewHostKey: false });
  else {
    const hosts = new Map(Object.entries(JSON.parse(hostsJson) as Record<string, { root: string; extra: string[]; name: string }>));
    t = rootTransport(hosts, async (id) => {
      const h = hosts.get(id);
      if (h === undefined) throw new Error(`unknown host ${id}`);
      await importRootInventory(db, { dir: h.root, name: h.name, release: 'azurelinux:3.0', kind: 'host' });
      await scanTarget(db, id);
    });
  }
  // A short lease, so that a restart after SIGKILL takes the run over soon after. The wait for it
  // has no budget: the only other holder is a worker the test killed, whose lease runs out (a
  // worker that gave up waiting on a loaded machine would stop and prove nothing).
  const r = await executeRun(db, Number(pkText), t, undefined, {
    lease: { ttlMs: 2000, waitMs: 24 * 3_600_000 },
    afterJournal: (s, phase) => {
      if (trace !== undefined) appendFileSync(trace, `${String(s.pk)} ${phase}\n`);
    },
  });
  console.log(JSON.stringify({ status: r.run.status, failed: r.failedHosts }));
} finally {
  await db.close();
}
