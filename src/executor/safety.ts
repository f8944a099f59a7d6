import { BulwarkError } from '../core/errors.js';
import type { CommandOptions, PackageManager } from './types.js';

/**
 * The host commands of safe patching (issue #15), per package manager: reading the installed
 * versions and the manager's history position before an update, undoing the update's
 * transaction (dnf and tdnf `history undo`; apt has no history to undo, so the previous versions
 * are installed exactly), listing a package's files, finding the processes that still map files
 * an update replaced (as needrestart and tracer do, from /proc), restarting systemd units.
 * Argv arrays only; names and versions are checked before they become words.
 *
 * Keyed by manager id, so that each manager's part moves into its own executor/<manager>/ folder.
 */

const RPM_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const RPM_EVR = /^(\d+:)?[A-Za-z0-9._+~^]+-[A-Za-z0-9._+~^]+$/;
const DEB_VERSION = /^(\d+:)?[A-Za-z0-9.+~-]+$/;
const UNIT = /^[A-Za-z0-9:_.@\\-]{1,255}\.(service|socket|target|timer|mount)$/;

function names(pm: PackageManager, list: readonly string[]): string[] {
  for (const n of list)
    if (!(pm === 'apt' ? DEB_NAME : RPM_NAME).test(n) || n.startsWith('-'))
      throw new BulwarkError('input.invalid', `"${n}" is not a package name ${pm} is given`);
  return [...list];
}

const rootOf = (o: CommandOptions): string[] => (o.installroot === undefined ? [] : [`--root=${o.installroot}`]);

/**
 * The installed versions of `names`, one `name version` line each (rpm: `E:V-R`; dpkg: the
 * Debian version); a name not installed prints nothing on standard output (and a message on
 * standard error, and a non-zero exit, which is not a failure here).
 * @example installedVersionsArgv('dnf', ['openssl']) // ['rpm', '-q', '--qf', '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n', '--', 'openssl']
 */
export function installedVersionsArgv(pm: PackageManager, list: readonly string[], o: CommandOptions = {}): string[] {
  const n = names(pm, list);
  if (pm === 'apt') return ['dpkg-query', '-W', '-f', '${db:Status-Abbrev} ${Package} ${Version}\n', '--', ...n];
  return ['rpm', ...rootOf(o), '-q', '--qf', '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n', '--', ...n];
}

/** Reads installedVersionsArgv's output: name → version (several for an rpm name installed more than once, such as a kernel). */
export function readInstalledVersions(pm: PackageManager, stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    let m: RegExpExecArray | null;
    if (pm === 'apt') {
      // Only what dpkg has installed ("ii"): a removed package keeps a row ("rc") with its version.
      m = /^ii\s+(\S+)\s+(\S+)\s*$/.exec(line);
      if (m === null) continue;
    } else {
      m = /^(\S+) (\S+)$/.exec(line);
      if (m === null) continue;
    }
    const [, name = '', version = ''] = m;
    const clean = name.replace(/:[A-Za-z0-9_]+$/, '');
    out.set(clean, [...(out.get(clean) ?? []), version]);
  }
  return out;
}

/**
 * What lists the transactions of the manager's history (dnf 4, tdnf); null for apt (no history
 * Bulwark can undo). tdnf's history is read as JSON (`-j`), dnf 4's as its table.
 */
export function historyListArgv(pm: PackageManager, o: CommandOptions = {}): string[] | null {
  const root = o.installroot === undefined ? [] : [`--installroot=${o.installroot}`];
  switch (pm) {
    case 'dnf':
      return ['dnf', ...root, ...(o.extra ?? []), '-q', 'history', 'list'];
    case 'tdnf':
      return ['tdnf', ...root, ...(o.extra ?? []), '-j', 'history', 'list'];
    case 'dnf5':
    case 'apt':
      return null;
  }
}

/**
 * The transaction ids historyListArgv's output lists, ascending. dnf 4 prints a table whose rows
 * start with the id and a bar (`    3 | -y install … | 2026-12-06 18:20 | Upgrade | 2`), or
 * "No transactions"; tdnf -j prints a JSON list of objects with an `Id` and a `CmdLine`.
 */
