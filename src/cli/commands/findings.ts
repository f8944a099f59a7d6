import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Severity } from '../../core/advisory.js';
import { requireTargets, type FindingsQuery, type ReportFormat } from '../../services/report.js';
import { findingBatches } from '../../services/report-stream.js';
import { overThresholdRow } from '../../services/report-order.js';
import { writeReport } from '../../services/report-write.js';
import { openStore, type Db } from '../../services/store.js';
import type { FindingRow } from '../../services/report-stream.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { endStream } from '../../lib/spool.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { TableSpool } from '../table.js';
import type { Command } from 'commander';
import { plural } from '../../lib/words.js';
import { FINDING_STATUSES, type FindingStatus } from '../../core/finding.js';
import { BulwarkError } from '../../core/errors.js';
import { RISK_SORTS, type RiskSort } from '../../core/risk.js';
import type { CliContext } from '../context.js';
import { describe, enumOption, listOption, parseSeverity, pathOption } from '../options.js';
import { findingGroupsCommand } from './findings-groups.js';
import { registerAcceptance } from './findings-accept.js';

/**
 * `bulwark findings` and `bulwark report`: the stored findings, filtered, as a terminal table or
 * a file format; `--fail-on SEVERITY` exits 1 when an open finding is that severe or worse.
 */
export async function findingsCommand(o: {
  io: CliIo;
  dbPath: string | undefined;
  query: FindingsQuery;
  format: ReportFormat;
  output: string | undefined;
  failOn: Severity | undefined;
  /** Only the first N findings of the order. */
  limit?: number | undefined;
}): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  // A file is written beside its name and renamed when complete: never half a report under it.
  const partial = o.output === undefined ? undefined : join(dirname(o.output), `.${basename(o.output)}.${String(process.pid)}.partial`);
  // Up to 4 MiB waits in the stream before a write waits for the disk: the report is computed meanwhile.
  const file = partial === undefined ? undefined : createWriteStream(partial, { mode: 0o644, highWaterMark: 1 << 22 });
  try {
    if (o.query.hosts !== undefined) await requireTargets(db, o.query.hosts);
    const gate = { over: false };
    const onRow = (r: FindingRow): void => {
      if (o.failOn !== undefined && !gate.over && overThresholdRow(r, o.failOn)) gate.over = true;
    };
    const sink = (s: string | Uint8Array): Promise<void> => writeAll(file ?? o.io.stdout, s);
    // Streamed (issue #14): rows go out as they come, never the fleet's findings in memory.
    const limit = o.limit === undefined ? {} : { limit: o.limit };
    const n = o.format === 'table' ? await writeTable(db, o.query, sink, onRow, limit) : await writeReport(db, o.query, o.format, sink, { onRow, ...limit });
    if (file !== undefined && partial !== undefined && o.output !== undefined) {
      await endStream(file);
      await rename(partial, o.output);
      await writeAll(o.io.stderr, `wrote ${plural(n, 'finding')} to ${o.output}\n`);
    }
    return gate.over ? EXIT.findings : EXIT.ok;
  } finally {
    if (file !== undefined && partial !== undefined && !file.closed) file.destroy();
    if (partial !== undefined) await rm(partial, { force: true });
    await db.close();
  }
}

/** The terminal table: every row measured first (waiting on disk), then printed. */
async function writeTable(
  db: Db,
  q: FindingsQuery,
  sink: (s: string | Uint8Array) => Promise<void>,
  onRow: (r: FindingRow) => void,
  o: { limit?: number },
): Promise<number> {
  // The risk and its reason (issue #16) once they mean something: signals synced, or asked for.
  let risky = (q.sort !== undefined && q.sort !== 'severity') || q.kev === true || q.epssAbove !== undefined;
  const table = new TableSpool(['SEVERITY', 'HOST', 'ADVISORY', 'CVES', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'STATUS', 'FIRST SEEN', 'RISK', 'WHY']);
  // A mitigated finding's reason (the live patch that covers it) is said under the table.
  const mitigated: string[] = [];
  try {
    // Rows in arrays (one await per array, not per row), spooled an array at a time.
    for await (const b of findingBatches(db, q, o)) {
      const cells: string[][] = [];
      for (const r of b) {
        onRow(r);
        if (r.status === 'mitigated') mitigated.push(`  ${r.targetName} ${r.advisoryId} ${r.package}: ${r.reason ?? 'mitigated'}\n`);
        if (r.risk?.kev != null || r.risk?.epss != null) risky = true;
        cells.push([
          r.severity,
          r.targetName,
          r.advisoryId,
          r.cves.slice(0, 2).join(' ') + (r.cves.length > 2 ? ` +${String(r.cves.length - 2)}` : ''),
          r.package,
          r.installed,
          r.fixed ?? '-',
          r.status,
          r.firstSeen.slice(0, 10),
          r.risk === undefined ? '-' : r.risk.score.toFixed(1),
          r.risk?.reason ?? '-',
        ]);
      }
      await table.addAll(cells);
    }
    await table.write(risky ? 11 : 9, sink);
    await sink(`${plural(table.rows, 'finding')}\n`);
    if (mitigated.length > 0) {
      await sink(`${plural(mitigated.length, 'finding')} mitigated, not fixed:\n`);
      for (const m of mitigated) await sink(m);
    }
    return table.rows;
  } finally {
    table.dispose();
  }
}

