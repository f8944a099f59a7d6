/**
 * Documented exit codes of the `bulwark` command (DESIGN.md conventions; README "Exit codes").
 */
export const EXIT = {
  ok: 0,
  /** Findings over the `--fail-on` threshold. */
  findings: 1,
  /** Bad usage or bad input lines. */
  usage: 2,
  /** Configuration error (database URL, config file). */
  config: 3,
  /** Some targets failed (others may have succeeded). */
  targetsFailed: 4,
  /** A bug: an unexpected internal error. */
  internal: 70,
  /** The disk or the database is full (sysexits' EX_IOERR); nothing of the change was stored. */
  storageFull: 74,
  /** Busy: another process held the database past the busy timeout, or holds the run, view or image asked for (sysexits' EX_TEMPFAIL: try again). */
  conflict: 75,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
