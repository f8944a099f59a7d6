import type { CommandOptions, PackageManager } from '../executor/types.js';
import type { HookAllowList } from './hook-allow.js';

/** What a run step gets back from a host, and how steps reach hosts (run-steps.ts, run-safety.ts). */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How steps reach a host: its package manager, a way to run argv there, reboot and re-scan. */
export interface RunTransport {
  packageManager(targetId: string): Promise<PackageManager>;
  /** Extra manager arguments for this host (an installroot, repositories) — validated by the transport. */
  managerOptions(targetId: string): Promise<Pick<CommandOptions, 'installroot' | 'extra' | 'releasever' | 'config'>>;
  exec(targetId: string, argv: readonly string[]): Promise<CommandResult>;
  /**
   * Reboots the host and waits for it to come back. `since`: the step was begun before (its
   * process died) at that time — a host booted since then is not rebooted again.
   */
  reboot(targetId: string, o?: { since?: string }): Promise<CommandResult>;
  rescan(targetId: string): Promise<CommandResult>;
  /**
   * Whether this transport can reach a target at all (an imported inventory has no address):
   * plans for a run leave the others out of their rings, with a warning. Absent: every target.
   */
  reaches?(target: { address: string | null }): boolean;
  /**
   * Whether an update on the host can be undone through this transport (an agent's cannot): a
   * precheck that records for a rollback fails before anything changes when not. Absent: it can.
   */
  rollsBack?(targetId: string): Promise<boolean>;
  /** The name or address the host is reached at (for health gates and hook URLs); absent or null: its name. */
  address?(targetId: string): Promise<string | null>;
  /** The operator's hook allow-list (services/hook-allow.ts); absent: the one `BULWARK_HOOKS_FILE` in this process's environment names. */
  hookAllowList?(): HookAllowList;
}