export function readHistoryIds(pm: PackageManager, stdout: string): number[] {
  if (pm === 'tdnf') {
    const text = stdout.trim();
    if (text === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BulwarkError('target.unreachable', `tdnf history list printed no JSON: ${text.slice(0, 200)}`);
    }
    if (!Array.isArray(parsed)) return [];
    // tdnf records its history's creation ("(set)") and, as "(unknown)", changes made to the rpm
    // database by other tools since it last ran (seen on tdnf 3.5.9): neither is a transaction of
    // Bulwark's to undo.
    return parsed
      .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null)
      .filter((x) => x['CmdLine'] !== '(set)' && x['CmdLine'] !== '(unknown)')
      .map((x) => x['Id'])
      .filter((x): x is number => typeof x === 'number')
      .sort((a, b) => a - b);
  }
  const ids: number[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+\|/.exec(line);
    if (m !== null) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b);
}

/**
 * Undoes one transaction of the manager's history, newest first when there are several
 * (`dnf history undo 7`, `tdnf history undo 7`): the packages it upgraded go back to the builds
 * it replaced, which the repositories must still offer.
 * @example undoArgv('dnf', 7) // ['dnf', '-y', 'history', 'undo', '7']
 */
export function undoArgv(pm: PackageManager, id: number, o: CommandOptions = {}): string[] {
  if (!Number.isSafeInteger(id) || id < 1) throw new BulwarkError('input.invalid', `${String(id)} is not a transaction id`);
  const root = o.installroot === undefined ? [] : [`--installroot=${o.installroot}`];
  switch (pm) {
    case 'dnf':
    case 'tdnf':
      return [pm, ...root, ...(o.extra ?? []), '-y', 'history', 'undo', String(id)];
    case 'dnf5':
    case 'apt':
      throw new BulwarkError('usage', `${pm} has no transaction history Bulwark can undo: install the previous versions (restoreArgv)`);
  }
}

/**
 * Installs exactly these versions, downgrading where needed: apt's rollback (it keeps no history
 * to undo). For dnf and tdnf it is the fallback when the history has no transaction to undo.
 * @example restoreArgv('apt', [{ name: 'curl', version: '7.88.1-10+deb12u5' }])
 */
export function restoreArgv(pm: PackageManager, versions: readonly { name: string; version: string }[], o: CommandOptions = {}): string[] {
  if (versions.length === 0) throw new BulwarkError('usage', 'nothing to restore');
  const specs = versions.map((v) => {
    names(pm, [v.name]);
    if (!(pm === 'apt' ? DEB_VERSION : RPM_EVR).test(v.version))
      throw new BulwarkError('input.invalid', `"${v.version}" is not a version ${pm} is given for ${v.name}`);
    return pm === 'apt' ? `${v.name}=${v.version}` : `${v.name}-${v.version}`;
  });
  if (pm === 'apt')
    return [
      'apt-get',
      ...(o.extra ?? []),
      '-y',
      '-q',
      '-o',
      'Dpkg::Options::=--force-confold',
      '--allow-downgrades',
      'install',
      '--no-install-recommends',
      ...specs,
    ];
  const root = o.installroot === undefined ? [] : [`--installroot=${o.installroot}`];
  // dnf and tdnf: a downgrade to the exact builds (an installed package at another version is replaced).
  return [pm, ...root, ...(o.extra ?? []), '-y', 'downgrade', ...specs];
}

/** The files these installed packages own (rpm -ql, dpkg -L), one per line. */
export function packageFilesArgv(pm: PackageManager, list: readonly string[], o: CommandOptions = {}): string[] {
  const n = names(pm, list);
  return pm === 'apt' ? ['dpkg-query', '-L', '--', ...n] : ['rpm', ...rootOf(o), '-ql', '--', ...n];
}

/** The absolute paths packageFilesArgv printed (rpm's "(contains no files)" and dpkg's "diverted by" lines are not paths). */
export function readPackageFiles(stdout: string): Set<string> {
  return new Set(
    stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('/')),
  );
}

/**
 * Finds the processes that map a file deleted since they started — a library or executable an
 * update replaced — as needrestart and tracer do. A fixed POSIX sh program: nothing is spliced
 * into it and it takes no argument; it prints, for each process in the caller's own mount
 * namespace (a container's processes are its own business) that maps such a file,
 * `P <pid> <comm>`, its systemd cgroup line (`C <pid> <line>`) and each such path
 * (`M <pid> <path>`). Paths that name no replaced file (memfd, SysV shm, /dev, /tmp, /run) are left out.
 */
