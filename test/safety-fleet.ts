import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { DnfHost, RepoAdvisory } from './ssh-fleet.js';
import type { DummyRpm } from './rpm-tools.js';

/**
 * Parts of the safe-patching tests (issue #15): an HTTP server standing for a load balancer's API
 * (it records the hook calls), TCP listeners standing for the application a health gate checks,
 * and — since no systemd runs on this machine — a stand-in `systemctl` bound into an sshd test
 * host's namespace, running its "units" in cgroups of the real name=systemd hierarchy as systemd
 * does (so Bulwark finds a process's unit from /proc/PID/cgroup exactly as on a real host).
 */

export const pkg = (name: string, version: string, release: string, epoch?: number): DummyRpm => ({
  name,
  version,
  release,
  ...(epoch !== undefined ? { epoch } : {}),
});

export const PKGS: DummyRpm[] = [
  pkg('bw-openssl', '3.3.0', '2.azl3', 1),
  pkg('bw-openssl', '3.3.5', '5.azl3', 1),
  pkg('bw-curl', '8.8.0', '1.azl3'),
  pkg('bw-curl', '8.11.1', '3.azl3'),
];
export const INITIAL = ['bw-curl-8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3'];
export const INITIAL_QA = ['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3'];
export const PATCHED_QA = ['bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.3.5-5.azl3'];

export const advisorySsl = (): RepoAdvisory => ({
  id: 'ADV-SSL',
  severity: 'Critical',
  issued: new Date(),
  cves: ['CVE-2026-1001'],
  packages: [pkg('bw-openssl', '3.3.5', '5.azl3', 1), pkg('bw-curl', '8.11.1', '3.azl3')],
});

/** A policy with pre hooks, a snapshot hook, a post hook, a TCP health gate and rollback on failure. */
export function safePolicy(name: string, tag: string, gatePort: number): string {
  return `apiVersion: bulwark/v1
kind: Policy
name: ${name}
scope: { releases: ["azurelinux:3.0"], tags: [${tag}] }
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
  - { name: critical-now, match: { severity: [critical] }, deadlineHours: 24, emergency: true }
rollout:
  rings: [{ name: canary, tags: [canary] }, { name: rest, percent: 100 }]
  maxConcurrency: 2
  failureThreshold: 0.3
reboot: never
hooks:
  pre: [{ http: lb-drain }, { command: disk-check }]
  snapshot: { command: snapshot }
  post: [{ http: lb-return }]
gates: [{ tcp: ${String(gatePort)} }]
rollback: on-failure
`;
}

/** The operator's hook allow-list for safePolicy, pointing its HTTP calls at `lb`. */
export function hooksFile(lb: string): string {
  return `commands:
  disk-check: { argv: ["df", "-P", "/"], timeoutSeconds: 60 }
  snapshot: { argv: ["touch", "/var/lib/dnf/snapshot-{host}"], timeoutSeconds: 60 }
http:
  lb-drain: { url: "${lb}/drain/{host}", method: POST, timeoutSeconds: 30 }
  lb-return: { url: "${lb}/return/{host}", method: POST, timeoutSeconds: 30 }
`;
}

