import { Command, CommanderError, Option } from 'commander';
import { isBulwarkError } from '../core/errors.js';
import { isPackageFamily } from '../core/version/registry.js';
import { runVercmp } from './commands/vercmp.js';
import { demoCommand } from './commands/demo.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { processIo, type CliIo } from './io.js';
import { VERSION } from '../version.js';

/**
 * The `bulwark` command. Returns the exit code instead of exiting, so tests can call it.
 *
 * @example await main(['vercmp', '--scheme', 'rpm'], io) // 0
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  const program = new Command('bulwark')
    .description('Patch and vulnerability lifecycle manager for Linux server fleets')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .option('--db <path>', 'SQLite database file (default: $XDG_DATA_HOME/bulwark/bulwark.db; BULWARK_DATABASE_URL selects PostgreSQL)');

  program
    .command('vercmp')
    .description('compare versions read as "A<TAB>B" lines on stdin; prints -1, 0 or 1 per line')
    .addOption(new Option('--scheme <scheme>', 'version scheme').choices(['rpm', 'deb']).makeOptionMandatory())
    .action(async (opts: { scheme: string }) => {
      if (!isPackageFamily(opts.scheme)) throw new Error('unreachable: commander validated choices');
      code = await runVercmp({ scheme: opts.scheme, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr });
    });

  program
    .command('demo')
    .description('ingest a small sample feed and scan a sample inventory on the embedded SQLite database')
    .action(async () => {
      const dbPath = program.opts<{ db?: string }>().db;
      code = await demoCommand({ io, dbPath });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isBulwarkError(err)) {
      io.stderr.write(`bulwark: ${err.message}\n`);
      if (err.code === 'config.invalid' || err.code === 'storage.unavailable') return EXIT.config;
      if (err.code === 'usage' || err.code === 'input.invalid') return EXIT.usage;
      return EXIT.internal;
    }
    io.stderr.write(`bulwark: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.internal;
  }
}
