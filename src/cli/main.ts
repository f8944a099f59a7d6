import { Command, CommanderError } from 'commander';
import { loadConfigLazily } from '../config/load.js';
import { DEFAULT_CONFIG_FILE } from '../config/settings-list.js';
import { isBulwarkError } from '../core/errors.js';
import { VERSION } from '../version.js';
import { groupsFor } from './commands/registry.js';
import type { CliContext } from './context.js';
import { EXIT, exitCodeOf, type ExitCode } from './exit-codes.js';
import { processIo, type CliIo } from './io.js';
import { describe, pathOption } from './options.js';

/**
 * The `bulwark` command. Returns the exit code instead of exiting, so tests can call it.
 * Each command group (src/cli/commands/registry.ts) is imported only when one of its commands
 * runs; errors become exit codes through one table (exit-codes.ts).
 *
 * @example await main(['vercmp', '--scheme', 'rpm'], io) // 0
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<ExitCode> {
  const program = new Command('bulwark');
  // The configuration file's settings reach commands as environment variables (src/config):
  // read once, before the command's action, into the environment every command is given.
  const ctxIo: CliIo = { ...io };
  const ctx: CliContext = { io: ctxIo, dbPath: () => program.opts<{ db?: string }>().db, exit: EXIT.ok };
  describe(
    program,
    'Patch and vulnerability lifecycle manager for Linux server fleets',
    'bulwark demo',
    'bulwark --db /srv/bulwark/bulwark.db findings --severity high',
    'bulwark help scan',
  )
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addOption(
      pathOption(
        '--db <path>',
        'SQLite database file, in a directory that exists (default: $XDG_DATA_HOME/bulwark/bulwark.db; BULWARK_DATABASE_URL selects PostgreSQL)',
        { parent: 'must-exist', code: 'config.invalid' },
      ),
    )
    .addOption(
      pathOption('--config <file>', `configuration file (default: $BULWARK_CONFIG, else ${DEFAULT_CONFIG_FILE} when it exists)`, { code: 'config.invalid' }),
    )
    .hook('preAction', async () => {
      ctx.config = await loadConfigLazily({ file: program.opts<{ config?: string }>().config, env: io.env });
      ctxIo.env = ctx.config.env;
    });

  try {
    for (const group of groupsFor(argv)) (await group.load()).register(program, ctx);
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // A busy or full database is the operator's to act on, not a bug. The storage layer is
    // imported only here, so commands that never open a database do not load its drivers.
    const known = isBulwarkError(err) ? err : ((await import('../services/store.js')).storageErrorOf(err) ?? err);
    if (isBulwarkError(known)) {
      io.stderr.write(`bulwark: ${known.message}\n`);
      return exitCodeOf(known);
    }
    io.stderr.write(`bulwark: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.internal;
  }
}
