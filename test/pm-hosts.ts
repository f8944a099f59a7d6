import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTBED_PREFIX } from './needs.js';
import { AZL3_OS_RELEASE } from './ssh-fleet.js';
import { startSshHost, type SshHost } from './sshd-hosts.js';

/**
 * Test hosts whose package manager is the real tdnf (Azure Linux 2.0/3.0) or dnf5 (Azure Linux
 * 4.0), as ../shared/testbed builds them (scripts/setup-test.sh installs them into
 * TESTBED_PREFIX), or dnf 4 (Debian's). A host is a directory of its own files, bound over the
 * machine's in its mount namespace (sshd's, or inNamespace's for the agent and the fixture
 * recorder): its rpm database (Debian's rpm keeps it at ~/.rpmdb, /root/.rpmdb for root), the
 * manager's configuration, repositories, cache and history, and a bin directory on root's PATH
 * (/usr/local/sbin) with the manager in it. Inside, the manager runs without --installroot and
 * changes that host only. What each manager keeps where (seen on the real binaries):
 * - tdnf 3.5.9: /etc/tdnf/tdnf.conf (its repodir and cachedir are set there), history in
 *   /usr/lib/sysimage/tdnf/history.db, whose first transaction "(set)" records the state it found;
 * - dnf5 5.0.15: /etc/dnf (dnf.conf, vars, repos.d), cache in /var/cache/libdnf5, history and
 *   state in /usr/lib/sysimage/libdnf5 (transaction_history.sqlite), /var/lib/dnf;
 * - dnf 4: /etc/dnf, /var/cache/dnf, history in /var/lib/dnf/history.sqlite.
 */
export type RpmManager = 'tdnf' | 'dnf5' | 'dnf';

export const AZL4_OS_RELEASE =
  'NAME="Microsoft Azure Linux"\nVERSION="4.0.20261101"\nID=azurelinux\nVERSION_ID="4.0"\nPRETTY_NAME="Microsoft Azure Linux 4.0"\n';

export interface RpmHostFiles {
  name: string;
  manager: RpmManager;
  dir: string;
  /** The host's rpm root (its database is what the host shows). */
  root: string;
  osRelease: string;
  /** (source, mount point) pairs: the rpm database, os-release, and the manager's own files. */
  binds: [string, string][];
  /** Points the host's manager at another repository URL (e.g. a broken one), with an empty cache. */
  setRepo: (url: string) => void;
  /** The installed packages as `name-E:V-R`, read from the host's database directly. */
  installed: () => string[];
  /** The transactions the manager's own history records (tdnf's "(set)" baseline not counted). */
  transactions: () => string[];
}

function count(file: string, sql: string): string[] {
  if (!existsSync(file)) return [];
  const h = new Database(file, { readonly: true });
  try {
    return (h.prepare(sql).all() as { c: string }[]).map((r) => r.c);
  } finally {
    h.close();
  }
}

/**
 * Prepares a host whose packages are `initial`, installed with the real dnf from `localRepo`
 * (a directory), and whose manager then uses `repoUrl`.
 */
