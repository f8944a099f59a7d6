import { mkdir, readFile, realpath } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import { BulwarkError } from '../core/errors.js';
import { collect, type ExecResult, type Snapshot, type Transport } from './collector.js';
import { appendKnownHost, hostKeyName, parseKnownHosts, verifyHostKey } from './known-hosts.js';

/**
 * The agentless transport: connects with ssh2 (key or agent), verifies the host key against a
 * known_hosts file, and answers the collector's argv arrays (collector.ts), each quoted word by
 * word: nothing from a host, a feed or a user is ever parsed by the remote shell as code.
 */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** A private key file; else the SSH agent at $SSH_AUTH_SOCK. */
  identityFile: string | null;
  /** Run the package commands under `sudo -n` (no password prompt: fails instead of hanging). */
  sudo: boolean;
}

export interface SshOptions {
  knownHostsFile: string;
  /** Record the key of a host seen for the first time (never a changed one). */
  acceptNewHostKey: boolean;
  /** Whole collection, connection included (default 60 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * The only directory identity files are read from (BULWARK_SSH_KEY_DIR; `bulwark serve` always
   * has one). Unset: any file the process can read (the CLI, as its user).
   */
  identityDir?: string | null;
}

/**
 * Refuses an identity file outside `dir` before anything of it is read, with one message whether
 * it exists or not: otherwise whoever may name a host's key file (an API admin) learns from the
 * answer which files exist ("no such file") and which are readable ("Unsupported key format").
 * Symbolic links are followed: a link in the directory to /etc/shadow is outside it.
 * @example await checkIdentityFile('/var/lib/bulwark/ssh-keys/id_ed25519', '/var/lib/bulwark/ssh-keys')
 */
export async function checkIdentityFile(file: string, dir: string | null | undefined): Promise<void> {
  if (dir === null || dir === undefined) return;
  const outside = new BulwarkError(
    'config.invalid',
    `the identity file ${file} is not in the SSH key directory ${dir} (BULWARK_SSH_KEY_DIR): Bulwark reads private keys only from there`,
    { identityFile: file },
  );
  const root = resolve(dir);
  const within = (p: string, r: string): boolean => p.startsWith(r.endsWith(sep) ? r : r + sep);
  if (!within(resolve(file), root)) throw outside;
  let real: string;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(file);
  } catch {
    // Inside the key directory: what is or is not there is the operator's own to know.
    throw new BulwarkError('config.invalid', `cannot read the identity file ${file}`, { identityFile: file });
  }
  if (!within(real, realRoot)) throw outside;
}

/** What SSH collection gives: the one snapshot every collector gives. */
export type SshInventory = Snapshot;

const MAX_OUTPUT = 64 * 1024 * 1024;

function exec(conn: Client, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    conn.exec(command, (err, stream) => {
      if (err !== undefined) {
        reject(err);
        return;
      }
      const out: Buffer[] = [];
      const errs: Buffer[] = [];
      let size = 0;
      stream.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_OUTPUT) {
          stream.close();
          reject(new Error(`more than ${String(MAX_OUTPUT)} bytes of output`));
          return;
        }
        out.push(d);
      });
      stream.stderr.on('data', (d: Buffer) => {
        if (errs.length < 64) errs.push(d);
      });
      stream.on('close', (code: number | null) => {
        resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errs).toString('utf8') });
      });
    });
  });
}

/** An open, host-key-verified connection. */
interface Connection {
  conn: Client;
  where: string;
  name: string;
  timeout: number;
}

