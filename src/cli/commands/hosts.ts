import { addHost, listHosts, removeHost, scanHosts, sshKeyDir, type HostInput } from '../../services/hosts.js';
import { staleFeedNotes } from '../../services/stale-notes.js';
import { openStore } from '../../services/store.js';
import { actorOf } from '../io.js';
import { BulwarkError } from '../../core/errors.js';
import { severityRank, type Severity } from '../../core/advisory.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

export async function hostsAddCommand(o: Common & HostInput): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const t = await addHost(db, o, actorOf(o.io), { identityDir: sshKeyDir(o.io.env) });
    await writeAll(o.io.stdout, `host ${t.name}: ${t.address ?? ''}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function hostsListCommand(o: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const hosts = await listHosts(db);
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(hosts, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['HOST', 'RELEASE', 'ARCH', 'KERNEL', 'LAST INVENTORY', 'ADDRESS', 'TAGS'],
          hosts.map((h) => [h.name, h.release ?? '-', h.arch ?? '-', h.runningKernel ?? '-', h.inventoryAt ?? 'never', h.address ?? '-', h.tags.join(',')]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function hostsRemoveCommand(o: Common & { name: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    if (!(await removeHost(db, o.name, actorOf(o.io)))) throw new BulwarkError('usage', `no host named "${o.name}"`);
    await writeAll(o.io.stdout, `removed ${o.name} (its inventory and findings with it)\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark scan --host H… | --all`: collect over SSH, store, match; exit 4 when a host failed. */
export async function scanHostsCommand(o: Common & { hosts: string[] | 'all'; knownHostsFile: string; acceptNewHostKey: boolean; concurrency: number; format: 'table' | 'json'; failOn: Severity | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const results = await scanHosts(db, o.hosts, { knownHostsFile: o.knownHostsFile, acceptNewHostKey: o.acceptNewHostKey, concurrency: o.concurrency, identityDir: sshKeyDir(o.io.env), actor: actorOf(o.io) });
    // The report's packageSources is a Map, for `scan --inventory`'s findings; JSON would print it as {}.
    if (o.format === 'json') await writeAll(o.io.stdout, JSON.stringify(results.map((r) => (r.report === undefined ? r : { ...r, report: { target: r.report.target, counts: r.report.counts, active: r.report.active } })), null, 2) + '\n');
    else {
      const lines = results.map((r) =>
        r.ok && r.report !== undefined
          ? `${r.host}: ${r.report.target.release ?? '?'}, ${String(r.report.active.length)} findings (${String(r.report.counts.opened)} new, ${String(r.report.counts.closed)} closed)`
          : `${r.host}: FAILED: ${r.error ?? ''}`,
      );
      await writeAll(o.io.stdout, lines.join('\n') + '\n');
      for (const n of await staleFeedNotes(db, results.map((r) => r.report?.target.release ?? null))) await writeAll(o.io.stdout, `warning: ${n}\n`);
    }
    if (results.some((r) => !r.ok)) return EXIT.targetsFailed;
    if (o.failOn !== undefined) {
      const worst = results.flatMap((r) => r.report?.active ?? []).some((f) => f.status !== 'accepted' && severityRank(f.severity) >= severityRank(o.failOn ?? 'critical'));
      if (worst) return EXIT.findings;
    }
    return EXIT.ok;
  } finally {
    await db.close();
  }
}
