import { runDemo } from '../../services/demo.js';
import { openStore } from '../../services/store.js';
import type { CliIo } from '../io.js';
import { writeAll } from '../io.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { formatTable } from '../table.js';
import type { Command } from 'commander';
import { plural } from '../../lib/words.js';
import type { CliContext } from '../context.js';
import { describe } from '../options.js';

/**
 * `bulwark demo`: ingests the sample feed, imports the sample host and scans it, on the
 * configured database (the embedded SQLite file by default), and prints what it found.
 */
export async function demoCommand(opts: { io: CliIo; dbPath: string | undefined }): Promise<ExitCode> {
  const db = await openStore({ dbPath: opts.dbPath, env: opts.io.env });
  try {
    const { ingest, inventory, scan } = await runDemo(db);
    const out: string[] = [];
    out.push(`Bulwark demo on ${db.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${db.description}`);
    out.push(
      `feed ${ingest.source}: ${String(ingest.added)} added, ${String(ingest.changed)} changed, ${String(ingest.unchanged)} unchanged, ` +
        `${String(ingest.withdrawn)} withdrawn, ${String(ingest.skipped.length)} bad records skipped`,
    );
    for (const s of ingest.skipped) out.push(`  skipped${s.record === null ? '' : ` ${s.record}`}: ${s.message}`);
    out.push(
      `target ${inventory.target.name} (${inventory.target.release ?? '?'}, ${inventory.target.arch ?? 'mixed arch'}): ${plural(inventory.packages, 'package')}`,
    );
    const c = scan.counts;
    out.push(`scan: ${String(c.opened)} new, ${String(c.kept)} still present, ${String(c.reopened)} reopened, ${String(c.closed)} closed`);
    out.push('');
    const open = scan.active.filter((f) => f.status === 'open').length;
    out.push(`${plural(scan.active.length, 'finding')} (${String(open)} with a fix, ${String(scan.active.length - open)} without one):`);
    await writeAll(opts.io.stdout, out.join('\n') + '\n');
    await writeAll(
      opts.io.stdout,
      formatTable(
        ['SEVERITY', 'ADVISORY', 'PACKAGE', 'INSTALLED', 'FIXED IN', 'STATUS'],
        scan.active.map((f) => [f.severity, f.advisoryId, f.package, f.installed, f.fixed ?? '-', f.status]),
      ),
    );
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `bulwark demo`. */
export function register(program: Command, ctx: CliContext): void {
  describe(
    program.command('demo'),
    'ingest a small sample feed and scan a sample inventory on the embedded SQLite database',
    'bulwark demo',
    'bulwark --db /tmp/demo.db demo',
  ).action(async () => {
    ctx.exit = await demoCommand({ io: ctx.io, dbPath: ctx.dbPath() });
  });
}
