import { basename } from 'node:path';
import { severityRank, type Severity } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import { EXAMPLE_RELEASE } from '../../distros/registry.js';
import { knownArch } from '../../core/target.js';
import { scanFiles, type FileScanFinding, type FileScanResult } from '../../services/file-scan.js';
import { feedCacheDir } from '../../services/feed-cache.js';
import type { SourceCounts } from '../../inventory/source-names.js';
import { hostname } from 'node:os';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, intOption, listOption, parseSeverity } from '../options.js';

export interface ScanOptions {
  io: CliIo;
  dbPath: string | undefined;
  inventory: string | undefined;
  root: string | undefined;
  local: boolean;
  feeds: string[];
  release: string | undefined;
  name: string | undefined;
  ovalStrict: boolean;
  kernel: string | undefined;
  format: 'table' | 'json';
  failOn: Severity | undefined;
}

/** A finding as printed; a stored scan's may be `accepted` by an operator. */
type Printed = Omit<FileScanFinding, 'status'> & { status: FileScanFinding['status'] | 'accepted' };

/** A stored scan's finding: a file scan's fields, when the store first and last saw it, and who accepted it until when (null unless accepted). */
type StoredPrinted = Printed & {
  advisoryId: string;
  advisorySource: string;
  firstSeen: string;
  lastSeen: string;
  acceptedBy: string | null;
  acceptedUntil: string | null;
};

function table(findings: readonly Printed[]): string {
  const rows = [...findings]
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.package.localeCompare(b.package) || a.advisory.localeCompare(b.advisory))
    .map((f) => [
      f.severity,
      f.advisory,
      f.cves.slice(0, 2).join(' ') + (f.cves.length > 2 ? ` +${String(f.cves.length - 2)}` : ''),
      f.package,
      f.installed,
      f.fixed ?? '-',
      f.status,
      f.reason === null ? '' : '*',
    ]);
  return formatTable(['SEVERITY', 'ADVISORY', 'CVES', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'STATUS', ''], rows);
}

function gate(findings: readonly { severity: Severity }[], failOn: Severity | undefined): ExitCode {
  if (failOn === undefined) return EXIT.ok;
  return findings.some((f) => severityRank(f.severity) >= severityRank(failOn)) ? EXIT.findings : EXIT.ok;
}

/** How the packages' source names are known, e.g. `source packages: 0 given, 2 resolved (0 from repositories, 2 from the shipped map), 0 learned, 0 assumed`. */
export function sourcesLine(c: SourceCounts): string {
  return `source packages: ${String(c.given)} given, ${String(c.repository + c.shipped)} resolved (${String(c.repository)} from repositories, ${String(c.shipped)} from the shipped map), ${String(c.learned)} learned, ${String(c.assumed)} assumed to be the binary's name\n`;
}

/** Each thing the import left out, named (the first 20, then how many more). */
async function printImportWarnings(io: CliIo, warnings: readonly string[]): Promise<void> {
  for (const w of warnings.slice(0, 20)) await writeAll(io.stderr, `warning: ${w}\n`);
  if (warnings.length > 20) await writeAll(io.stderr, `warning: and ${String(warnings.length - 20)} more records left out\n`);
  if (warnings.length > 0) await writeAll(io.stderr, `${String(warnings.length)} inventory warnings (records left out or listed twice, each named above)\n`);
}

async function print(io: CliIo, r: FileScanResult, format: 'table' | 'json'): Promise<void> {
  if (format === 'json') {
    await writeAll(io.stdout, JSON.stringify({ ...r, warnings: r.warnings.length }, null, 2) + '\n');
    return;
  }
  const open = r.findings.filter((f) => f.status === 'open').length;
  await writeAll(
    io.stdout,
    `${r.inventory.file}: ${plural(r.inventory.packages, 'package')} (${r.inventory.format}), ${r.release}, ${plural(r.advisories, 'advisory', 'advisories')}, ${r.mode} matching\n`,
  );
  if (r.mode === 'normal') await writeAll(io.stdout, sourcesLine(r.inventory.sources));
  await printImportWarnings(io, r.inventory.warnings);
  await writeAll(io.stdout, `${plural(r.findings.length, 'finding')} (${String(open)} with a fix, ${String(r.findings.length - open)} without one)\n`);
  if (r.findings.length > 0) await writeAll(io.stdout, table(r.findings));
  const corrected = r.findings.filter((f) => f.reason !== null);
  for (const f of corrected.slice(0, 20)) await writeAll(io.stdout, `* ${f.advisory} ${f.package}: ${f.reason ?? ''}\n`);
  // Each warning named (the first 5): there is no store to ask later, as `feeds sync --verbose` would.
  for (const w of r.warnings.slice(0, 5)) await writeAll(io.stderr, `feed warning${w.record === null ? '' : ` ${w.record}`}: ${w.message}\n`);
  if (r.warnings.length > 5) await writeAll(io.stderr, `… ${String(r.warnings.length - 5)} more feed warnings\n`);
  if (r.warnings.length > 0) await writeAll(io.stderr, `${plural(r.warnings.length, 'feed warning')} (records or parts of them left out)\n`);
}

