import type { Command } from 'commander';
import { BulwarkError } from '../../core/errors.js';
import { plural } from '../../lib/words.js';
import { acceptRisk, unacceptRisk, type AcceptanceResult, type FindingSelection } from '../../services/risk-acceptance.js';
import { openStore } from '../../services/store.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { actorOf, writeAll, type CliIo } from '../io.js';
import { describe, enumOption, listOption, timeOption } from '../options.js';
import { formatTable } from '../table.js';

/**
 * `bulwark findings accept | unaccept`: an operator accepts the risk of findings (chosen by host
 * or tag, and advisory or CVE, optionally packages), with a reason and an optional expiry, or
 * revokes it (services/risk-acceptance.ts).
 */
async function acceptanceCommand(o: {
  io: CliIo;
  dbPath: string | undefined;
  revoke: boolean;
  selection: FindingSelection;
  reason: string | undefined;
  until: Date | undefined;
  format: 'table' | 'json';
}): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const actor = actorOf(o.io);
    let r: AcceptanceResult;
    if (o.revoke) r = await unacceptRisk(db, { ...o.selection, ...(o.reason !== undefined ? { reason: o.reason } : {}), actor });
    else {
      if (o.reason === undefined) throw new BulwarkError('usage', 'findings accept needs --reason TEXT (the compliance report shows it)');
      r = await acceptRisk(db, { ...o.selection, reason: o.reason, until: o.until ?? null, actor });
    }
    if (o.format === 'json') {
      await writeAll(o.io.stdout, JSON.stringify(r, null, 2) + '\n');
      return EXIT.ok;
    }
    const rows = r.findings.map((f) => [f.host, f.advisoryId, f.package, f.arch, f.was, o.revoke ? 'no longer accepted' : 'accepted']);
    const what = o.revoke
      ? `${plural(r.findings.length, 'acceptance')} revoked`
      : `${plural(r.findings.length, 'finding')} accepted${o.until === undefined ? ' (no expiry)' : ` until ${o.until.toISOString()}`}`;
    await writeAll(o.io.stdout, formatTable(['HOST', 'ADVISORY', 'PACKAGE', 'ARCH', 'WAS', 'NOW'], rows) + what + '\n');
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** Adds `accept` and `unaccept` under `bulwark findings`. */
export function registerAcceptance(findings: Command, ctx: CliContext): void {
  for (const revoke of [false, true]) {
    const cmd = describe(
      findings.command(revoke ? 'unaccept' : 'accept'),
      revoke
        ? 'revoke the acceptance of findings: they are open (or without a fix) again and go back into plans'
        : 'accept the risk of findings (open, without a fix, or accepted: renewed) with a reason and an optional expiry: they leave plans and --fail-on, and are the compliance report’s exceptions',
      ...(revoke
        ? ['bulwark findings unaccept --host web-01 --cve CVE-2024-6387 --reason "VPN removed"']
        : [
            'bulwark findings accept --host web-01 --cve CVE-2024-6387 --reason "sshd only on the VPN" --until 2026-12-31',
            'bulwark findings accept --tag lab --advisory AZL-2026-1234 --package vim --reason "lab hosts, no users"',
          ]),
    )
      .addOption(listOption('--host <name>', 'on this host or image (repeatable)'))
      .addOption(listOption('--tag <tag>', 'on every host with this tag (repeatable: all of them)'))
      .addOption(listOption('--advisory <id>', 'findings of this advisory (repeatable)'))
      .addOption(listOption('--cve <id>', 'findings of the advisories naming this CVE (repeatable)'))
      .addOption(listOption('--package <name>', 'only this binary package (repeatable)'))
      .option('--reason <text>', revoke ? 'why (kept in the audit log)' : 'why the risk is accepted (required)')
      .addOption(enumOption('--format <format>', 'output', ['table', 'json'], { default: 'table' }));
    if (!revoke)
      cmd.addOption(
        timeOption('--until <time>', 'ISO 8601 date or time the acceptance expires (a date: its end, UTC); default: until revoked', { endOfDay: true }),
      );
    cmd.action(
      async (o: {
        host: string[];
        tag: string[];
        advisory: string[];
        cve: string[];
        package: string[];
        reason?: string;
        until?: Date;
        format: 'table' | 'json';
      }) => {
        ctx.exit = await acceptanceCommand({
          io: ctx.io,
          dbPath: ctx.dbPath(),
          revoke,
          selection: { hosts: o.host, tags: o.tag, advisories: o.advisory, cves: o.cve, packages: o.package },
          reason: o.reason,
          until: o.until,
          format: o.format,
        });
      },
    );
  }
}
