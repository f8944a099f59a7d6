import {
  addHost,
  HOST_PACKAGE_MANAGERS,
  listHosts,
  removeHost,
  scanHosts,
  sshKeyDir,
  tagHost,
  type HostInput,
  type PackageManager,
} from '../../services/hosts.js';
import { staleFeedNotes } from '../../services/stale-notes.js';
import { openStore } from '../../services/store.js';
import { actorOf } from '../io.js';
import { BulwarkError } from '../../core/errors.js';
import { severityRank, type Severity } from '../../core/advisory.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { didYouMean, plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, listOption } from '../options.js';
import { registerImport } from './hosts-import.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

export async function hostsAddCommand(o: Common & HostInput & { replace: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const t = await addHost(db, o, actorOf(o.io), { identityDir: sshKeyDir(o.io.env), replace: o.replace });
    await writeAll(o.io.stdout, `host ${t.name}: ${t.address ?? ''}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function hostsTagCommand(o: Common & { name: string; add: string[]; remove: string[] }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const t = await tagHost(db, o.name, { add: o.add, remove: o.remove }, actorOf(o.io));
    await writeAll(o.io.stdout, `${t.name}: ${t.tags.length === 0 ? 'no tags' : `tags ${t.tags.join(', ')}`}\n`);
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
    if (!(await removeHost(db, o.name, actorOf(o.io))))
      throw new BulwarkError(
        'usage',
        `no host named "${o.name}"${didYouMean(
          o.name,
          (await listHosts(db)).map((h) => h.name),
        )}`,
      );
    await writeAll(o.io.stdout, `removed ${o.name} (its inventory and findings with it)\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark scan --host H… | --all`: collect over SSH, store, match; exit 4 when a host failed. */
export async function scanHostsCommand(
  o: Common & {
    hosts: string[] | 'all';
    knownHostsFile: string;
    acceptNewHostKey: boolean;
    concurrency: number;
    format: 'table' | 'json';
    failOn: Severity | undefined;
  },
): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    // A mistyped name is the caller's mistake (exit 2, with the closest name), not a failed host (4).
    if (o.hosts !== 'all') {
      const known = await listHosts(db);
      const names = known.map((h) => h.name);
      const missing = o.hosts.filter((n) => !known.some((h) => h.name === n || h.id === n));
      if (missing.length > 0)
        throw new BulwarkError(
          'storage.not-found',
          missing.map((n) => `no host named "${n}"${didYouMean(n, names)}`).join('; ') + ' (`bulwark hosts list` shows them)',
          { hosts: missing },
        );
    }
    const results = await scanHosts(db, o.hosts, {
      knownHostsFile: o.knownHostsFile,
      acceptNewHostKey: o.acceptNewHostKey,
      concurrency: o.concurrency,
      identityDir: sshKeyDir(o.io.env),
      actor: actorOf(o.io),
    });
    // The report's packageSources is a Map, for `scan --inventory`'s findings; JSON would print it as {}.
    if (o.format === 'json')
      await writeAll(
        o.io.stdout,
        JSON.stringify(
          results.map((r) => (r.report === undefined ? r : { ...r, report: { target: r.report.target, counts: r.report.counts, active: r.report.active } })),
          null,
          2,
        ) + '\n',
      );
    else {
      const lines = results.map((r) =>
        r.ok && r.report !== undefined
          ? `${r.host}: ${r.report.target.release ?? '?'}, ${plural(r.report.active.length, 'finding')} (${String(r.report.counts.opened)} new, ${String(r.report.counts.closed)} closed)`
          : `${r.host}: FAILED: ${r.error ?? ''}`,
      );
      await writeAll(o.io.stdout, lines.join('\n') + '\n');
      for (const n of await staleFeedNotes(
        db,
        results.map((r) => r.report?.target.release ?? null),
      ))
        await writeAll(o.io.stdout, `warning: ${n}\n`);
    }
    const failed = results.filter((r) => !r.ok).length;
    if (results.length === 0) await writeAll(o.io.stderr, 'no hosts to scan (`bulwark hosts add` adds one)\n');
    else if (failed > 0)
      await writeAll(
        o.io.stderr,
        failed === results.length
          ? failed === 1
            ? 'the one host scanned failed\n'
            : `all ${String(failed)} hosts failed\n`
          : `${String(failed)} of ${plural(results.length, 'host')} failed\n`,
      );
    if (failed > 0) return EXIT.targetsFailed;
    if (o.failOn !== undefined) {
      const worst = results
        .flatMap((r) => r.report?.active ?? [])
        .some((f) => f.status !== 'accepted' && f.status !== 'mitigated' && severityRank(f.severity) >= severityRank(o.failOn ?? 'critical'));
      if (worst) return EXIT.findings;
    }
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark hosts add | list | tag | remove`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const hosts = describe(
    program.command('hosts'),
    'hosts Bulwark reaches over SSH (no agent on the host)',
    'bulwark hosts add web-01 --address bulwark@10.0.0.5 --sudo --tag prod',
    'bulwark hosts list',
  );
  describe(
    hosts.command('add'),
    'add a host reached over SSH (an existing name needs --replace)',
    'bulwark hosts add web-01 --address bulwark@10.0.0.5 --identity /etc/bulwark/id_ed25519 --sudo --tag prod',
    'bulwark hosts add web-01 --address bulwark@10.0.0.6 --replace',
  )
    .argument('<name>', 'a unique name, e.g. web-01')
    .requiredOption('--address <user@host[:port]>', 'where to connect (user defaults to root, port to 22)')
    .option('--identity <file>', 'private key file (default: the SSH agent)')
    .option('--sudo', 'run package queries with sudo -n')
    .addOption(listOption('--tag <tag>', 'a tag (repeatable)'))
    .addOption(enumOption('--package-manager <pm>', "the host's package manager for patch runs (default: its release's own)", [...HOST_PACKAGE_MANAGERS]))
    .option('--replace', 'replace the host of this name (its address, identity, tags), keeping its inventory and findings')
    .action(
      async (name: string, o: { address: string; identity?: string; sudo?: boolean; tag: string[]; packageManager?: PackageManager; replace?: boolean }) => {
        ctx.exit = await hostsAddCommand({
          io,
          dbPath: ctx.dbPath(),
          name,
          address: o.address,
          identityFile: o.identity,
          sudo: o.sudo === true,
          tags: o.tag,
          packageManager: o.packageManager,
          replace: o.replace === true,
        });
      },
    );
  describe(hosts.command('list'), 'list hosts: release, kernel, last inventory, address and tags', 'bulwark hosts list', 'bulwark hosts list --json')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await hostsListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(
    hosts.command('tag'),
    'add or remove tags of a host, imported targets too (policies select hosts by tag)',
    'bulwark hosts tag web-01 --tag prod --tag eu',
    'bulwark hosts tag imported-1 --untag staging',
  )
    .argument('<name>', 'the host or imported target')
    .addOption(listOption('--tag <tag>', 'a tag to add (repeatable)'))
    .addOption(listOption('--untag <tag>', 'a tag to remove (repeatable)'))
    .action(async (name: string, o: { tag: string[]; untag: string[] }) => {
      ctx.exit = await hostsTagCommand({ io, dbPath: ctx.dbPath(), name, add: o.tag, remove: o.untag });
    });
  registerImport(hosts, ctx);
  describe(hosts.command('remove'), 'remove a host, with its inventory and findings', 'bulwark hosts remove web-01')
    .argument('<name>', 'the host')
    .action(async (name: string) => {
      ctx.exit = await hostsRemoveCommand({ io, dbPath: ctx.dbPath(), name });
    });
}
