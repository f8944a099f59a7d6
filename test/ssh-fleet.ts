import { execFile, execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { buildDummyRpms, type DummyRpm } from './rpm-tools.js';
import { startSshHost, type SshHost } from './sshd-hosts.js';

/**
 * A small fleet on real parts for end-to-end patch tests (../shared/testbed recipes 1, 2, 3, 5):
 * an rpm repository with updateinfo served over HTTP, and sshd hosts whose own rpm database, dnf
 * configuration, repositories, cache and history are bind-mounted in their mount namespace, so
 * that `dnf` run over SSH — without --installroot — changes that host and nothing else. The
 * dummy rpms carry no files: installing them changes only the host's database.
 */

/** An advisory as written into the repository's updateinfo.xml. */
export interface RepoAdvisory {
  id: string;
  severity: 'Critical' | 'Important' | 'Moderate' | 'Low';
  issued: Date;
  cves: string[];
  packages: DummyRpm[];
}

/** Serves a directory over HTTP on loopback (GET only, no path outside it). */
export async function serveDir(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    try {
      const st = statSync(file);
      if (!st.isFile() || !file.startsWith(dir)) throw new Error('not a file');
      res.writeHead(200, { 'content-length': st.size, 'last-modified': st.mtime.toUTCString() });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** updateinfo.xml in the form Fedora and Azure Linux publish it. */
export function updateinfoXml(advisories: readonly RepoAdvisory[]): string {
  const updates = advisories.map((a) => {
    const issued = a.issued
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, '');
    const refs = a.cves.map((c) => `<reference href="https://nvd.nist.gov/vuln/detail/${c}" id="${c}" type="cve" title="${c}"/>`).join('');
    const pkgs = a.packages
      .map(
        (p) =>
          `<package name="${xml(p.name)}" epoch="${String(p.epoch ?? 0)}" version="${xml(p.version)}" release="${xml(p.release)}" arch="noarch"><filename>${xml(`${p.name}-${p.version}-${p.release}.noarch.rpm`)}</filename></package>`,
      )
      .join('');
    return `<update from="security@example.test" status="stable" type="security" version="2.0"><id>${xml(a.id)}</id><title>${xml(`${a.id}: update`)}</title><severity>${a.severity}</severity><issued date="${issued}"/><references>${refs}</references><description>test advisory</description><pkglist><collection short="azl3"><name>Azure Linux 3.0</name>${pkgs}</collection></pkglist></update>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<updates>${updates.join('\n')}</updates>\n`;
}

/**
 * Builds the rpms into `dir`/rpms and (re)writes its repodata with this updateinfo, the way a
 * distribution publishes: createrepo_c, then modifyrepo_c. The updateinfo lands at
 * repodata/updateinfo.xml.gz (simple file names), where a feed source can point.
 */
export function publishRepo(dir: string, advisories: readonly RepoAdvisory[]): string {
  const repo = join(dir, 'rpms');
  execFileSync('createrepo_c', ['--quiet', '--simple-md-filenames', repo]);
  const ui = join(dir, 'updateinfo.xml');
  writeFileSync(ui, updateinfoXml(advisories));
  execFileSync('modifyrepo_c', ['--simple-md-filenames', ui, join(repo, 'repodata')], { stdio: 'pipe' });
  return repo;
}

export function buildRepo(dir: string, pkgs: readonly DummyRpm[], advisories: readonly RepoAdvisory[]): string {
  buildDummyRpms(dir, pkgs);
  return publishRepo(dir, advisories);
}

export const AZL3_OS_RELEASE =
  'NAME="Microsoft Azure Linux"\nVERSION="3.0.20261101"\nID=azurelinux\nVERSION_ID="3.0"\nPRETTY_NAME="Microsoft Azure Linux 3.0"\n';

export interface DnfHost extends SshHost {
  name: string;
  dir: string;
  /** The host's rpm root (its database is what the host shows). */
  root: string;
  /** Points the host's dnf at another repository URL (e.g. a broken one). */
  setRepo: (url: string) => void;
  /** The host's installed packages as `name-E:V-R`, read from its database directly. */
  installed: () => string[];
  /** How many dnf transactions the host's own history records. */
  transactions: () => number;
}

/** A host's own files for dnf, prepared beside it, and where its namespace binds them. */
export interface DnfHostFiles {
  dir: string;
  /** The host's rpm root (its database is what the host shows). */
  root: string;
  /** (source, mount point) pairs: the rpm database, os-release, dnf configuration, cache, history. */
  binds: [string, string][];
  setRepo: (url: string) => void;
  installed: () => string[];
  transactions: () => number;
}

/**
 * Prepares a host whose packages are `initial`, installed with the real dnf from `localRepo`
 * (a directory), and whose dnf then uses `repoUrl`.
 */
export function prepareDnfHost(dir: string, o: { name: string; localRepo: string; repoUrl: string; initial: readonly string[] }): DnfHostFiles {
  const hostDir = join(dir, o.name);
  const root = join(hostDir, 'root');
  const etcDnf = join(hostDir, 'etc-dnf');
  for (const d of [root, join(etcDnf, 'vars'), join(etcDnf, 'repos.d'), join(hostDir, 'cache'), join(hostDir, 'lib-dnf')]) mkdirSync(d, { recursive: true });
  execFileSync(
    'dnf',
    [
      '-y',
      `--installroot=${root}`,
      '--releasever=3.0',
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
  writeFileSync(join(etcDnf, 'dnf.conf'), '[main]\ngpgcheck=0\ninstall_weak_deps=False\nreposdir=/etc/dnf/repos.d\nkeepcache=0\n');
  writeFileSync(join(etcDnf, 'vars', 'releasever'), '3.0\n');
  const setRepo = (url: string): void => {
    writeFileSync(join(etcDnf, 'repos.d', 'fleet.repo'), `[fleet]\nname=fleet\nbaseurl=${url}\nenabled=1\ngpgcheck=0\nmetadata_expire=0\n`);
    // Empty the cache, keeping the directory: the host's mount namespace binds this inode.
    for (const e of readdirSync(join(hostDir, 'cache'))) rmSync(join(hostDir, 'cache', e), { recursive: true, force: true });
  };
  setRepo(o.repoUrl);
  const osRelease = join(hostDir, 'os-release');
  writeFileSync(osRelease, AZL3_OS_RELEASE);
  const db = execFileSync('rpm', ['--eval', '%_dbpath'], { encoding: 'utf8' }).trim();
  return {
    dir: hostDir,
    root,
    binds: [
      [join(root, db), db],
      [osRelease, '/etc/os-release'],
      [etcDnf, '/etc/dnf'],
      [join(hostDir, 'cache'), '/var/cache/dnf'],
      [join(hostDir, 'lib-dnf'), '/var/lib/dnf'],
    ],
    setRepo,
    installed: () =>
      execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    transactions: () => {
      const file = join(hostDir, 'lib-dnf', 'history.sqlite');
      if (!existsSync(file)) return 0;
      const h = new Database(file, { readonly: true });
      try {
        return (h.prepare('select count(*) as n from trans').get() as { n: number }).n;
      } finally {
        h.close();
      }
    },
  };
}

/** Starts an sshd host on prepared dnf host files. */
export async function startDnfHost(
  dir: string,
  o: {
    name: string;
    address: string;
    port: number;
    localRepo: string;
    repoUrl: string;
    initial: readonly string[];
    clientKey?: string;
    /** More (source, mount point) binds of the host's namespace; `root:` at a source's start is the host's rpm root. */
    binds?: readonly (readonly [string, string])[];
  },
): Promise<DnfHost> {
  const files = prepareDnfHost(dir, o);
  const [rpmDb, ...binds] = files.binds;
  const host = await startSshHost(join(files.dir, 'ssh'), {
    address: o.address,
    port: o.port,
    rpmRoot: files.root,
    osRelease: AZL3_OS_RELEASE,
    ...(o.clientKey !== undefined ? { clientKey: o.clientKey } : {}),
    // startSshHost binds the database and os-release itself.
    binds: [
      ...binds.filter(([, to]) => to !== '/etc/os-release' && to !== rpmDb?.[1]),
      ...(o.binds ?? []).map(([from, to]) => [from.startsWith('root:') ? join(files.root, from.slice('root:'.length)) : from, to] as const),
    ],
  });
  return { ...host, name: o.name, dir: files.dir, root: files.root, setRepo: files.setRepo, installed: files.installed, transactions: files.transactions };
}

/**
 * Runs argv in a mount namespace of its own with these binds (the way the sshd test hosts see
 * their files), e.g. the agent script on a prepared host. Everything variable is a positional
 * parameter of the fixed script.
 */
export function inNamespace(
  binds: readonly (readonly [string, string])[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = 'while [ "$1" != -- ]; do [ -e "$2" ] || mkdir -p "$2"; mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"';
  // Asynchronous: the server the command talks to may live in this very process.
  return new Promise((resolve) => {
    execFile(
      'unshare',
      ['-m', 'sh', '-c', script, 'sh', ...binds.flat(), '--', ...argv],
      { encoding: 'utf8', env, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      },
    );
  });
}

export interface DummyDeb {
  name: string;
  version: string;
  /** A Depends: field, as written in a control file. */
  depends?: string;
  /** A Source: field, e.g. `samba (2:4.21.0-1)` for a binary whose version is not its source's. */
  source?: string;
}

/**
 * Builds empty .deb packages (control file only, Architecture: all) with the real dpkg-deb into
 * `dir`/debs, and a flat apt repository there (Packages written by dpkg-scanpackages).
 */
export function buildAptRepo(dir: string, debs: readonly DummyDeb[]): string {
  const out = join(dir, 'debs');
  mkdirSync(out, { recursive: true });
  for (const d of debs) {
    const tree = join(dir, 'tree', `${d.name}_${d.version}`);
    mkdirSync(join(tree, 'DEBIAN'), { recursive: true });
    writeFileSync(
      join(tree, 'DEBIAN', 'control'),
      `Package: ${d.name}\nVersion: ${d.version}\nArchitecture: all\nMaintainer: Bulwark tests <tests@example.test>\n${d.source === undefined ? '' : `Source: ${d.source}\n`}${d.depends === undefined ? '' : `Depends: ${d.depends}\n`}Description: dummy\n`,
    );
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', tree, join(out, `${d.name}_${d.version.replace(/^\d+:/, '')}_all.deb`)], { stdio: 'pipe' });
  }
  const packages = execFileSync('dpkg-scanpackages', ['--multiversion', '.'], { cwd: out, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(join(out, 'Packages'), packages);
  return out;
}

export const DEBIAN12_OS_RELEASE =
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';

export interface AptHost extends SshHost {
  name: string;
  /** The host's installed packages as `name=version`, read from its dpkg database directly. */
  installed: () => string[];
}

/**
 * Starts an sshd host whose dpkg database holds `initial` (installed with the real dpkg), whose
 * apt reads the flat repository at `repoUrl`, and whose apt lists, cache and dpkg database are
 * its own (bind-mounted in its mount namespace).
 */
export async function startAptHost(
  dir: string,
  o: { name: string; address: string; port: number; repoUrl: string; initial: readonly string[]; clientKey?: string },
): Promise<AptHost> {
  const hostDir = join(dir, o.name);
  const admin = join(hostDir, 'dpkg');
  const etcApt = join(hostDir, 'etc-apt');
  for (const d of ['info', 'updates', 'triggers', 'parts', 'alternatives']) mkdirSync(join(admin, d), { recursive: true });
  writeFileSync(join(admin, 'status'), '');
  writeFileSync(join(admin, 'available'), '');
  for (const d of [
    join(etcApt, 'apt.conf.d'),
    join(etcApt, 'preferences.d'),
    join(etcApt, 'sources.list.d'),
    join(etcApt, 'trusted.gpg.d'),
    join(hostDir, 'lib-apt', 'lists', 'partial'),
    join(hostDir, 'cache-apt', 'archives', 'partial'),
  ])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(etcApt, 'sources.list'), `deb [trusted=yes allow-insecure=yes] ${o.repoUrl} ./\n`);
  execFileSync('dpkg', [`--admindir=${admin}`, '--force-not-root', '-i', ...o.initial], { stdio: 'pipe' });
  const host = await startSshHost(join(hostDir, 'ssh'), {
    address: o.address,
    port: o.port,
    osRelease: DEBIAN12_OS_RELEASE,
    ...(o.clientKey !== undefined ? { clientKey: o.clientKey } : {}),
    binds: [
      [admin, '/var/lib/dpkg'],
      [etcApt, '/etc/apt'],
      [join(hostDir, 'lib-apt'), '/var/lib/apt'],
      [join(hostDir, 'cache-apt'), '/var/cache/apt'],
    ],
  });
  return {
    ...host,
    name: o.name,
    installed: () =>
      execFileSync('dpkg-query', [`--admindir=${admin}`, '-W', '-f', '${db:Status-Abbrev}${Package}=${Version}\\n'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('ii'))
        .map((l) => l.slice(3).trim())
        .sort(),
  };
}
