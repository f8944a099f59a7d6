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

export function sshRunTransport(db: Db, ssh: SshOptions & { rebootWaitMs?: number }): RunTransport {
  const target = async (id: string) => {
    const t = await getTarget(db.kysely, id);
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
    async reboot(id) {
      const before = await exec(id, ['uname', '-r']);
      try {
        await exec(id, ['systemctl', 'reboot']);
      } catch {
        // The connection drops as the host goes down: expected.
      }
      const until = Date.now() + (ssh.rebootWaitMs ?? 600_000);
      await new Promise((r) => setTimeout(r, 5000));
      while (Date.now() < until) {
        try {
          const after = await exec(id, ['uname', '-r']);
          return { code: 0, stdout: `rebooted: ${before.stdout.trim()} -> ${after.stdout.trim()}`, stderr: '' };
        } catch {
          await new Promise((r) => setTimeout(r, 5000));
        }
      }
      return { code: null, stdout: '', stderr: `the host did not come back within ${String((ssh.rebootWaitMs ?? 600_000) / 1000)} s` };
    },
    async rescan(id) {
      const t = await target(id);
      const [r] = await scanHosts(db, [t.name], { knownHostsFile: ssh.knownHostsFile, acceptNewHostKey: false, concurrency: 1 });
      return r?.ok === true ? { code: 0, stdout: `${String(r.report?.counts.closed ?? 0)} findings closed`, stderr: '' } : { code: 1, stdout: '', stderr: r?.error ?? 'rescan failed' };
    },
  };
}

/**
 * Runs reach each host the way it was added: over SSH, or through its enrolled agent
 * (`agent://` addresses), which picks the steps up as tasks on its next pass.
 */
export function runTransport(db: Db, ssh: SshOptions & { rebootWaitMs?: number; agentTaskTimeoutMs?: number }): RunTransport {
  const viaSsh = sshRunTransport(db, ssh);
  const isAgent = async (id: string): Promise<boolean> => (await getTarget(db.kysely, id))?.address?.startsWith('agent://') === true;
  const task = (id: string, kind: 'exec' | 'report', argv: readonly string[]): Promise<CommandResult> => runAgentTask(db, id, kind, argv, ssh.agentTaskTimeoutMs === undefined ? {} : { timeoutMs: ssh.agentTaskTimeoutMs });
  return {
    packageManager: (id) => viaSsh.packageManager(id),
    managerOptions: (id) => viaSsh.managerOptions(id),
    async exec(id, argv) {
      if (!(await isAgent(id))) return viaSsh.exec(id, argv);
      return task(id, 'exec', argv[0] === 'apt-get' ? ['env', 'DEBIAN_FRONTEND=noninteractive', ...argv] : argv);
    },
    async reboot(id) {
      if (!(await isAgent(id))) return viaSsh.reboot(id);
      return rebootViaAgent(db, id, { ...(ssh.rebootWaitMs !== undefined ? { timeoutMs: ssh.rebootWaitMs } : {}), ...(ssh.agentTaskTimeoutMs !== undefined ? { taskTimeoutMs: ssh.agentTaskTimeoutMs } : {}) });
    },
    async rescan(id) {
      if (!(await isAgent(id))) return viaSsh.rescan(id);
      const r = await task(id, 'report', []);
      return r.code === 0 ? { code: 0, stdout: r.stdout, stderr: '' } : r;
    },
  };
}
