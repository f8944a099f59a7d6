import { auditLog } from '../../services/audit.js';
import { openStore } from '../../services/store.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describe, intOption } from '../options.js';

/** `bulwark audit [--subject S] [--limit N] [--json]`: the append-only audit log, newest first. */
export async function auditCommand(o: { io: CliIo; dbPath: string | undefined; subject: string | undefined; limit: number; json: boolean }): Promise<ExitCode> {
  const db = await openStore({ dbPath: o.dbPath, env: o.io.env });
  try {
    const entries = await auditLog(db, { limit: o.limit, ...(o.subject !== undefined ? { subject: o.subject } : {}) });
    if (o.json) await writeAll(o.io.stdout, JSON.stringify(entries, null, 2) + '\n');
    else
      await writeAll(
        o.io.stdout,
        formatTable(
          ['AT', 'ACTOR', 'ACTION', 'SUBJECT', 'DETAIL'],
          entries.map((e) => [e.at, e.actor, e.action, e.subject, JSON.stringify(e.detail)]),
        ),
      );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark audit`. */
export function register(program: Command, ctx: CliContext): void {
  describe(
    program.command('audit'),
    'the append-only audit log: who changed what, and when',
    'bulwark audit --limit 20',
    'bulwark audit --subject monthly --json',
  )
    .option('--subject <name>', 'only entries about this policy, host or feed')
    .addOption(intOption('--limit <n>', 'newest n entries', { min: 1, default: 100 }))
    .option('--json', 'print JSON')
    .action(async (o: { subject?: string; limit: number; json?: boolean }) => {
      ctx.exit = await auditCommand({ io: ctx.io, dbPath: ctx.dbPath(), subject: o.subject, limit: o.limit, json: o.json === true });
    });
}
