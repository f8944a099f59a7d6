import { mkdir, readFile, realpath } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import { BulwarkError } from '../core/errors.js';
import { releaseFamily } from '../distros/registry.js';
import type { InstalledPackage } from '../core/target.js';
import { DPKG_QUERY_FORMAT } from '../core/package/deb.js';
import { parseInventory } from './imports.js';
import { appendKnownHost, hostKeyName, parseKnownHosts, verifyHostKey } from './known-hosts.js';
import { parseImageStamp } from './image-stamp.js';
import { parseOsRelease, releaseFromOsRelease } from './os-release.js';
import { RPM_QA_QUERYFORMAT } from './rpm-qa.js';

/**
 * The agentless collector: connects with ssh2 (key or agent), verifies the host key against a
 * known_hosts file, and runs a fixed set of commands whose text is constant — nothing from a
 * host, a feed or a user is ever put into them — with fixed output formats.
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
  const outside = new BulwarkError('config.invalid', `the identity file ${file} is not in the SSH key directory ${dir} (BULWARK_SSH_KEY_DIR): Bulwark reads private keys only from there`, { identityFile: file });
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

export interface SshInventory {
  release: string | null;
  arch: string | null;
  runningKernel: string | null;
  rebootRequired: boolean | null;
  packages: InstalledPackage[];
  /** The Bulwark image build the host was made from (/etc/bulwark-image), if any. */
  image: string | null;
}

// The only commands ever sent. Constant strings: the remote shell parses them, so nothing
// variable may be part of them.
const CMD_OS = 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release';
const CMD_UNAME = 'uname -r; uname -m';
const CMD_IMAGE = 'cat /etc/bulwark-image 2>/dev/null || true';
const CMD_HAS_RPM = 'command -v rpm >/dev/null 2>&1 && echo rpm || (command -v dpkg-query >/dev/null 2>&1 && echo dpkg) || echo none';
const CMD_RPM = `rpm -qa --queryformat '${RPM_QA_QUERYFORMAT}'`;
const CMD_DPKG = `dpkg-query -W -f '${DPKG_QUERY_FORMAT}'`;
const CMD_REBOOT = 'if [ -f /var/run/reboot-required ]; then echo yes; elif command -v needs-restarting >/dev/null 2>&1; then needs-restarting -r >/dev/null 2>&1 && echo no || echo yes; else echo unknown; fi';
const MAX_OUTPUT = 64 * 1024 * 1024;

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

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
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new BulwarkError('config.invalid', `cannot read ${opts.knownHostsFile}: ${(err as Error).message}`);
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
export async function sshExec(t: SshTarget, opts: SshOptions, argv: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = await openConnection(t, opts);
  let timer: NodeJS.Timeout | undefined;
  try {
    const full = t.sudo ? ['sudo', '-n', ...argv] : [...argv];
    return await Promise.race([
      exec(c.conn, full.map(shellQuote).join(' ')),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new BulwarkError('target.unreachable', `${c.where}: ${argv[0] ?? 'command'}: no answer within ${String(c.timeout)} ms`));
        }, c.timeout);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    c.conn.end();
  }
}

/**
 * Collects one host's inventory over SSH.
 * @example await collectSsh({ host: '10.0.0.5', port: 22, user: 'bulwark', identityFile: '~/.ssh/id_ed25519', sudo: true }, { knownHostsFile, acceptNewHostKey: false })
 */
export async function collectSsh(t: SshTarget, opts: SshOptions): Promise<SshInventory> {
  const { conn, where, name, timeout } = await openConnection(t, opts);
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = async (cmd: string, what: string): Promise<string> => {
      const r = await Promise.race([
        exec(conn, cmd),
        new Promise<never>((_, reject) => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            reject(new Error(`${what}: no answer within ${String(timeout)} ms`));
          }, timeout);
        }),
      ]);
      if (r.code !== 0) throw new BulwarkError('target.unreachable', `${where}: ${what} failed (exit ${String(r.code)}): ${r.stderr.trim().split('\n')[0] ?? ''}`, { host: name });
      return r.stdout;
    };
    const sudo = t.sudo ? 'sudo -n ' : '';
    const osText = await run(CMD_OS, 'reading /etc/os-release');
    const [kernel, arch] = (await run(CMD_UNAME, 'uname')).trim().split('\n');
    // The release's own package database: a Debian host may have rpm installed too (alien,
    // build tools), and an RPM-based one dpkg; probe only when the release is not known.
    const release = releaseFromOsRelease(parseOsRelease(osText));
    const family = release === null ? null : releaseFamily(release);
    const manager = family === 'rpm' ? 'rpm' : family === 'deb' ? 'dpkg' : (await run(CMD_HAS_RPM, 'finding the package manager')).trim();
    let packages: InstalledPackage[];
    if (manager === 'rpm') packages = parseInventory(await run(sudo + CMD_RPM, 'rpm -qa'), `${where}: rpm -qa`, 'rpm-qa').packages;
    else if (manager === 'dpkg') packages = parseInventory(await run(sudo + CMD_DPKG, 'dpkg-query'), `${where}: dpkg-query`, 'dpkg-query').packages;
    else throw new BulwarkError('input.invalid', `${where}: neither rpm nor dpkg-query is installed`, { host: name });
    const reboot = (await run(CMD_REBOOT, 'checking for a pending reboot')).trim();
    const image = parseImageStamp(await run(CMD_IMAGE, 'reading /etc/bulwark-image'));
    return {
      image,
      release,
      arch: arch?.trim() ?? null,
      runningKernel: kernel?.trim() ?? null,
      rebootRequired: reboot === 'yes' ? true : reboot === 'no' ? false : null,
      packages,
    };
  } finally {
    clearTimeout(timer);
    conn.end();
  }
}

/**
 * Runs `fn` over `items` with at most `limit` at once; each item's error is its own result.
 * @example await mapBounded(hosts, 16, (h) => collectSsh(h, opts))
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<({ ok: true; value: R } | { ok: false; error: Error })[]> {
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
