import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';
import type { PackageManager } from '../executor/commands.js';
import { sshExec, type SshOptions } from '../inventory/ssh.js';
import { getTarget } from '../storage/index.js';
import { packageManagerOf, scanHosts, sshTargetOf } from './hosts.js';
import type { CommandResult, RunTransport } from './runs.js';
import type { Db } from './store.js';

/**
 * Runs reach hosts over SSH (the agent transport comes with issue #6): the package manager is
 * the one the host was added with (`hosts add --package-manager`), else the release's own — tdnf
 * on Azure Linux 2.0/3.0 and CBL-Mariner, dnf (dnf5) on Azure Linux 4.0, dnf on Fedora and the
 * RHEL family, apt on Debian and Ubuntu — and every command is an argv quoted word by word.
 */
export function managerFor(release: string | null): PackageManager {
  const parsed = release === null ? null : parseReleaseId(release);
  switch (parsed?.distro) {
    case 'azurelinux':
      // Azure Linux 4.0 moved to dnf5; 2.0 and 3.0 ship tdnf.
      return Number.parseInt(parsed.version, 10) >= 4 ? 'dnf' : 'tdnf';
    case 'mariner':
    case 'cbl-mariner':
      return 'tdnf';
    case 'debian':
    case 'ubuntu':
      return 'apt';
    case 'fedora':
    case 'rhel':
    case 'almalinux':
    case 'rocky':
    case 'centos':
    case 'ol':
      return 'dnf';
    default:
      throw new BulwarkError('usage', `no package manager known for release "${release ?? '?'}"`);
  }
}

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