async function openConnection(t: SshTarget, opts: SshOptions): Promise<Connection> {
  const name = hostKeyName(t.host, t.port);
  const where = `${t.user}@${name}`;
  let known = '';
  try {
    known = await readFile(opts.knownHostsFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new BulwarkError('config.invalid', `cannot read ${opts.knownHostsFile}: ${(err as Error).message}`);
  }
  const entries = parseKnownHosts(known);
  const verdict: { problem: string | null; accepted: string | null } = { problem: null, accepted: null };
  const config: ConnectConfig = {
    host: t.host,
    port: t.port,
    username: t.user,
    readyTimeout: opts.timeoutMs ?? 60_000,
    hostVerifier: (key: Buffer): boolean => {
      const b64 = key.toString('base64');
      const v = verifyHostKey(entries, name, b64);
      if (v.ok) return true;
      if (v.reason === 'unknown' && opts.acceptNewHostKey) {
        verdict.accepted = b64;
        return true;
      }
      verdict.problem = v.message;
      return false;
    },
  };
  if (t.identityFile !== null) {
    try {
      await checkIdentityFile(t.identityFile, opts.identityDir);
    } catch (err) {
      throw new BulwarkError('config.invalid', `${where}: ${(err as Error).message}`);
    }
    try {
      config.privateKey = await readFile(t.identityFile);
    } catch (err) {
      throw new BulwarkError('config.invalid', `${where}: cannot read the identity file ${t.identityFile}: ${(err as Error).message}`);
    }
  } else {
    const sock = (opts.env ?? process.env)['SSH_AUTH_SOCK'];
    if (sock === undefined) throw new BulwarkError('config.invalid', `${where}: no identity file and no SSH agent (SSH_AUTH_SOCK)`);
    config.agent = sock;
  }
  const conn = new Client();
  const timeout = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        conn.once('ready', () => {
          resolve();
        });
        conn.once('error', (err) => {
          reject(err);
        });
        conn.connect(config);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${String(timeout)} ms`));
        }, timeout);
      }),
    ]);
  } catch (err) {
    conn.end();
    if (verdict.problem !== null) throw new BulwarkError('target.unreachable', `${where}: ${verdict.problem}`, { host: name, hostKey: true });
    throw new BulwarkError('target.unreachable', `${where}: cannot connect: ${(err as Error).message}`, { host: name }, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  if (verdict.accepted !== null) {
    await mkdir(dirname(opts.knownHostsFile), { recursive: true });
    await appendKnownHost(opts.knownHostsFile, name, verdict.accepted);
  }
  return { conn, where, name, timeout };
}

/** POSIX shell quoting of one argument: the remote side of SSH always runs a shell. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/**
 * Runs an argv on a host (quoted argument by argument; with `sudo -n` when the host says so).
 * @example await sshExec(target, opts, ['dnf', '--assumeno', 'install', 'curl-8.11.1-3.azl3'])
 */
export async function sshExec(t: SshTarget, opts: SshOptions, argv: readonly string[]): Promise<ExecResult> {
  // A run's steps are package-manager commands: all privileged.
  const tr = sshTransport(t, await openConnection(t, opts));
  try {
    return await tr.exec(argv, { privileged: true });
  } finally {
    tr.close();
  }
}

/**
 * An open connection as a transport: each argv is quoted word by word for the remote shell (the
 * only shell there is), the privileged ones under `sudo -n` when the host was added with sudo.
 */
function sshTransport(t: SshTarget, c: Connection): Transport & { close: () => void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    id: 'ssh',
    where: c.where,
    live: true,
    failure: { code: 'target.unreachable', details: { host: c.name } },
    exec: async (argv, o) => {
      const full = o?.privileged === true && t.sudo ? ['sudo', '-n', ...argv] : [...argv];
      try {
        return await Promise.race([
          exec(c.conn, full.map(shellQuote).join(' ')),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              reject(new BulwarkError('target.unreachable', `${c.where}: ${argv[0] ?? 'command'}: no answer within ${String(c.timeout)} ms`, { host: c.name }));
            }, c.timeout);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => {
      clearTimeout(timer);
      c.conn.end();
    },
  };
}

/**
 * Collects one host's inventory over SSH.
 * @example await collectSsh({ host: '10.0.0.5', port: 22, user: 'bulwark', identityFile: '~/.ssh/id_ed25519', sudo: true }, { knownHostsFile, acceptNewHostKey: false })
 */
export async function collectSsh(t: SshTarget, opts: SshOptions): Promise<SshInventory> {
  const tr = sshTransport(t, await openConnection(t, opts));
  try {
    return await collect(tr);
  } finally {
    tr.close();
  }
}

/**
 * Runs `fn` over `items` with at most `limit` at once; each item's error is its own result.
 * @example await mapBounded(hosts, 16, (h) => collectSsh(h, opts))
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<({ ok: true; value: R } | { ok: false; error: Error })[]> {
  const out = new Array<{ ok: true; value: R } | { ok: false; error: Error }>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      const item = items[i] as T;
      try {
        out[i] = { ok: true, value: await fn(item) };
      } catch (err) {
        out[i] = { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
