import { BulwarkError } from '../core/errors.js';
import { managerFor } from '../executor/commands.js';
import { sshExec, type SshOptions } from '../inventory/ssh.js';
import { getTarget } from '../storage/index.js';
import { packageManagerOf, scanHosts, sshTargetOf } from './hosts.js';
import type { CommandResult, RunTransport } from './runs.js';
import { rebootViaAgent, runAgentTask } from './agents.js';
import type { Db } from './store.js';

/**
 * Runs reach hosts over SSH or through their agent. The package manager is the one the host was
 * added with (`hosts add --package-manager`) or its agent found, else the release's own
 * (managerFor); every command is an argv, quoted word by word for SSH.
 */
export { managerFor };

export function sshRunTransport(db: Db, ssh: SshOptions & { rebootWaitMs?: number; rebootPollMs?: number }): RunTransport {
  const target = async (id: string) => {
    const t = await getTarget(db, id);
    if (t === null) throw new BulwarkError('usage', `no target ${id}`);
    return t;
  };
  const exec = async (id: string, argv: readonly string[]): Promise<CommandResult> => {
    const t = await target(id);
    return sshExec(sshTargetOf(t), ssh, argv);
  };
  return {
    packageManager: async (id) => {
      const t = await target(id);
      return packageManagerOf(t) ?? managerFor(t.release);
    },
    managerOptions: () => Promise.resolve({}),
    async exec(id, argv) {
      // apt must never stop to ask.
      return exec(id, argv[0] === 'apt-get' ? ['env', 'DEBIAN_FRONTEND=noninteractive', ...argv] : argv);
    },
    async reboot(id, o) {
      // Begun before by a process that died: a host booted since then was rebooted by it.
      if (o?.since !== undefined) {
        const stat = await exec(id, ['cat', '/proc/stat']).catch(() => null);
        const btime = Number(/^btime (\d+)\s*$/m.exec(stat?.stdout ?? '')?.[1] ?? NaN);
        if (Number.isFinite(btime) && btime * 1000 >= Date.parse(o.since)) return { code: 0, stdout: `already rebooted: the host booted at ${new Date(btime * 1000).toISOString()}, after this step began at ${o.since}\n`, stderr: '' };
      }
      // Rebooted means booted again: a new boot id (/proc/sys/kernel/random/boot_id), not merely
      // an answer — a host still shutting down answers too.
      const bootId = async (): Promise<string | null> => {
        try {
          const r = await exec(id, ['cat', '/proc/sys/kernel/random/boot_id']);
          return r.code === 0 && /^[0-9a-f-]{36}$/.test(r.stdout.trim()) ? r.stdout.trim() : null;
        } catch {
          return null; // down, or on its way back
        }
      };
      const before = await bootId();
      if (before === null) return { code: null, stdout: '', stderr: 'cannot read the host\'s boot id (/proc/sys/kernel/random/boot_id) before rebooting it' };
      try {
        await exec(id, ['systemctl', 'reboot']);
      } catch {
        // The connection drops as the host goes down: expected.
      }
      const waitMs = ssh.rebootWaitMs ?? 600_000;
      const until = Date.now() + waitMs;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, ssh.rebootPollMs ?? 5000));
        const after = await bootId();
        if (after !== null && after !== before) return { code: 0, stdout: `rebooted: boot ${before} -> ${after}\n`, stderr: '' };
      }
      return { code: null, stdout: '', stderr: `no new boot within ${String(Math.round(waitMs / 1000))} s of the reboot (boot id still ${before}, or the host is not back)` };
    },
    async rescan(id) {
      const t = await target(id);
      const [r] = await scanHosts(db, [t.name], { knownHostsFile: ssh.knownHostsFile, acceptNewHostKey: false, concurrency: 1, identityDir: ssh.identityDir ?? null });
      return r?.ok === true ? { code: 0, stdout: `${String(r.report?.counts.closed ?? 0)} findings closed`, stderr: '' } : { code: 1, stdout: '', stderr: r?.error ?? 'rescan failed' };
    },
  };
}

/**
 * Runs reach each host the way it was added: over SSH, or through its enrolled agent
 * (`agent://` addresses), which picks the steps up as tasks on its next pass.
 */
export function runTransport(db: Db, ssh: SshOptions & { rebootWaitMs?: number; rebootPollMs?: number; agentTaskTimeoutMs?: number }): RunTransport {
  const viaSsh = sshRunTransport(db, ssh);
  const isAgent = async (id: string): Promise<boolean> => (await getTarget(db, id))?.address?.startsWith('agent://') === true;
  const task = (id: string, kind: 'exec' | 'report', argv: readonly string[]): Promise<CommandResult> => runAgentTask(db, id, kind, argv, ssh.agentTaskTimeoutMs === undefined ? {} : { timeoutMs: ssh.agentTaskTimeoutMs });
  return {
    packageManager: (id) => viaSsh.packageManager(id),
    managerOptions: (id) => viaSsh.managerOptions(id),
    async exec(id, argv) {
      if (!(await isAgent(id))) return viaSsh.exec(id, argv);
      return task(id, 'exec', argv[0] === 'apt-get' ? ['env', 'DEBIAN_FRONTEND=noninteractive', ...argv] : argv);
    },
    async reboot(id, o) {
      if (!(await isAgent(id))) return viaSsh.reboot(id, o);
      return rebootViaAgent(db, id, { ...(ssh.rebootWaitMs !== undefined ? { timeoutMs: ssh.rebootWaitMs } : {}), ...(ssh.agentTaskTimeoutMs !== undefined ? { taskTimeoutMs: ssh.agentTaskTimeoutMs } : {}), ...(o?.since !== undefined ? { since: o.since } : {}) });
    },
    async rescan(id) {
      if (!(await isAgent(id))) return viaSsh.rescan(id);
      const r = await task(id, 'report', []);
      return r.code === 0 ? { code: 0, stdout: r.stdout, stderr: '' } : r;
    },
  };
}
