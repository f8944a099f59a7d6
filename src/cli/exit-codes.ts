import { isBulwarkError, type ErrorCode } from '../core/errors.js';

/**
 * Documented exit codes of the `bulwark` command (DESIGN.md conventions; README "Exit codes",
 * whose table lists the error codes of each, checked by exit-codes.test.ts).
 */
export const EXIT = {
  ok: 0,
  /** Findings over the `--fail-on` threshold. */
  findings: 1,
  /** Bad usage or bad input lines; an unknown host, policy, source or run. */
  usage: 2,
  /** Configuration error (database URL or file, config file). */
  config: 3,
  /** Some targets failed (others may have succeeded). */
  targetsFailed: 4,
  /** A bug: an unexpected internal error. */
  internal: 70,
  /** The disk or the database is full (sysexits' EX_IOERR); nothing of the change was stored. */
  storageFull: 74,
  /** Busy: another process held the database past the busy timeout, or holds the run, view or image asked for (sysexits' EX_TEMPFAIL: try again). */
  conflict: 75,
  /** The credential is missing, not valid, or its role may not do this (sysexits' EX_NOPERM). */
  noPermission: 77,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code of every error code: one table, so no ordinary condition ends as "a bug" (70).
 * A `Record` over the union: a new error code does not compile until it has its exit code.
 *
 * - `storage.unavailable` (the database cannot be opened or reached) is 3, a configuration
 *   error: the operator's `--db` or BULWARK_DATABASE_URL points at something that is not there
 *   or not theirs, which is also what a script can act on; 69 (EX_UNAVAILABLE) would split a
 *   PostgreSQL server that is down from a wrong URL, which Bulwark cannot tell apart.
 * - `auth.required` and `auth.forbidden` are 77 (EX_NOPERM): the request was understood, the
 *   credential is missing or may not do it. `auth.rate-limited` is 75: try again later.
 */
export const EXIT_OF_ERROR: Readonly<Record<ErrorCode, ExitCode>> = {
  usage: EXIT.usage,
  'input.invalid': EXIT.usage,
  'input.too-large': EXIT.usage,
  'version.invalid': EXIT.usage,
  'package.invalid': EXIT.usage,
  'storage.not-found': EXIT.usage,
  'config.invalid': EXIT.config,
  'storage.unavailable': EXIT.config,
  'target.unreachable': EXIT.targetsFailed,
  'storage.full': EXIT.storageFull,
  'storage.conflict': EXIT.conflict,
  'auth.rate-limited': EXIT.conflict,
  'auth.required': EXIT.noPermission,
  'auth.forbidden': EXIT.noPermission,
  internal: EXIT.internal,
};

/** The exit code for an error a command threw: its code's, or 70 for anything else (a bug). */
export function exitCodeOf(err: unknown): ExitCode {
  return isBulwarkError(err) ? EXIT_OF_ERROR[err.code] : EXIT.internal;
}
