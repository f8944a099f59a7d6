import { BulwarkError } from '../../core/errors.js';
import type { PackageManager } from '../../executor/registry.js';
import { collectSsh, sshExec, type SshTarget } from '../../inventory/ssh.js';
import type { StoredTarget } from '../../storage/index.js';
import type { CommandResult } from '../runs.js';
import type { HostTransport, HostTransportContext } from './types.js';

/**
 * Hosts reached over SSH (issue #4): the address is
 * `ssh://user@host:port?identity=/path/key&sudo=1&pm=dnf` — no secret is stored: the key stays
 * in its file (or the SSH agent).
 */
export function sshAddress(a: {
  user: string;
  host: string;
  port: number;
  identityFile?: string | null | undefined;
  sudo?: boolean | undefined;
  packageManager?: PackageManager | undefined;
}): string {
  const q = new URLSearchParams();
  if (a.identityFile !== undefined && a.identityFile !== null) q.set('identity', a.identityFile);
  if (a.sudo === true) q.set('sudo', '1');
  if (a.packageManager !== undefined) q.set('pm', a.packageManager);
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return `ssh://${encodeURIComponent(a.user)}@${host}:${String(a.port)}${q.size > 0 ? `?${q.toString()}` : ''}`;
}

export function sshTargetOf(t: StoredTarget): SshTarget {
  if (t.address === null || !t.address.startsWith('ssh://'))
    throw new BulwarkError('usage', `target "${t.name}" has no SSH address (add it with \`bulwark hosts add\`)`);
  const u = new URL(t.address);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 22 : Number(u.port),
    user: decodeURIComponent(u.username) || 'root',
    identityFile: u.searchParams.get('identity'),
    sudo: u.searchParams.get('sudo') === '1',
  };
}

function exec(ctx: HostTransportContext, t: StoredTarget, argv: readonly string[]): Promise<CommandResult> {
  return sshExec(sshTargetOf(t), ctx.opts, argv);
}

export const ssh: HostTransport = {
  id: 'ssh',
  collect: (t, o) => collectSsh(sshTargetOf(t), o),
  exec,
  async reboot(ctx, t, o) {
    // Begun before by a process that died: a host booted since then was rebooted by it.
    if (o?.since !== undefined) {
      const stat = await exec(ctx, t, ['cat', '/proc/stat']).catch(() => null);
      const btime = Number(/^btime (\d+)\s*$/m.exec(stat?.stdout ?? '')?.[1] ?? NaN);
      if (Number.isFinite(btime) && btime * 1000 >= Date.parse(o.since))
        return {
          code: 0,
          stdout: `already rebooted: the host booted at ${new Date(btime * 1000).toISOString()}, after this step began at ${o.since}\n`,
          stderr: '',
        };
    }
    // Rebooted means booted again: a new boot id (/proc/sys/kernel/random/boot_id), not merely
    // an answer — a host still shutting down answers too.
    const bootId = async (): Promise<string | null> => {
      try {
        const r = await exec(ctx, t, ['cat', '/proc/sys/kernel/random/boot_id']);
        return r.code === 0 && /^[0-9a-f-]{36}$/.test(r.stdout.trim()) ? r.stdout.trim() : null;
      } catch {
        return null; // down, or on its way back
      }
    };
    const before = await bootId();
    if (before === null) return { code: null, stdout: '', stderr: "cannot read the host's boot id (/proc/sys/kernel/random/boot_id) before rebooting it" };
    try {
      await exec(ctx, t, ['systemctl', 'reboot']);
    } catch {
      // The connection drops as the host goes down: expected.
    }
    const waitMs = ctx.opts.rebootWaitMs ?? 600_000;
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, ctx.opts.rebootPollMs ?? 5000));
      const after = await bootId();
      if (after !== null && after !== before) return { code: 0, stdout: `rebooted: boot ${before} -> ${after}\n`, stderr: '' };
    }
    return {
      code: null,
      stdout: '',
      stderr: `no new boot within ${String(Math.round(waitMs / 1000))} s of the reboot (boot id still ${before}, or the host is not back)`,
    };
  },
};
