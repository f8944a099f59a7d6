import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

/**
 * Real sshd test hosts (../shared/testbed recipe 5): each host is /usr/sbin/sshd on its own
 * loopback address and port, in its own mount namespace where the host's rpm database (and an
 * os-release of our choosing) are bind-mounted over the machine's, so `rpm -qa` over SSH lists
 * that host's packages only. sshd runs in the foreground (-D) as our child: stopping the host is
 * killing that process, never anything by name. `binds` adds more of the host's own files
 * (its dnf configuration, repositories, caches) the same way.
 */
export interface SshHost {
  address: string;
  port: number;
  /** The client's private key (authorized on the host). */
  clientKey: string;
  /** The host's public key line, as ssh-keygen wrote it. */
  hostPublicKey: string;
  stop: () => Promise<void>;
}

export function canRunSshd(): boolean {
  try {
    execFileSync('/usr/sbin/sshd', ['-V'], { stdio: 'pipe' });
  } catch (err) {
    // `sshd -V` prints its version on stderr and exits non-zero on some builds; ENOENT is what matters.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  try {
    execFileSync('unshare', ['--version'], { stdio: 'pipe' });
    execFileSync('ssh-keygen', ['-?'], { stdio: 'pipe' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  return process.getuid?.() === 0;
}

function waitForPort(address: string, port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = createConnection({ host: address, port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`sshd on ${address}:${String(port)} did not start`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts one host. `rpmRoot`: a root made by buildRpmRoot whose database the host will show;
 * `osRelease`: the /etc/os-release text the host will show; `hostKey`: reuse a key file (to
 * restart the "same" host) or generate a new one.
 */
export async function startSshHost(
  dir: string,
  o: {
    address: string;
    port: number;
    rpmRoot?: string;
    osRelease?: string;
    hostKey?: string;
    clientKey?: string;
    binds?: readonly (readonly [string, string])[];
  },
): Promise<SshHost & { hostKeyFile: string }> {
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true });
  const hostKey = o.hostKey ?? join(dir, 'hostkey');
  if (o.hostKey === undefined) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const clientKey = o.clientKey ?? join(dir, 'client');
  if (o.clientKey === undefined) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress ${o.address}:${String(o.port)}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      '',
    ].join('\n'),
  );
  const osRelease = join(dir, 'os-release');
  writeFileSync(osRelease, o.osRelease ?? readFileSync('/etc/os-release'));
  const db = execFileSync('rpm', ['--eval', '%_dbpath'], { encoding: 'utf8' }).trim();
  const rootDb = o.rpmRoot === undefined ? db : join(o.rpmRoot, db);
  // Everything variable is a positional parameter of this fixed script: pairs of (source,
  // mount point), then the sshd config.
  const script = 'while [ $# -gt 1 ]; do [ -e "$2" ] || mkdir -p "$2"; mount --bind "$1" "$2" || exit 1; shift 2; done; exec /usr/sbin/sshd -D -e -f "$1"';
  const binds = [[rootDb, db], [osRelease, '/etc/os-release'], ...(o.binds ?? [])].flat();
  const child: ChildProcess = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', ...binds, config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  try {
    await waitForPort(o.address, o.port, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  return {
    address: o.address,
    port: o.port,
    clientKey,
    hostKeyFile: hostKey,
    hostPublicKey: readFileSync(`${hostKey}.pub`, 'utf8').trim(),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
