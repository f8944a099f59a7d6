import { BulwarkError } from '../core/errors.js';

/**
 * The manager-neutral host commands of safe patching (issue #15): finding the processes that
 * still map files an update replaced (as needrestart and tracer do, from /proc), the systemd
 * unit each runs in, restarting units and asking whether one is active. What each package
 * manager does (its history, undo, exact previous versions, the files a package owns) is its
 * module's (executor/<manager>/, PackageManagerModule). Argv arrays only; unit names are checked
 * before they become words.
 */

const UNIT = /^[A-Za-z0-9:_.@\\-]{1,255}\.(service|socket|target|timer|mount)$/;

/** The absolute paths a module's packageFilesArgv printed (rpm's "(contains no files)" and dpkg's "diverted by" lines are not paths). */
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
