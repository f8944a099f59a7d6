import type { Snapshot } from '../../inventory/collector.js';
import type { HookAllowList } from '../../policy/hook-allow-schema.js';
import type { SshOptions } from '../../inventory/ssh.js';
import type { StoredTarget } from '../../storage/index.js';
import type { CommandResult } from '../runs.js';
import type { Db } from '../store.js';

/** What runs and scans pass to a transport: SSH's settings, reboot and agent-task waits. */
export type HostTransportOptions = SshOptions & {
  rebootWaitMs?: number;
  rebootPollMs?: number;
  agentTaskTimeoutMs?: number;
  /** The hook allow-list file (`BULWARK_HOOKS_FILE` of the process executing runs); absent: `hooks`, else this process's environment's. */
  hooksFile?: string | undefined;
  /** The configuration file's `hooks:` section, already checked: the allow-list when no `hooksFile` is named. */
  hooks?: HookAllowList | undefined;
};

export interface HostTransportContext {
  db: Db;
  opts: HostTransportOptions;
}

/**
 * How Bulwark reaches a host, chosen by its address's scheme (`ssh://`, `agent://`): one module
 * per transport in this folder and one line in index.ts's registry.
 */
export interface HostTransport {
  /** The address scheme, and the transport's id. */
  id: string;
  /**
   * Collects the host's inventory from the server (`hosts scan`, and a run's rescan). Absent
   * for a host that reports by itself (an agent): it must then have `rescan`.
   */
  collect?: (t: StoredTarget, o: SshOptions) => Promise<Snapshot>;
  /** Runs an argv on the host (a run's step). */
  exec: (ctx: HostTransportContext, t: StoredTarget, argv: readonly string[]) => Promise<CommandResult>;
  /** Reboots the host and waits for a new boot; `since`: a step begun before by a process that died. */
  reboot: (ctx: HostTransportContext, t: StoredTarget, o?: { since?: string }) => Promise<CommandResult>;
  /**
   * false when a run cannot undo an update through it (the agent runs only the install and query
   * argv it checks word for word: no history undo, no downgrade); plans under `rollback:
   * on-failure` leave such hosts out. Absent: it can.
   */
  rollsBack?: false;
  /** A run's re-inventory after patching, for a transport that does not `collect`. */
  rescan?: (ctx: HostTransportContext, t: StoredTarget) => Promise<CommandResult>;
}