/**
 * `bulwark scan`: with `--feed`, an inventory (`--inventory FILE` or `--root DIR`) against feed
 * files, no database; without, the inventory is stored as a target and scanned against the
 * advisory store. `--fail-on SEVERITY` exits 1 when a finding is that severe or worse.
 */
export async function scanCommand(o: ScanOptions): Promise<ExitCode> {
  if ([o.inventory !== undefined, o.root !== undefined, o.local].filter(Boolean).length !== 1)
    throw new BulwarkError('usage', 'give one of --inventory FILE, --root DIR, --local, --host NAME or --all');
  if (o.local && o.feeds.length > 0) throw new BulwarkError('usage', '--local with --feed is not supported yet: scan --local stores this machine as a host');
  if (o.feeds.length > 0) {
    if (o.root !== undefined)
      throw new BulwarkError(
        'usage',
        '--root with --feed is not supported yet: export the root with `rpm --root DIR -qa --queryformat …` and pass --inventory',
      );
    const r = await scanFiles({
      inventory: o.inventory ?? '',
      feeds: o.feeds,
      release: o.release,
      ovalStrict: o.ovalStrict,
      runningKernel: o.kernel ?? null,
      // Parsed feeds are kept by content (issue #14): the next scan of the same file skips its parse.
      feedCache: feedCacheDir(o.io.env),
    });
    await print(o.io, r, o.format);
    return gate(r.findings, o.failOn);
  }
  if (o.ovalStrict) throw new BulwarkError('usage', '--oval-strict needs --feed (the store scan applies the documented corrections)');
  // The store and what it needs are loaded only here: `scan --feed` (above) starts without them (issue #14).
  const [
    { importInventoryFile, importLocalInventory, importRootInventory },
    { findFindings },
    { packageSourceKey, scanTarget },
    { staleFeedNotes },
    { openStore },
  ] = await Promise.all([
    import('../../services/inventory.js'),
    import('../../services/report.js'),
    import('../../services/scan.js'),
    import('../../services/stale-notes.js'),
    import('../../services/store.js'),
  ]);
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const imported = o.local
      ? await importLocalInventory(db, { name: o.name ?? hostname(), release: o.release })
      : o.root !== undefined
        ? await importRootInventory(db, { dir: o.root, name: o.name ?? basename(o.root), release: o.release })
        : await importInventoryFile(db, { file: o.inventory ?? '', name: o.name ?? basename(o.inventory ?? ''), release: o.release });
    const scan = await scanTarget(db, imported.target.id);
    // Each finding with the fields and names a scan with --feed prints (issue #13: the stored
    // scan's JSON lacked cves, arch and packageSource, and named the advisory differently),
    // plus what only the store knows (first and last seen, an acceptance). By the target's id: a name
    // could also be another target's id.
    const rows = scan.active.length === 0 ? [] : await findFindings(db, { hosts: [scan.target.id], status: ['open', 'no-fix', 'accepted'] });
    const findings: StoredPrinted[] = rows.map((r) => ({
      advisory: r.advisoryId,
      source: r.advisorySource,
      cves: r.cves,
      package: r.package,
      arch: knownArch(r.arch),
      installed: r.installed,
      fixed: r.fixed,
      severity: r.severity,
      status: r.status === 'no-fix' || r.status === 'accepted' ? r.status : 'open',
      reason: r.reason,
      packageSource: scan.packageSources.get(packageSourceKey(r)) ?? null,
      // The names this output had before it took a --feed scan's (kept so scripts reading them go on working).
      advisoryId: r.advisoryId,
      advisorySource: r.advisorySource,
      firstSeen: r.firstSeen,
      lastSeen: r.lastSeen,
      acceptedBy: r.acceptedBy,
      acceptedUntil: r.acceptedUntil,
    }));
    // Stale advisory feeds for the target's release are said with the result (issue #16): an old feed is not a clean bill.
    const stale = await staleFeedNotes(db, [scan.target.release]);
    if (o.format === 'json')
      await writeAll(
        o.io.stdout,
        JSON.stringify(
          {
            target: scan.target.name,
            release: scan.target.release,
            sources: imported.sources,
            inventoryWarnings: imported.warnings,
            counts: scan.counts,
            findings,
            ...(stale.length > 0 ? { staleFeeds: stale } : {}),
          },
          null,
          2,
        ) + '\n',
      );
    else {
      await writeAll(
        o.io.stdout,
        `target ${scan.target.name} (${scan.target.release ?? '?'}): ${plural(imported.packages, 'package')}; ${String(scan.counts.opened)} new, ${String(scan.counts.kept)} still present, ${String(scan.counts.closed)} closed\n`,
      );
      for (const n of stale) await writeAll(o.io.stdout, `warning: ${n}\n`);
      await writeAll(o.io.stdout, sourcesLine(imported.sources));
      await printImportWarnings(o.io, imported.warnings);
      if (findings.length > 0) await writeAll(o.io.stdout, table(findings));
    }
    // An operator's accepted risk does not fail the command, as in `findings`, `report` and
    // `scan --host` (it failed `scan --inventory --name` only, and was printed as open).
    return gate(
      findings.filter((f) => f.status !== 'accepted'),
      o.failOn,
    );
  } finally {
    await db.close();
  }
}

