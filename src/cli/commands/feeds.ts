import { searchAdvisories, type AdvisoryQuery } from '../../services/advisories.js';
import { addSource, listSources, removeSource, syncSource, syncSources, type AddSourceInput, type SyncReport } from '../../services/feeds.js';
import { openStore } from '../../services/store.js';
import { actorOf } from '../io.js';
import { BulwarkError } from '../../core/errors.js';
import { EXAMPLE_RELEASE, EXAMPLE_SOURCE } from '../../distros/registry.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { didYouMean, plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { describe, intOption, listOption } from '../options.js';

interface Common {
  io: CliIo;
  dbPath: string | undefined;
}

/** `bulwark feeds list`: every source, where it reads from and how its last sync went. */
export async function feedsListCommand(opts: Common & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const sources = await listSources(db);
    if (opts.json) {
      await writeAll(opts.io.stdout, JSON.stringify(sources, null, 2) + '\n');
      return EXIT.ok;
    }
    await writeAll(
      opts.io.stdout,
      formatTable(
        ['SOURCE', 'FORMAT', 'RELEASE', 'ORIGIN', 'LAST SYNC', 'ADVISORIES', 'NEWEST', 'FRESHNESS', 'LOCATION'],
        sources.map((s) => [
          s.id,
          s.format,
          s.release ?? '-',
          s.origin,
          s.refused !== undefined ? `REFUSED ${s.refused.at}` : (s.state?.syncedAt ?? 'never'),
          s.state === null ? '-' : String((s.state.summary['advisories'] as number | undefined) ?? '-'),
          s.freshness.newestAt?.slice(0, 10) ?? '-',
          s.freshness.state === 'stale'
            ? `STALE (${s.freshness.ageDays === null ? '?' : String(s.freshness.ageDays)} d > ${String(s.freshness.staleAfterDays)})`
            : s.freshness.state,
          String(s.location),
        ]),
      ),
    );
    // A stale source is said in words under the table: an old feed is not "no new advisories".
    const stale = sources.filter((s) => s.freshness.state === 'stale');
    if (stale.length > 0) await writeAll(opts.io.stdout, stale.map((s) => `\n${s.id}: STALE: ${s.freshness.reason ?? ''}\n`).join(''));
    // A refused sync is said in words under the table: nothing of it was stored, and the scheduler
    // will not store it either until the feed changes or an operator allows it.
    const refused = sources.filter((s) => s.refused !== undefined);
    if (refused.length > 0)
      await writeAll(
        opts.io.stdout,
        refused
          .map((s) => {
            // Only the share guards can be overridden; a feed of another release never is.
            const overridable = s.refused?.reason === 'withdraw-share' || s.refused?.reason === 'mostly-skipped';
            const hint = overridable
              ? `\`bulwark feeds sync --source ${s.id} --allow-withdraw\` stores it if the publisher really withdrew them`
              : "check the source's location; --allow-withdraw does not override this";
            return `\n${s.id}: the last sync was refused: ${s.refused?.error ?? ''}\n  (advisories stay as of the last good sync; ${hint})\n`;
          })
          .join(''),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark feeds add ID --location L [--format F] [--release R]`: a new source, or a catalog source pointed at a file or mirror. */
export async function feedsAddCommand(opts: Common & AddSourceInput): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const s = await addSource(db, opts, actorOf(opts.io));
    await writeAll(opts.io.stdout, `source ${s.id} (${s.format}${s.release === null ? '' : `, ${s.release}`}) reads ${String(s.location)} [${s.origin}]\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

export async function feedsRemoveCommand(opts: Common & { id: string }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const removed = await removeSource(db, opts.id, actorOf(opts.io));
    if (!removed) throw new BulwarkError('usage', `no configured source "${opts.id}" (built-in catalog entries cannot be removed, only overridden)`);
    await writeAll(opts.io.stdout, `removed ${opts.id}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

function summaryLine(r: SyncReport): string {
  if (r.status === 'failed') return `${r.source}: FAILED: ${r.error ?? 'unknown error'}`;
  if (r.status === 'refused') return `${r.source}: REFUSED: ${r.error ?? 'unknown reason'}`;
  if (r.status !== 'synced') return `${r.source}: ${r.status} (${r.seconds.toFixed(3)} s)`;
  // Exploitation signals (KEV, EPSS) count entries, not advisories; `withdrawn`: dropped by the publisher.
  if (r.signal !== undefined)
    return (
      `${r.source}: ${String(r.advisories)} ${r.signal.kind === 'kev' ? `KEV entries (catalog ${r.signal.version}` : `EPSS scores (model ${r.signal.version}`}, ${r.signal.newestAt.slice(0, 10)}): ` +
      `${String(r.added)} added, ${String(r.changed)} ${r.signal.kind === 'kev' ? 'changed' : 'moved'}, ${String(r.withdrawn)} dropped, ${String(r.restored)} restored, ${String(r.unchanged)} unchanged, ${String(r.warnings)} skipped-with-warnings, ${r.seconds.toFixed(2)} s`
    );
  return (
    `${r.source}: ${plural(r.advisories, 'advisory', 'advisories')} in ${plural(r.documents, 'document')}: ` +
    `${String(r.added)} added, ${String(r.changed)} changed, ${String(r.withdrawn)} withdrawn, ${String(r.restored)} restored, ` +
    `${String(r.unchanged)} unchanged, ${String(r.warnings)} skipped-with-warnings, ${r.seconds.toFixed(2)} s` +
    (r.rescanned === undefined ? '' : `; ${plural(r.rescanned, 'target')} re-scanned`)
  );
}

/**
 * `bulwark feeds sync [--source S …] [--file F] [--force] [--allow-withdraw]`: syncs the named
 * sources (default: every configured one and the catalog's), printing progress on stderr and a
 * summary line per source. Exit 4 when a source failed. Each sync is audited by the service.
 */
export async function feedsSyncCommand(
  opts: Common & { sources: string[]; file: string | undefined; force: boolean; allowWithdraw?: boolean; json: boolean; verbose: boolean },
): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    if (opts.file !== undefined && opts.sources.length !== 1)
      throw new BulwarkError('usage', '--file needs exactly one --source (the source the file is a copy of)');
    // A mistyped source is the caller's mistake (exit 2, with the closest name), not a failed sync (4).
    const known = opts.sources.length > 0 ? (await listSources(db)).map((s) => s.id) : [];
    for (const id of opts.sources)
      if (!known.includes(id))
        throw new BulwarkError('usage', `no feed source "${id}"${didYouMean(id, known)}; \`bulwark feeds list\` shows them, \`bulwark feeds add\` adds one`, {
          source: id,
        });
    let last = 0;
    const onProgress = (p: { source: string; advisories: number; documents: number }): void => {
      const now = performance.now();
      if (now - last < 1000) return;
      last = now;
      opts.io.stderr.write(`${p.source}: ${plural(p.advisories, 'advisory', 'advisories')} read…\n`);
    };
    const common = { force: opts.force, allowWithdraw: opts.allowWithdraw === true, onProgress, actor: actorOf(opts.io) };
    let reports: SyncReport[];
    if (opts.file !== undefined) {
      const [only] = opts.sources;
      if (only === undefined) throw new BulwarkError('usage', '--file needs --source');
      reports = [await syncSource(db, only, { ...common, file: opts.file })];
    } else {
      const ids = opts.sources.length > 0 ? opts.sources : (await listSources(db)).map((s) => s.id);
      reports = await syncSources(db, ids, common);
    }
    if (opts.json) await writeAll(opts.io.stdout, JSON.stringify(reports, null, 2) + '\n');
    else {
      const lines: string[] = [];
      for (const r of reports) {
        lines.push(summaryLine(r));
        const samples = opts.verbose ? r.warningSamples : r.warningSamples.slice(0, 5);
        for (const w of samples) lines.push(`  warning${w.record === null ? '' : ` ${w.record}`}: ${w.message}`);
        if (r.warnings > samples.length)
          lines.push(
            `  … ${String(r.warnings - samples.length)} more ${r.warnings - samples.length === 1 ? 'warning' : 'warnings'}${opts.verbose ? '' : ' (--verbose shows up to 50)'}`,
          );
      }
      await writeAll(opts.io.stdout, lines.join('\n') + '\n');
    }
    return reports.some((r) => r.status === 'failed' || r.status === 'refused') ? EXIT.targetsFailed : EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark advisories [--cve] [--package] [--release] [--source]`: search the store. */
export async function advisoriesCommand(opts: Common & AdvisoryQuery & { json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const list = await searchAdvisories(db, opts);
    if (opts.json) {
      await writeAll(opts.io.stdout, JSON.stringify(list, null, 2) + '\n');
      return EXIT.ok;
    }
    const rows = list.flatMap((a) => {
      const fixes = a.fixes.length === 0 ? [null] : a.fixes;
      return fixes.map((f) => [
        a.severity,
        a.id,
        a.cves.slice(0, 3).join(' ') + (a.cves.length > 3 ? ` +${String(a.cves.length - 3)}` : ''),
        f?.release ?? '-',
        f === null ? '-' : `${f.package}${f.arch === null ? '' : `.${f.arch}`}`,
        f?.status ?? '-',
        f?.fixed ?? f?.lastAffected ?? '-',
        a.source,
      ]);
    });
    await writeAll(opts.io.stdout, formatTable(['SEVERITY', 'ADVISORY', 'CVES', 'RELEASE', 'PACKAGE', 'STATUS', 'VERSION', 'SOURCE'], rows));
    await writeAll(opts.io.stderr, `${plural(list.length, 'advisory', 'advisories')}\n`);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark feeds list | add | remove | sync` and `bulwark advisories`. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const feeds = describe(
    program.command('feeds'),
    'advisory feed sources: the built-in catalog and your own',
    'bulwark feeds list',
    'bulwark feeds sync --source my-mirror',
  );
  describe(feeds.command('list'), 'list feed sources, where each reads from and its last sync', 'bulwark feeds list', 'bulwark feeds list --json')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      ctx.exit = await feedsListCommand({ io, dbPath: ctx.dbPath(), json: o.json === true });
    });
  describe(
    feeds.command('add'),
    'add a source, or point a catalog source at a local file or mirror',
    'bulwark feeds add my-mirror --format oval --location /srv/mirror/oval.xml.xz',
    'bulwark feeds add my-osv --format osv --location https://mirror.example.com/osv/all.zip',
  )
    .argument('<id>', `source id, e.g. ${EXAMPLE_SOURCE}`)
    .requiredOption('--location <path-or-url>', 'local file or http(s) URL (plain, gz, xz, bz2, zst; tar or zip archives of documents)')
    .option('--format <format>', "feed format (oval, osv, csaf-vex, updateinfo, native; kev, epss for exploitation signals); defaults to the catalog entry's")
    .option('--release <release>', `release the feed is about when its documents do not say, e.g. ${EXAMPLE_RELEASE}`)
    .option('--description <text>', 'a note for `feeds list`')
    .option(
      '--stale-after-days <n>',
      'the source is stale when its newest advisory (or last sync) is older than this (default 14; EPSS 2, KEV 7)',
      (v: string) => {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 3650) throw new BulwarkError('usage', `--stale-after-days: "${v}" is not a whole number of days from 1 to 3650`);
        return n;
      },
    )
    .action(async (id: string, o: { location: string; format?: string; release?: string; description?: string; staleAfterDays?: number }) => {
      ctx.exit = await feedsAddCommand({
        io,
        dbPath: ctx.dbPath(),
        id,
        location: o.location,
        format: o.format,
        release: o.release,
        description: o.description,
        staleAfterDays: o.staleAfterDays,
      });
    });
  describe(feeds.command('remove'), 'remove a configured source (a catalog source goes back to its built-in location)', 'bulwark feeds remove my-osv')
    .argument('<id>', 'the source id')
    .action(async (id: string) => {
      ctx.exit = await feedsRemoveCommand({ io, dbPath: ctx.dbPath(), id });
    });
  describe(
    feeds.command('sync'),
    'fetch and ingest feeds (all sources unless --source is given); unchanged feeds are skipped',
    'bulwark feeds sync',
    'bulwark feeds sync --source my-mirror --file ./oval.xml.xz',
  )
    .addOption(listOption('--source <id>', 'a source to sync (repeatable)'))
    .option('--file <path>', 'read this local file as the --source (offline use)')
    .option('--force', 'parse and store even if the feed is unchanged (a feed of another distribution or release is refused all the same)')
    .option('--allow-withdraw', "store a feed that withdraws more than 20% of the source's advisories, or whose records were mostly skipped")
    .option('--json', 'print the reports as JSON')
    .option('--verbose', 'print up to 50 warnings per source')
    .action(async (o: { source: string[]; file?: string; force?: boolean; allowWithdraw?: boolean; json?: boolean; verbose?: boolean }) => {
      ctx.exit = await feedsSyncCommand({
        io,
        dbPath: ctx.dbPath(),
        sources: o.source,
        file: o.file,
        force: o.force === true,
        allowWithdraw: o.allowWithdraw === true,
        json: o.json === true,
        verbose: o.verbose === true,
      });
    });

  describe(
    program.command('advisories'),
    'search stored advisories',
    'bulwark advisories --cve CVE-2024-6387',
    'bulwark advisories --package openssl --limit 20',
  )
    .option('--cve <id>', 'advisories naming this CVE')
    .option('--package <name>', 'advisories with a fix for this package (source or binary name)')
    .option('--release <release>', `only this release's fixes, e.g. ${EXAMPLE_RELEASE}`)
    .option('--source <id>', 'only this feed source')
    .option('--withdrawn', 'include withdrawn advisories')
    .addOption(intOption('--limit <n>', 'at most n advisories, newest first', { min: 1 }))
    .option('--json', 'print JSON')
    .action(async (o: { cve?: string; package?: string; release?: string; source?: string; withdrawn?: boolean; limit?: number; json?: boolean }) => {
      ctx.exit = await advisoriesCommand({
        io,
        dbPath: ctx.dbPath(),
        cve: o.cve,
        package: o.package,
        release: o.release,
        source: o.source,
        withdrawn: o.withdrawn,
        limit: o.limit,
        json: o.json === true,
      });
    });
}