export const STALE_PROCESSES_SCRIPT = [
  'self=$(readlink /proc/self/ns/mnt)',
  'for d in /proc/[0-9]*; do',
  '  pid=${d#/proc/}',
  '  [ "$(readlink "$d/ns/mnt" 2>/dev/null)" = "$self" ] || continue',
  '  files=$( { sed -n "s|^[^/]*\\(/.*\\) (deleted)\\$|\\1|p" "$d/maps"; exe=$(readlink "$d/exe"); case "$exe" in *" (deleted)") echo "${exe% (deleted)}";; esac; } 2>/dev/null |',
  '    grep -v -e "^/memfd:" -e "^/dev/" -e "^/tmp/" -e "^/run/" -e "^/var/tmp/" -e "^/SYSV" | sort -u)',
  '  [ -n "$files" ] || continue',
  '  echo "P $pid $(cat "$d/comm" 2>/dev/null)"',
  '  grep -e "name=systemd:" -e "^0::" "$d/cgroup" 2>/dev/null | sed "s|^|C $pid |"',
  '  printf "%s\\n" "$files" | sed "s|^|M $pid |"',
  'done',
  'exit 0',
].join('\n');

export function staleProcessesArgv(): string[] {
  return ['sh', '-c', STALE_PROCESSES_SCRIPT];
}

export interface StaleProcess {
  pid: number;
  comm: string;
  /** The systemd unit the process runs in (`nginx.service`), from its cgroup; null outside a service (a session, pid 1). */
  unit: string | null;
  /** The deleted files it maps. */
  files: string[];
}

/** Reads staleProcessesArgv's output. */
export function readStaleProcesses(stdout: string): StaleProcess[] {
  const byPid = new Map<number, StaleProcess & { v1: string | null; v2: string | null }>();
  const get = (pid: number): StaleProcess & { v1: string | null; v2: string | null } => {
    let p = byPid.get(pid);
    if (p === undefined) {
      p = { pid, comm: '', unit: null, files: [], v1: null, v2: null };
      byPid.set(pid, p);
    }
    return p;
  };
  for (const line of stdout.split('\n')) {
    const m = /^([PCM]) (\d+) ?(.*)$/.exec(line);
    if (m === null) continue;
    const p = get(Number(m[2]));
    const rest = m[3] ?? '';
    if (m[1] === 'P') p.comm = rest;
    else if (m[1] === 'M') p.files.push(rest);
    else {
      // cgroup v1 (`1:name=systemd:/system.slice/nginx.service`) or v2 (`0::/system.slice/nginx.service`).
      const path = /^\d+:[^:]*:(.*)$/.exec(rest)?.[1] ?? '';
      if (rest.includes('name=systemd:')) p.v1 = path;
      else p.v2 = path;
    }
  }
  return [...byPid.values()].map(({ v1, v2, ...p }) => ({ ...p, unit: unitOfCgroup(v1 ?? v2 ?? '') })).sort((a, b) => a.pid - b.pid);
}

/**
 * The service a cgroup path belongs to: its last `.service` component (a process of
 * `/system.slice/nginx.service/worker` is nginx's). Sessions (`session-3.scope`) and the root are none.
 * @example unitOfCgroup('/system.slice/nginx.service') // 'nginx.service'
 */
export function unitOfCgroup(path: string): string | null {
  const parts = path.split('/').filter((x) => x !== '');
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] ?? '';
    if (p.endsWith('.service') && UNIT.test(p)) return p;
  }
  return null;
}

/** Restarts exactly these systemd units. */
export function restartArgv(units: readonly string[]): string[] {
  for (const u of units) if (!UNIT.test(u)) throw new BulwarkError('input.invalid', `"${u}" is not a systemd unit name`);
  if (units.length === 0) throw new BulwarkError('usage', 'no unit to restart');
  return ['systemctl', 'restart', '--', ...units];
}

/** Whether a systemd unit is active (exit 0, and `active` on standard output). */
export function unitActiveArgv(unit: string): string[] {
  if (!UNIT.test(unit)) throw new BulwarkError('input.invalid', `"${unit}" is not a systemd unit name`);
  return ['systemctl', 'is-active', '--', unit];
}
