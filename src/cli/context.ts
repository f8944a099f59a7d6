import type { Command } from 'commander';
import type { LoadedConfig } from '../config/settings.js';
import type { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** What every command group's actions share: the streams, the global --db, and where the exit code goes. */
export interface CliContext {
  readonly io: CliIo;
  /** The `--db` path; undefined: BULWARK_DATABASE_URL or the default database. */
  dbPath(): string | undefined;
  /** The exit code of the command that ran, set by its action. */
  exit: ExitCode;
  /** The configuration read before the action ran (file and variables); `io.env` already holds its settings. */
  config?: LoadedConfig;
}

/** A command group's module (src/cli/commands/<group>.ts): it adds its commands to the program. */
export interface CommandGroupModule {
  register(program: Command, ctx: CliContext): void;
}
