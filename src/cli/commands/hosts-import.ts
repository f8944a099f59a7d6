import type { Command } from 'commander';
import { EXAMPLE_RELEASE } from '../../distros/registry.js';
import { importInventories } from '../../services/bulk-import.js';
import { openStore } from '../../services/store.js';
import { plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { describe, intOption } from '../options.js';

/** `bulwark hosts import PATH`: many inventories at once, matched once at the end (issue #14). */
export async function hostsImportCommand(o: {
  io: CliIo;
  dbPath: string | undefined;
  path: string;
  release?: string;
  batch?: number;
  json: boolean;
}): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const r = await importInventories(db, o.path, { release: o.release, ...(o.batch === undefined ? {} : { batch: o.batch }), actor: actorOf(o.io) });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(r, null, 2) + '\n');
    else {
      await writeAll(
        o.io.stdout,
        `imported ${plural(r.hosts, 'host')} (${plural(r.packages, 'package')}, ${String(r.newPackages)} builds new to the store) in ${String(r.importSeconds)} s; ` +
          `matched ${plural(r.matched, 'distinct build')} in ${String(r.matchSeconds)} s: ${plural(r.opened, 'new finding')}\n`,
      );
      for (const f of r.failures.slice(0, 20)) await writeAll(o.io.stderr, `${f.error}\n`);
      if (r.failures.length > 20) await writeAll(o.io.stderr, `and ${String(r.failures.length - 20)} more records left out\n`);
    }
    if (r.failures.length > 0 && !o.json) await writeAll(o.io.stderr, `${plural(r.failures.length, 'record')} left out (each named above)\n`);
    return r.failures.length > 0 ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

export function registerImport(hosts: Command, ctx: CliContext): void {
  describe(
    hosts.command('import'),
    'import many inventories as hosts (a directory or a tar of files named by host, or JSON lines), one transaction per batch, matched once at the end',
    `bulwark hosts import /srv/inventories --release ${EXAMPLE_RELEASE}`,
    'bulwark hosts import fleet.tar.gz',
    `bulwark hosts import fleet.jsonl   # {"name": "web-01", "release": "${EXAMPLE_RELEASE}", "inventory": "<rpm -qa output>"} per line`,
  )
    .argument('<path>', 'a directory, a tar (plain or compressed) or a .jsonl file')
    .option('--release <release>', `the release of inventories that do not tell it (e.g. ${EXAMPLE_RELEASE})`)
    .addOption(intOption('--batch <n>', 'hosts per transaction (default 500)', { min: 1, max: 100_000 }))
    .option('--json', 'print the report as JSON')
    .action(async (path: string, o: { release?: string; batch?: number; json?: boolean }) => {
      ctx.exit = await hostsImportCommand({ io: ctx.io, dbPath: ctx.dbPath(), path, ...o, json: o.json === true });
    });
}
