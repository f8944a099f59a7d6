import { BulwarkError, type ErrorCode } from '../core/errors.js';
import { DPKG_QUERY_FORMAT } from '../core/package/deb.js';
import type { InstalledPackage, LivePatch, TargetStreams } from '../core/target.js';
import { releaseFamily } from '../distros/registry.js';
import { IMAGE_STAMP_PATH, parseImageStamp } from './image-stamp.js';
import { parseInventory } from './imports.js';
import { parseOsRelease, releaseFromOsRelease } from './os-release.js';
import { RPM_QA_ARGV } from './rpm-qa.js';
import { collectStreams, MODULES_DIR } from './streams.js';
import { collectLivePatches, LIVEPATCH_SYSFS } from './livepatch.js';

/**
 * One collector, many transports (issue #19; osv-scalibr's `Extractor`): what a target is made of
 * is gathered here, once, from the answers to fixed argv arrays. A transport (SSH, this machine,
 * a directory tree, an agent's report) only answers `exec(argv)`; it never decides anything.
 */

/** What one command gave. A command that is not there answers 127, as a shell does. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one argv on the target: never a shell string. `privileged` asks for root where the
 * transport can (SSH hosts added with sudo run it under `sudo -n`).
 */
export type Exec = (argv: readonly string[], o?: { privileged?: boolean }) => Promise<ExecResult>;

export interface Transport {
  /** `ssh`, `local`, `root`, `agent`: the transport's id, for the record. */
  id: string;
  /** Names the target in every message: `root@[10.0.0.5]:2222`, `this machine`, `/srv/rootfs`. */
  where: string;
  /**
   * A running system (it has a running kernel and may need a reboot); false for a directory
   * tree, whose kernel is not running and whose reboot flag means nothing.
   */
  live: boolean;
  /** The error code a failed command is reported with, and details naming the target. */
  failure: { code: ErrorCode; details?: Record<string, unknown> };
  exec: Exec;
}

/** The one snapshot every collector gives. */
export interface Snapshot {
  release: string | null;
  arch: string | null;
  runningKernel: string | null;
  rebootRequired: boolean | null;
  packages: InstalledPackage[];
  /** The Bulwark image build the target was made from (/etc/bulwark-image), if any. */
  image: string | null;
  /** Enabled module streams and subscription channels (streams.ts); null parts: not known. */
  streams: TargetStreams;
  /** The running kernel's live patches (livepatch.ts); null for a tree, whose kernel is not running. */
  livePatches: LivePatch[] | null;
}

export interface Collector {
  id: string;
  /**
   * What it asks the target for: commands that must be there (one of each group), commands it
   * uses when they are there, and the files it reads.
   */
  needs: { commands: readonly (readonly string[])[]; optional: readonly string[]; files: readonly string[] };
  collect(t: Transport, o?: CollectOptions): Promise<Snapshot>;
}

export interface CollectOptions {
  /** The release the caller states: os-release is then not asked. */
  release?: string | null | undefined;
}

