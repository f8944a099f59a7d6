import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BulwarkError } from '../../core/errors.js';
import { complianceReport } from '../../services/compliance.js';
import { htmlToPdf } from '../../services/compliance-pdf.js';
import { listProfiles, resetProfile, setProfile } from '../../services/compliance-profiles.js';
import { complianceCsv, complianceHtml, evidenceHtml } from '../../services/compliance-render.js';
import { hostEvidence } from '../../services/evidence.js';
import { openStore } from '../../services/store.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { actorOf, writeAll } from '../io.js';
import { describe, enumOption, listOption, pathOption, timeOption } from '../options.js';
import { formatTable } from '../table.js';

const FORMATS = ['html', 'csv', 'pdf', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** A year ago to now, unless given. */
function period(o: { from?: Date; to?: Date }): { from: Date; to: Date } {
  const to = o.to ?? new Date();
  return { from: o.from ?? new Date(to.getTime() - 365 * 86_400_000), to };
}

/** `--days critical=30,high=30`: severity → days. */
function parseDays(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([a-z]+)=(\d+)$/.exec(v);
    if (m === null) throw new BulwarkError('usage', `--days: "${v}" is not SEVERITY=DAYS (e.g. critical=30)`);
    out[m[1] ?? ''] = Number(m[2]);
  }
  return out;
}

/** `bulwark compliance report | evidence | profiles | profile set | profile reset` (issue #18 item 3). */
export function register(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const group = describe(
    program.command('compliance'),
    'compliance reports for auditors: SLA attainment, exceptions, evidence per host; deadline profiles',
    'bulwark compliance report --deadlines fedramp --from 2026-01-01 --to 2026-12-31 --format pdf --output sla-2026.pdf',
    'bulwark compliance evidence --host web-01 --from 2026-05-01 --to 2026-05-31',
  );
  const out = async (file: string | undefined, body: string | Buffer): Promise<void> => {
    if (file === undefined) await writeAll(io.stdout, typeof body === 'string' ? body : body.toString('latin1'));
    else writeFileSync(file, body);
  };
  describe(
    group.command('report'),
    'SLA attainment per severity (and KEV), policy, release and month; mean and p90 time to remediate; open past deadline; holds and accepted risks',
    'bulwark compliance report --deadlines pci-dss --format csv',
    'bulwark compliance report --deadlines policy --from 2026-07-01 --format html --output q3.html',
  )
    .option('--deadlines <name>', 'a deadline profile (fedramp, pci-dss, one of yours) or "policy" for the policies\' own deadlines', 'fedramp')
    .addOption(timeOption('--from <date>', 'start of the period (default: a year before --to)'))
    .addOption(timeOption('--to <date>', 'end of the period, that day included (default: now)', { endOfDay: true }))
    .addOption(enumOption('--format <format>', 'output format', FORMATS, { default: 'html' }))
    .addOption(pathOption('--output <file>', 'write here instead of standard output (needed for pdf)', { parent: 'must-exist' }))
    .action(async (o: { deadlines: string; from?: Date; to?: Date; format: Format; output?: string }) => {
      if (o.format === 'pdf' && o.output === undefined) throw new BulwarkError('usage', '--format pdf needs --output FILE');
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        const r = await complianceReport(db, { deadlines: o.deadlines, ...period(o) });
        const body =
          o.format === 'json'
            ? JSON.stringify(r, null, 2) + '\n'
            : o.format === 'csv'
              ? complianceCsv(r)
              : o.format === 'pdf'
                ? await htmlToPdf(complianceHtml(r))
                : complianceHtml(r);
        await out(o.output, body);
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
  describe(
    group.command('evidence'),
    'for a host and period: every run that touched it, the packages and versions it changed, who approved, the findings it closed',
    'bulwark compliance evidence --host web-01 --from 2026-05-01 --to 2026-05-31 --format pdf --output web-01-may.pdf',
  )
    .requiredOption('--host <name>', 'the host')
    .addOption(timeOption('--from <date>', 'start of the period (default: a year before --to)'))
    .addOption(timeOption('--to <date>', 'end of the period, that day included (default: now)', { endOfDay: true }))
    .addOption(enumOption('--format <format>', 'output format', ['json', 'html', 'pdf'] as const, { default: 'json' }))
    .addOption(pathOption('--output <file>', 'write here instead of standard output (needed for pdf)', { parent: 'must-exist' }))
    .action(async (o: { host: string; from?: Date; to?: Date; format: 'json' | 'html' | 'pdf'; output?: string }) => {
      if (o.format === 'pdf' && o.output === undefined) throw new BulwarkError('usage', '--format pdf needs --output FILE');
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        const e = await hostEvidence(db, { host: o.host, ...period(o) });
        await out(o.output, o.format === 'json' ? JSON.stringify(e, null, 2) + '\n' : o.format === 'pdf' ? await htmlToPdf(evidenceHtml(e)) : evidenceHtml(e));
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
  describe(
    group.command('profiles'),
    'the deadline profiles: built-in (fedramp, pci-dss) and yours, with their days per severity',
    'bulwark compliance profiles --json',
  )
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        const list = await listProfiles(db);
        await writeAll(
          io.stdout,
          o.json === true
            ? JSON.stringify(list, null, 2) + '\n'
            : formatTable(
                ['NAME', 'DAYS', 'KEV DUE DATE', 'EDITED', 'DESCRIPTION'],
                list.map((p) => [
                  p.name,
                  Object.entries(p.days)
                    .map(([s, d]) => `${s}=${String(d)}`)
                    .join(','),
                  p.kevDueDate ? 'yes' : 'no',
                  p.edited === null ? (p.builtin ? 'built in' : '-') : `${p.edited.at} by ${p.edited.by}`,
                  p.description,
                ]),
              ),
        );
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
  const profile = describe(
    group.command('profile'),
    'edit deadline profiles',
    'bulwark compliance profile set fedramp --days critical=15,high=30,medium=90,low=180 --kev-due-date',
  );
  describe(
    profile.command('set'),
    'add a profile, or replace a built-in one with your days',
    'bulwark compliance profile set internal --days critical=7,high=14',
  )
    .argument('<name>', 'the profile')
    .addOption(listOption('--days <severity=days>', 'days from first sight per severity (repeatable, comma-separated)', { split: true }))
    .option('--kev-due-date', "a KEV-listed CVE is due by CISA's due date when earlier")
    .option('--description <text>', 'what the profile is for', '')
    .action(async (name: string, o: { days: string[]; kevDueDate?: boolean; description: string }) => {
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        const p = await setProfile(db, name, { description: o.description, days: parseDays(o.days), kevDueDate: o.kevDueDate === true }, actorOf(io));
        await writeAll(io.stdout, `profile ${p.name}: ${JSON.stringify(p.days)}${p.kevDueDate ? ', KEV by its due date' : ''}\n`);
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
  describe(profile.command('reset'), 'remove your profile, or bring a built-in one back to its defaults', 'bulwark compliance profile reset fedramp')
    .argument('<name>', 'the profile')
    .action(async (name: string) => {
      const db = await openStore({ dbPath: ctx.dbPath(), env: io.env });
      try {
        await resetProfile(db, name, actorOf(io));
        await writeAll(io.stdout, `profile ${name} reset\n`);
        ctx.exit = EXIT.ok;
      } finally {
        await db.close();
      }
    });
}
