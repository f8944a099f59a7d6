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
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
