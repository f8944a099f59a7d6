import { BulwarkError } from '../core/errors.js';
import { managerFor, releaseVersion } from '../executor/registry.js';
import { getTarget, type StoredTarget } from '../storage/index.js';
import {
  packageManagerOf,
  requireTransport,
  transportOf,
  type HostTransport,
  type HostTransportContext,
  type HostTransportOptions,
} from './host-transports/index.js';
import { ssh } from './host-transports/ssh.js';
import { hookAllowListOf } from './hook-allow.js';
import { scanHosts } from './hosts.js';
import type { CommandResult, RunTransport } from './runs.js';
import type { Db } from './store.js';

/**
 * Runs reach each host the way it was added — over SSH, through its enrolled agent (which picks
 * the steps up as tasks on its next pass) — as the transport registry (host-transports/) says
 * for its address. The package manager is the one the host was added with
 * (`hosts add --package-manager`) or its agent found, else the release's own (managerFor); every
 * command is an argv.
 */
export { managerFor };

function dispatch(
  db: Db,
  opts: HostTransportOptions,
  pick: (t: StoredTarget) => HostTransport,
  reaches?: (t: { address: string | null }) => boolean,
): RunTransport {
  const ctx: HostTransportContext = { db, opts };
  const target = async (id: string): Promise<StoredTarget> => {
    const t = await getTarget(db, id);
    if (t === null) throw new BulwarkError('usage', `no target ${id}`);
    return t;
  };
  return {
    ...(reaches !== undefined ? { reaches } : {}),
    packageManager: async (id) => {
      const t = await target(id);
      return packageManagerOf(t) ?? managerFor(t.release);
    },
    // The release's version: tdnf cannot tell it on a host without a release package (the others ignore it).
    managerOptions: async (id) => {
      const v = releaseVersion((await target(id)).release);
      return v === undefined ? {} : { releasever: v };
    },
    // BULWARK_HOOKS_FILE's file (read afresh for each hook), else the configuration file's `hooks:` section.
    hookAllowList: () => hookAllowListOf(opts),
    // Where health gates connect and hook URLs point: the host part of its address URL (ssh://root@web-1.corp:22 → web-1.corp).
    async address(id) {
      const t = await target(id);
      if (t.address === null || transportOf(t) !== ssh) return null;
      const host = new URL(t.address).hostname;
      return host === '' ? null : host.replace(/^\[(.*)\]$/, '$1');
    },
    async exec(id, argv) {
      const t = await target(id);
      // apt must never stop to ask.
      return pick(t).exec(ctx, t, argv[0] === 'apt-get' ? ['env', 'DEBIAN_FRONTEND=noninteractive', ...argv] : argv);
    },
    async rollsBack(id) {
      return pick(await target(id)).rollsBack !== false;
    },
    async reboot(id, o) {
      const t = await target(id);
      return pick(t).reboot(ctx, t, o);
    },
    async rescan(id): Promise<CommandResult> {
      const t = await target(id);
      const tr = pick(t);
      if (tr.rescan !== undefined) return tr.rescan(ctx, t);
      // A transport the server collects through: collect again, store, and match.
      const [r] = await scanHosts(db, [t.name], {
        knownHostsFile: opts.knownHostsFile,
        acceptNewHostKey: false,
        concurrency: 1,
        identityDir: opts.identityDir ?? null,
      });
      return r?.ok === true
        ? { code: 0, stdout: `${String(r.report?.counts.closed ?? 0)} findings closed`, stderr: '' }
        : { code: 1, stdout: '', stderr: r?.error ?? 'rescan failed' };
    },
  };
}

/** Every host over SSH, whatever its address says (test workers drive SSH fleets with it). */
export function sshRunTransport(db: Db, opts: HostTransportOptions): RunTransport {
  return dispatch(db, opts, () => ssh);
}

/** Each host through the transport its address names (host-transports/index.ts). */
export function runTransport(db: Db, opts: HostTransportOptions): RunTransport {
  // A target whose address names no transport (an imported inventory) is not reached: plans leave it out.
  return dispatch(db, opts, requireTransport, reachableTarget);
}

/**
 * Whether a run can reach a target at all: its address names a transport (an imported inventory
 * has none). Plans shown to operators (`bulwark plan`, the /plan route) leave the others out as a run does.
 */
export function reachableTarget(t: { address: string | null }): boolean {
  return transportOf(t) !== null;
}