export function prepareRpmHost(
  dir: string,
  o: { name: string; manager: RpmManager; localRepo: string; repoUrl: string; initial: readonly string[]; releasever?: string },
): RpmHostFiles {
  const hostDir = join(dir, o.name);
  const root = join(hostDir, 'root');
  const releasever = o.releasever ?? (o.manager === 'dnf5' ? '4.0' : '3.0');
  mkdirSync(root, { recursive: true });
  execFileSync(
    'dnf',
    [
      '-y',
      `--installroot=${root}`,
      `--releasever=${releasever}`,
      '--disablerepo=*',
      `--repofrompath=local,file://${o.localRepo}`,
      '--enablerepo=local',
      '--nogpgcheck',
      '--setopt=install_weak_deps=False',
      '--setopt=reposdir=/nonexistent',
      `--setopt=cachedir=${join(hostDir, 'setup-cache')}`,
      'install',
      ...o.initial,
    ],
    { stdio: 'pipe' },
  );
  const db = execFileSync('rpm', ['--eval', '%_dbpath'], { encoding: 'utf8' }).trim();
  const osRelease = o.manager === 'dnf5' ? AZL4_OS_RELEASE : AZL3_OS_RELEASE;
  writeFileSync(join(hostDir, 'os-release'), osRelease);
  const bin = join(hostDir, 'bin');
  mkdirSync(bin, { recursive: true });
  if (o.manager !== 'dnf') symlinkSync(join(TESTBED_PREFIX, o.manager, 'bin', o.manager), join(bin, o.manager));
  const d = (...p: string[]): string => {
    const x = join(hostDir, ...p);
    mkdirSync(x, { recursive: true });
    return x;
  };
  const common: [string, string][] = [
    [join(root, db), db],
    [join(hostDir, 'os-release'), '/etc/os-release'],
    [bin, '/usr/local/sbin'],
  ];
  const repoText = (url: string): string => `[fleet]\nname=fleet\nbaseurl=${url}\nenabled=1\ngpgcheck=0\nmetadata_expire=0\n`;
  let repoFile: string;
  let cache: string;
  let binds: [string, string][];
  let transactions: () => string[];
  if (o.manager === 'tdnf') {
    const etc = d('etc-tdnf');
    writeFileSync(
      join(etc, 'tdnf.conf'),
      '[main]\ngpgcheck=0\ninstallonly_limit=3\nclean_requirements_on_remove=0\nrepodir=/etc/yum.repos.d\ncachedir=/var/cache/tdnf\n',
    );
    repoFile = join(d('yum.repos.d'), 'fleet.repo');
    cache = d('cache-tdnf');
    const history = d('sysimage-tdnf');
    binds = [
      ...common,
      [etc, '/etc/tdnf'],
      [join(hostDir, 'yum.repos.d'), '/etc/yum.repos.d'],
      [cache, '/var/cache/tdnf'],
      [history, '/usr/lib/sysimage/tdnf'],
    ];
    transactions = () => count(join(history, 'history.db'), 'select cmdline as c from transactions where type != 0 order by Id');
  } else {
    const etc = d('etc-dnf');
    d('etc-dnf', 'vars');
    writeFileSync(join(etc, 'dnf.conf'), '[main]\ngpgcheck=0\ninstall_weak_deps=False\nreposdir=/etc/dnf/repos.d\nkeepcache=0\n');
    writeFileSync(join(etc, 'vars', 'releasever'), `${releasever}\n`);
    repoFile = join(d('etc-dnf', 'repos.d'), 'fleet.repo');
    const libDnf = d('lib-dnf');
    if (o.manager === 'dnf5') {
      cache = d('cache-libdnf5');
      const state = d('sysimage-libdnf5');
      binds = [...common, [etc, '/etc/dnf'], [cache, '/var/cache/libdnf5'], [state, '/usr/lib/sysimage/libdnf5'], [libDnf, '/var/lib/dnf']];
      transactions = () => count(join(state, 'transaction_history.sqlite'), 'select cast(id as text) as c from trans order by id');
    } else {
      cache = d('cache-dnf');
      binds = [...common, [etc, '/etc/dnf'], [cache, '/var/cache/dnf'], [libDnf, '/var/lib/dnf']];
      transactions = () => count(join(libDnf, 'history.sqlite'), 'select cast(id as text) as c from trans order by id');
    }
  }
  const setRepo = (url: string): void => {
    writeFileSync(repoFile, repoText(url));
    // Empty the cache, keeping the directory: the host's mount namespace binds this inode.
    for (const e of readdirSync(cache)) rmSync(join(cache, e), { recursive: true, force: true });
  };
  setRepo(o.repoUrl);
  return {
    name: o.name,
    manager: o.manager,
    dir: hostDir,
    root,
    osRelease,
    binds,
    setRepo,
    installed: () =>
      execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    transactions,
  };
}

export type RpmHost = SshHost & RpmHostFiles;

/** Starts an sshd host on prepared files (startSshHost binds the database and os-release itself). */
export async function startRpmHost(
  dir: string,
  o: { name: string; manager: RpmManager; address: string; port: number; localRepo: string; repoUrl: string; initial: readonly string[]; clientKey?: string },
): Promise<RpmHost> {
  const files = prepareRpmHost(dir, o);
  const [rpmDb, osRelease, ...binds] = files.binds;
  const host = await startSshHost(join(files.dir, 'ssh'), {
    address: o.address,
    port: o.port,
    rpmRoot: files.root,
    osRelease: files.osRelease,
    ...(o.clientKey !== undefined ? { clientKey: o.clientKey } : {}),
    binds: binds.filter(([, to]) => to !== osRelease?.[1] && to !== rpmDb?.[1]),
  });
  return { ...host, ...files };
}