/** `bulwark scan`: hosts over SSH into the store, or an inventory against feed files or the store. */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  describe(
    program.command('scan'),
    'scan hosts over SSH (--host, --all), or an inventory (--inventory, --root): against feed files with --feed (no database), else against the advisory store',
    'bulwark scan --host web-01 --accept-new-host-key',
    'bulwark scan --all --concurrency 32',
    'bulwark scan --inventory host.tsv --feed oval.xml.xz --format json --fail-on high',
  )
    .addOption(listOption('--host <name>', 'scan this host over SSH (repeatable)'))
    .option('--all', 'scan every host over SSH')
    .option('--accept-new-host-key', 'trust and record the key of a host seen for the first time (never a changed key)')
    .option('--known-hosts <file>', 'known_hosts file (default: beside the default database)')
    .addOption(intOption('--concurrency <n>', 'hosts at once', { min: 1, max: 1024, default: 16 }))
    .option('--inventory <file>', 'rpm -qa / dpkg-query output, a manifest of .rpm names, or a CycloneDX/SPDX SBOM')
    .option('--root <dir>', "an image's unpacked root (its rpm database is read with rpm --root)")
    .option('--local', 'this machine')
    .addOption(listOption('--feed <file>', 'a feed file (OVAL, OSV, CSAF, updateinfo; compressed or archived); repeatable'))
    .option('--release <release>', `the release, e.g. ${EXAMPLE_RELEASE} (default: told by dist tags or the feed)`)
    .option('--name <name>', 'the target name when storing (default: the file or directory name)')
    .option('--oval-strict', 'evaluate OVAL literally, as oscap oval eval does (no corrections)')
    .option('--kernel <uname-r>', 'the running kernel: only its build of an installonly kernel is judged (and uname tests with --oval-strict)')
    .addOption(enumOption('--format <format>', 'output', ['table', 'json'], { default: 'table' }))
    .option('--fail-on <severity>', 'exit 1 when a finding is this severe or worse', parseSeverity)
    .action(
      async (o: {
        host: string[];
        all?: boolean;
        acceptNewHostKey?: boolean;
        knownHosts?: string;
        concurrency: number;
        inventory?: string;
        root?: string;
        local?: boolean;
        feed: string[];
        release?: string;
        name?: string;
        ovalStrict?: boolean;
        kernel?: string;
        format: 'table' | 'json';
        failOn?: Severity;
      }) => {
        if (o.host.length > 0 || o.all === true) {
          if (o.inventory !== undefined || o.root !== undefined || o.local === true || o.feed.length > 0)
            throw new BulwarkError('usage', '--host/--all scan over SSH into the store; they do not mix with --inventory, --root or --feed');
          const [{ scanHostsCommand }, { defaultKnownHosts }] = await Promise.all([import('./hosts.js'), import('../../services/hosts.js')]);
          ctx.exit = await scanHostsCommand({
            io,
            dbPath: ctx.dbPath(),
            hosts: o.all === true ? 'all' : o.host,
            knownHostsFile: o.knownHosts ?? defaultKnownHosts(io.env),
            acceptNewHostKey: o.acceptNewHostKey === true,
            concurrency: o.concurrency,
            format: o.format,
            failOn: o.failOn,
          });
          return;
        }
        ctx.exit = await scanCommand({
          io,
          dbPath: ctx.dbPath(),
          inventory: o.inventory,
          root: o.root,
          local: o.local === true,
          feeds: o.feed,
          release: o.release,
          name: o.name,
          ovalStrict: o.ovalStrict === true,
          kernel: o.kernel,
          format: o.format,
          failOn: o.failOn,
        });
      },
    );
}