/** The argv that lists dpkg's packages in DPKG_QUERY_FORMAT (real tabs and line ends: no shell reads it). */
export const DPKG_QUERY_ARGV: readonly string[] = ['dpkg-query', '-W', '-f', DPKG_QUERY_FORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')];

export const OS_RELEASE_PATHS = ['/etc/os-release', '/usr/lib/os-release'] as const;
/** Debian/Ubuntu's "a reboot is needed" marker (/var/run is /run on every current system). */
export const REBOOT_MARKER = '/var/run/reboot-required';
/**
 * What writes REBOOT_MARKER when a kernel is installed on a deb host: unattended-upgrades'
 * kernel hook (Debian 12's 2.9.1 ships /etc/kernel/postinst.d/unattended-upgrades, which touches
 * it for every kernel package) and Ubuntu's update-notifier-common. Without either, Debian's
 * kernel packages write nothing (only dbus's postinst does, for dbus): no marker then proves nothing.
 */
export const REBOOT_MARKER_WRITERS = ['/etc/kernel/postinst.d/unattended-upgrades', '/usr/share/update-notifier/notify-reboot-required'] as const;

const ok = (r: ExecResult): boolean => r.code === 0;
const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

async function exists(t: Transport, path: string): Promise<boolean> {
  return ok(await t.exec(['test', '-e', path]));
}

async function readFirst(t: Transport, paths: readonly string[]): Promise<string | null> {
  for (const p of paths) {
    const r = await t.exec(['cat', p]);
    if (ok(r)) return r.stdout;
  }
  return null;
}

/**
 * Whether a running system waits for a reboot, decided one way for every transport:
 * 1. the marker file exists: yes (whoever wrote it says so);
 * 2. `needs-restarting -r` (dnf-utils; dnf-plugins-core's needs_restarting.py: "exit code 1" when
 *    a reboot is needed, 0 when not): its answer; any other outcome (not installed, a failure) is
 *    no answer, never a yes;
 * 3. no marker on a host where something writes it (REBOOT_MARKER_WRITERS): no;
 * 4. otherwise unknown (null), never a guess.
 * @example await rebootRequired(transport) // true | false | null
 */
export async function rebootRequired(t: Transport): Promise<boolean | null> {
  if (await exists(t, REBOOT_MARKER)) return true;
  const nr = await t.exec(['needs-restarting', '-r']);
  if (nr.code === 0) return false;
  if (nr.code === 1) return true;
  for (const w of REBOOT_MARKER_WRITERS) if (await exists(t, w)) return false;
  return null;
}

/** The package family whose database to read: the release's, else the one that is there (dpkg first: rpm is often installed on Debian as a tool). */
async function familyOf(t: Transport, release: string | null): Promise<'rpm' | 'deb' | null> {
  const family = release === null ? null : releaseFamily(release);
  if (family !== null) return family;
  if (ok(await t.exec(['dpkg-query', '--version'])) && (await exists(t, '/var/lib/dpkg/status'))) return 'deb';
  if (ok(await t.exec(['rpm', '--version']))) return 'rpm';
  return null;
}

async function listPackages(t: Transport, family: 'rpm' | 'deb', release: string | null): Promise<InstalledPackage[]> {
  const [argv, what, format] = family === 'rpm' ? ([RPM_QA_ARGV, 'rpm -qa', 'rpm-qa'] as const) : ([DPKG_QUERY_ARGV, 'dpkg-query', 'dpkg-query'] as const);
  const r = await t.exec(argv, { privileged: true });
  if (!ok(r)) throw new BulwarkError(t.failure.code, `${t.where}: ${what} failed (exit ${String(r.code)}): ${firstLine(r.stderr)}`, t.failure.details);
  const packages = r.stdout.trim() === '' ? [] : parseInventory(r.stdout, `${t.where}: ${format}`, format).packages;
  // A host whose os-release names an rpm or deb release has packages: an empty list is a
  // database not read (wrong path, no permission), and stored it would empty the target's
  // inventory and close all its findings as fixed.
  if (packages.length === 0 && release !== null && releaseFamily(release) !== null) {
    const tool = family === 'rpm' ? 'rpm' : 'dpkg';
    throw new BulwarkError(
      'input.invalid',
      `${t.where}: ${tool} found no installed packages${t.live ? '' : ' under it'} (no package database, or an empty one), yet it is ${release}, an ${family} release; a scan of it would prove nothing, and stored it would empty the target's inventory`,
      t.failure.details,
    );
  }
  return packages;
}

/**
 * The host collector: os-release, running kernel and machine, the package database of the
 * release's family, the reboot flag and the image stamp.
 * @example const snap = await hostCollector.collect(localTransport())
 */
export const hostCollector: Collector = {
  id: 'host',
  needs: {
    commands: [['cat'], ['test'], ['uname'], ['rpm', 'dpkg-query']],
    optional: ['needs-restarting', 'sudo', 'ls', 'pro', 'kpatch', 'canonical-livepatch'],
    // Directories are listed with `ls -1` and their files read (module states, apt sources).
    files: [
      ...OS_RELEASE_PATHS,
      IMAGE_STAMP_PATH,
      REBOOT_MARKER,
      ...REBOOT_MARKER_WRITERS,
      '/var/lib/dpkg/status',
      MODULES_DIR,
      '/etc/apt/sources.list.d',
      LIVEPATCH_SYSFS,
    ],
  },
  async collect(t, o = {}) {
    let release = o.release ?? null;
    if (release === null) {
      const osText = await readFirst(t, OS_RELEASE_PATHS);
      // A tree without os-release (a bare test root, a partial image) leaves the release to the
      // caller, who can tell it from the packages' dist tags; a running system always has one.
      if (osText === null && t.live) throw new BulwarkError(t.failure.code, `${t.where}: cannot read ${OS_RELEASE_PATHS.join(' or ')}`, t.failure.details);
      release = osText === null ? null : releaseFromOsRelease(parseOsRelease(osText));
    }
    let runningKernel: string | null = null;
    let arch: string | null = null;
    if (t.live) {
      const [k, m] = [await t.exec(['uname', '-r']), await t.exec(['uname', '-m'])];
      if (!ok(k) || !ok(m))
        throw new BulwarkError(
          t.failure.code,
          `${t.where}: uname failed (exit ${String(ok(k) ? m.code : k.code)}): ${firstLine(ok(k) ? m.stderr : k.stderr)}`,
          t.failure.details,
        );
      runningKernel = k.stdout.trim() || null;
      arch = m.stdout.trim() || null;
    }
    const family = await familyOf(t, release);
    if (family === null) throw new BulwarkError('input.invalid', `${t.where}: neither rpm nor dpkg-query is installed`, t.failure.details);
    const packages = await listPackages(t, family, release);
    const stamp = await t.exec(['cat', IMAGE_STAMP_PATH]);
    const streams = await collectStreams(t, release, family);
    return {
      release,
      arch,
      runningKernel,
      rebootRequired: t.live ? await rebootRequired(t) : null,
      packages,
      image: ok(stamp) ? parseImageStamp(stamp.stdout) : null,
      streams,
      livePatches: t.live ? await collectLivePatches(t) : null,
    };
  },
};

/** Collects a target through a transport with the one host collector. */
export function collect(t: Transport, o?: CollectOptions): Promise<Snapshot> {
  return hostCollector.collect(t, o);
}