/** A load balancer's API: answers 204 and records `METHOD path` of each call. */
export async function startLb(): Promise<{ url: string; calls: string[]; close: () => Promise<void> }> {
  const calls: string[] = [];
  const server = createHttpServer((req, res) => {
    calls.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  return {
    url: `http://127.0.0.1:${String(typeof a === 'object' && a !== null ? a.port : 0)}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** The application's port on a host's address, for its TCP health gate. */
export async function listenOn(address: string, port: number): Promise<Server> {
  const s = createTcpServer((c) => c.end());
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, address, resolve);
  });
  return s;
}

/** `rpm -qa` and `dnf history list` on the host, over SSH, as an operator would check it. */
export function overSsh(h: Pick<DnfHost, 'clientKey' | 'port' | 'address'>, knownHosts: string, command: string): string {
  return execFileSync(
    'ssh',
    [
      '-i',
      h.clientKey,
      '-p',
      String(h.port),
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      `root@${h.address}`,
      command,
    ],
    { encoding: 'utf8' },
  );
}

export const RPM_QA = 'rpm -qa --qf "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n"';

/** The name=systemd cgroup hierarchy the stand-in systemctl puts its units in. */
export const SYSTEMD_CGROUPS = '/sys/fs/cgroup/systemd';

/**
 * A stand-in for systemctl, for inside an sshd test host's namespace (no systemd runs here). A unit
 * is /etc/bulwark-test-units/<unit>.cmd (its argv, a word a line); `start` and `restart` stop its
 * process (by the pid it recorded), then run the command in the background in the cgroup
 * <root>/system.slice/<unit> of the name=systemd hierarchy, recording its pid and a line per start;
 * `is-active` says whether that pid lives.
 */
const SYSTEMCTL = `#!/bin/sh
units=/etc/bulwark-test-units
cg=$(cat "$units/cgroup-root")
cmd=$1; shift
[ "$1" = -- ] && shift
rc=0
for u in "$@"; do
  case $cmd in
    start|restart)
      if [ -f "$units/$u.pid" ]; then
        old=$(cat "$units/$u.pid"); kill "$old" 2>/dev/null
        while kill -0 "$old" 2>/dev/null; do sleep 0.05; done
      fi
      mkdir -p "$cg/system.slice/$u"
      setsid sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg/system.slice/$u" $(cat "$units/$u.cmd") </dev/null >/dev/null 2>&1 &
      echo $! > "$units/$u.pid"
      echo started >> "$units/$u.starts" ;;
    is-active)
      if [ -f "$units/$u.pid" ] && kill -0 "$(cat "$units/$u.pid")" 2>/dev/null; then echo active; else echo inactive; rc=3; fi ;;
    *) echo "systemctl stand-in: $cmd is not supported" >&2; exit 1 ;;
  esac
done
exit $rc
`;

/** Writes the stand-in's files for a host: returns the binds for its namespace and how to read and stop its units. */
export function standInSystemd(
  dir: string,
  cgroupRoot: string,
  units: Record<string, readonly string[]>,
): {
  binds: [string, string][];
  pid: (unit: string) => number;
  starts: (unit: string) => number;
  stop: () => void;
} {
  const unitsDir = join(dir, 'units');
  execFileSync('mkdir', ['-p', unitsDir, cgroupRoot]);
  writeFileSync(join(unitsDir, 'cgroup-root'), `${cgroupRoot}\n`);
  for (const [u, argv] of Object.entries(units)) writeFileSync(join(unitsDir, `${u}.cmd`), `${argv.join('\n')}\n`);
  const systemctl = join(dir, 'systemctl');
  writeFileSync(systemctl, SYSTEMCTL);
  chmodSync(systemctl, 0o755);
  const pidOf = (u: string): number => Number(readFileSync(join(unitsDir, `${u}.pid`), 'utf8').trim());
  return {
    binds: [
      [unitsDir, '/etc/bulwark-test-units'],
      [systemctl, '/usr/bin/systemctl'],
    ],
    pid: pidOf,
    starts: (u) =>
      existsSync(join(unitsDir, `${u}.starts`))
        ? readFileSync(join(unitsDir, `${u}.starts`), 'utf8')
            .trim()
            .split('\n').length
        : 0,
    stop: () => {
      // Only the processes these units started, by the pids they recorded.
      for (const u of Object.keys(units)) {
        if (!existsSync(join(unitsDir, `${u}.pid`))) continue;
        try {
          process.kill(pidOf(u), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const u of Object.keys(units)) {
        const d = join(cgroupRoot, 'system.slice', u);
        for (let i = 0; i < 100 && existsSync(d); i++) {
          try {
            rmdirSync(d);
          } catch {
            execFileSync('sleep', ['0.05']);
          }
        }
      }
      for (const d of [join(cgroupRoot, 'system.slice'), cgroupRoot])
        try {
          rmdirSync(d);
        } catch {
          // not empty or gone
        }
    },
  };
}