/** `bulwark findings` and `bulwark report`. */
export function register(program: Command, ctx: CliContext): void {
  for (const [cmd, desc, formats, def, examples] of [
    [
      'findings',
      'list stored findings (open and without a fix unless --status says otherwise; options: `bulwark findings list --help`), or accept risks (`findings accept | unaccept`)',
      ['table', 'json', 'csv'],
      'table',
      ['bulwark findings --severity high', 'bulwark findings --host web-01 --status open --status accepted --format json'],
    ],
    [
      'report',
      'a findings report: terminal table, JSON, CSV, CycloneDX VEX or a self-contained HTML page',
      ['table', 'json', 'csv', 'cyclonedx-vex', 'html'],
      'table',
      ['bulwark report --format html --output fleet.html', 'bulwark report --format csv --fail-on critical'],
    ],
  ] as const) {
    const top = describe(program.command(cmd), desc, ...examples);
    let c = top;
    if (cmd === 'findings') {
      // The listing is the default subcommand, so that `findings accept --host x` gives --host
      // to accept (a parent's own options are taken wherever they stand on the line).
      c = describe(
        c.command('list', { isDefault: true }),
        'list stored findings (the default: `bulwark findings --host web-01` is `bulwark findings list --host web-01`)',
        ...examples,
      );
      registerAcceptance(top, ctx);
    }
    c.addOption(listOption('--host <name>', 'only this host or image (repeatable)'))
      .option('--severity <severity>', 'only findings this severe or worse', parseSeverity)
      .option('--cve <id>', 'only findings of advisories naming this CVE')
      .addOption(
        listOption('--status <status>', `${FINDING_STATUSES.join(', ')} (repeatable; default open, no-fix and mitigated)`, { choices: FINDING_STATUSES }),
      )
      .addOption(enumOption('--format <format>', 'output', formats, { default: def }))
      .addOption(pathOption('--output <file>', 'write to this file instead of standard output', { parent: 'must-exist' }))
      .option('--fail-on <severity>', 'exit 1 when an open finding is this severe or worse', parseSeverity)
      .addOption(
        enumOption(
          '--sort <order>',
          'risk (KEV-listed first, ransomware use before the rest, then 100 x (0.6 x EPSS + 0.4 x CVSS/10, v3 else v4.0), a KEV CVE counting as EPSS 1), epss, kev (earliest due date first), or severity',
          RISK_SORTS,
          { default: 'severity' },
        ),
      )
      .addOption(
        enumOption(
          '--group <by>',
          'fold findings by advisory or by source package (one line per fix; table and json); none: one line per finding',
          ['none', 'advisory', 'source'],
          {
            default: 'none',
          },
        ),
      )
      .option('--kev', 'only findings of CVEs CISA lists as known exploited')
      .option('--limit <n>', 'only the first N findings of the order (what to patch first: --sort risk --limit 20); the rest is not read', (v: string) => {
        if (!/^[1-9]\d{0,8}$/.test(v.trim())) throw new BulwarkError('usage', `--limit: "${v}" is not a whole number from 1`);
        return Number(v);
      })
      .option('--epss-above <p>', 'only findings of CVEs whose EPSS probability is above p (0 to 1)', (v: string) => {
        const n = Number(v);
        if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new BulwarkError('usage', `--epss-above: "${v}" is not a probability from 0 to 1`);
        return n;
      })
      .action(
        async (o: {
          host: string[];
          severity?: Severity;
          cve?: string;
          status: string[];
          format: ReportFormat;
          output?: string;
          failOn?: Severity;
          sort: RiskSort;
          kev?: boolean;
          epssAbove?: number;
          group: 'none' | 'advisory' | 'source';
          limit?: number;
        }) => {
          if (o.group !== 'none') {
            if (o.format !== 'table' && o.format !== 'json') throw new BulwarkError('usage', `--group ${o.group} writes a table or json, not ${o.format}`);
            if (
              o.kev === true ||
              o.epssAbove !== undefined ||
              o.sort !== 'severity' ||
              o.failOn !== undefined ||
              o.output !== undefined ||
              o.limit !== undefined
            )
              throw new BulwarkError(
                'usage',
                `--group ${o.group} does not take --kev, --epss-above, --sort, --fail-on, --output or --limit (use them without --group)`,
              );
            ctx.exit = await findingGroupsCommand({
              io: ctx.io,
              dbPath: ctx.dbPath(),
              by: o.group,
              query: { hosts: o.host, minSeverity: o.severity, cve: o.cve, status: o.status.length > 0 ? (o.status as FindingStatus[]) : undefined },
              format: o.format,
            });
            return;
          }
          // --fail-on judges every open finding; a limited listing would hide some from it.
          if (o.limit !== undefined && o.failOn !== undefined)
            throw new BulwarkError('usage', '--limit does not take --fail-on (it judges every finding, not the first N)');
          ctx.exit = await findingsCommand({
            io: ctx.io,
            dbPath: ctx.dbPath(),
            query: {
              hosts: o.host,
              minSeverity: o.severity,
              cve: o.cve,
              ...(o.status.length > 0 ? { status: o.status as FindingStatus[] } : {}),
              sort: o.sort,
              kev: o.kev === true,
              epssAbove: o.epssAbove,
            },
            format: o.format,
            output: o.output,
            failOn: o.failOn,
            limit: o.limit,
          });
        },
      );
  }
}
