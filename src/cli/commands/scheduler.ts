import { SCHEDULER } from '../../services/audit.js';
import type { HookAllowList } from '../../policy/hook-allow-schema.js';
import { HOOKS_FILE_VARIABLE } from '../../services/hook-allow.js';
import { listSources, syncSources } from '../../services/feeds.js';
import { defaultKnownHosts, sshKeyDir } from '../../services/hosts.js';
import { runTransport } from '../../services/run-transport.js';
import { schedulerStarted, schedulerTick } from '../../services/scheduler.js';
import { openStore } from '../../services/store.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describe, numberOption } from '../options.js';

/**
 * `bulwark scheduler [--interval S] [--sync] [--once]`: every interval, optionally syncs the
 * configured feed sources, then runs what the policies say is due (emergency out-of-band work at
 * once, the rest in its windows). A sync that changes advisories is followed by a tick at once.
 */
export async function schedulerCommand(o: {
  io: CliIo;
  dbPath: string | undefined;
  intervalSeconds: number;
  sync: boolean;
  once: boolean;
  knownHostsFile: string | undefined;
  signal?: AbortSignal;
  /** The configuration file's `hooks:` section (used when BULWARK_HOOKS_FILE is not set). */
  hooks?: HookAllowList | undefined;
}): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    // Runs the API started, on hosts the API added: keys only from the server's key directory.
    const transport = runTransport(db, {
      knownHostsFile: o.knownHostsFile ?? defaultKnownHosts(o.io.env),
      acceptNewHostKey: false,
      identityDir: sshKeyDir(o.io.env, { server: true }),
      hooksFile: o.io.env[HOOKS_FILE_VARIABLE],
      hooks: o.hooks,
    });
    await schedulerStarted(db, actorOf(o.io), { intervalSeconds: o.intervalSeconds, sync: o.sync });
    const skipped = new Map<string, string>();
    for (;;) {
      // With --once, a source that failed or was refused is the exit code (4), as with `feeds sync`.
      let syncFailed = false;
      if (o.sync) {
        const configured = (await listSources(db)).filter((s) => s.origin !== 'catalog').map((s) => s.id);
        for (const r of await syncSources(db, configured, { actor: SCHEDULER })) {
          if (r.status === 'failed' || r.status === 'refused') syncFailed = true;
          if (r.status !== 'unchanged' && r.status !== 'not-modified')
            await writeAll(o.io.stderr, `scheduler: ${r.source} ${r.status}${r.error === undefined ? '' : `: ${r.error}`}\n`);
        }
      }
      for (const t of await schedulerTick(db, transport, { actor: SCHEDULER })) {
        if (t.started !== null)
          await writeAll(
            o.io.stdout,
            `${new Date().toISOString()} ${t.policy}: run ${String(t.started.run)} on ${t.started.hosts.join(', ')}: ${t.report?.run.status ?? 'started'}\n`,
          );
        // Targets no run reaches (imported, no address): skipped, said once and again when the list changes.
        const left = (t.unreachable ?? []).join(', ');
        if (left !== '' && skipped.get(t.policy) !== left)
          await writeAll(o.io.stderr, `scheduler: ${t.policy}: skipping ${left}: no address Bulwark reaches them by (imported inventories)\n`);
        skipped.set(t.policy, left);
      }
      if (o.once) return syncFailed ? EXIT.targetsFailed : EXIT.ok;
      if (o.signal?.aborted === true) return EXIT.ok;
      await new Promise((r) => setTimeout(r, o.intervalSeconds * 1000));
    }
  } finally {
    await db.close();
  }
}

/** `bulwark scheduler`. */
export function register(program: Command, ctx: CliContext): void {
  describe(
    program.command('scheduler'),
    'run what policies say is due: emergency out-of-band updates at once, the rest in their windows',
    'bulwark scheduler --sync --interval 300',
    'bulwark scheduler --once',
  )
    .addOption(numberOption('--interval <seconds>', 'seconds between passes', { min: 1, unit: 'seconds', default: 60 }))
    .option('--sync', 'sync the configured feed sources before each pass')
    .option('--once', 'one pass, then exit')
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .action(async (o: { interval: number; sync?: boolean; once?: boolean; knownHosts?: string }) => {
      ctx.exit = await schedulerCommand({
        io: ctx.io,
        dbPath: ctx.dbPath(),
        hooks: ctx.config?.config.hooks,
        intervalSeconds: o.interval,
        sync: o.sync === true,
        once: o.once === true,
        knownHostsFile: o.knownHosts,
      });
    });
}
