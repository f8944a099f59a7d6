import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { PackageManager } from '../src/executor/registry.js';
import type { CommandResult, RunTransport } from '../src/services/runs.js';

const run = promisify(execFile);

/**
 * A transport to test hosts that are rpm roots managed by the real dnf (--installroot), as
 * ../shared/testbed recipe 3 makes them. Reboots are recorded, not done.
 */
export function rootTransport(
  hosts: ReadonlyMap<string, { root: string; extra: readonly string[] }>,
  rescan: (targetId: string) => Promise<void>,
  log: string[] = [],
): RunTransport {
  const host = (id: string): { root: string; extra: readonly string[] } => {
    const h = hosts.get(id);
    if (h === undefined) throw new Error(`unknown test host ${id}`);
    return h;
  };
  return {
    packageManager: (): Promise<PackageManager> => Promise.resolve('dnf'),
    managerOptions: (id) => Promise.resolve({ installroot: host(id).root, extra: host(id).extra }),
    async exec(id, argv): Promise<CommandResult> {
      log.push(`${id}: ${argv.filter((a) => !a.startsWith('--')).join(' ')}`);
      try {
        const r = await run(argv[0] ?? 'false', argv.slice(1), { maxBuffer: 1 << 24 });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (err) {
        const e = err as { code?: number | string; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : null, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
      }
    },
    reboot: (id) => {
      log.push(`${id}: reboot`);
      return Promise.resolve({ code: 0, stdout: 'reboot recorded (test root)', stderr: '' });
    },
    async rescan(id): Promise<CommandResult> {
      await rescan(id);
      return { code: 0, stdout: 'rescanned', stderr: '' };
    },
  };
}
