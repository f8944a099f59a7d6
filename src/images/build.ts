import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';
import { rpmDbInSysimage } from '../distros/registry.js';
import { DPKG_QUERY_FORMAT } from '../core/package/deb.js';
import { formatImageStamp, IMAGE_STAMP_PATH } from '../inventory/image-stamp.js';
import { parseInventory } from '../inventory/imports.js';
import { collectRoot } from '../inventory/root.js';
import type { SbomPackage } from './sbom.js';

const run = promisify(execFile);

/**
 * Builds an image's root filesystem with the machine's own `dnf --installroot` from one
 * published content-view repository, and packs it as a tarball. Everything is argv: package
 * names come from a validated definition and are passed word by word after `--`.
 *
 * Why `--nogpgcheck`: the repository is a local directory Bulwark published itself, every
 * upstream file in it was checked against its repository's signed metadata when it was mirrored
 * (services/repos.ts), and operators' own replacement builds are not necessarily signed.
 */
export interface RootBuildInput {
  /** The published repository (a content-view version directory). */
  repoDir: string;
  /** Work directory, created; the root is `work/rootfs`. */
  work: string;
  release: string;
  packages: readonly string[];
  remove: readonly string[];
  docs: boolean;
  /**
   * SOURCE_DATE_EPOCH for dnf's rpm and mmdebstrap (seconds): rpm (4.18 and later) then records it as
   * every package's install time and transaction id instead of the clock's, so the same packages
   * give the same database (images: the view version's time, for reproducible digests).
   */
  sourceDateEpoch?: number;
}

export interface RootBuild {
  root: string;
  /** Every installed package, with license and source rpm, read back by the real rpm. */
  packages: SbomPackage[];
  /** dnf's output, for the record. */
  log: string;
}

/**
 * dnf's configuration for a build, written in the work directory and passed with --config, so
 * nothing of the building machine's /etc/dnf (dnf.conf, protected.d, vars) decides what goes into
 * the image: only the definition and the view do. Every setting that changes the transaction is
 * stated, with what a Fedora/RHEL/Azure Linux dnf.conf says where the building machine's
 * (Debian's dnf: best=False, skip_if_unavailable=True) says otherwise.
 * - best: the newest build in the view of every package, or the build fails (never an older one
 *   silently because the newest cannot be installed);
 * - installonly_limit=0: the build removes no kernel it was asked to install;
 * - protected_packages empty, protect_running_kernel off: an image may remove dnf or a kernel
 *   whatever the building machine protects or runs;
 * - no cachedir, logdir or persistdir: dnf 4 puts them inside the install root whatever is
 *   set (cli.py prepends the root to the three), so they stay at the root's own /var/cache/dnf,
 *   /var/log and /var/lib/dnf, and buildRoot deletes what dnf left there afterwards.
 */
function dnfConf(i: RootBuildInput): string {
  return [
    '# written by bulwark image build; the building machine\'s /etc/dnf is not read',
    '[main]',
    `reposdir=${join(i.work, 'repos.d')}`,
    'plugins=False',
    'best=True',
    'installonly_limit=0',
    'install_weak_deps=False',
    'clean_requirements_on_remove=True',
    'skip_if_unavailable=False',
    'keepcache=False',
    'protected_packages=',
    'protect_running_kernel=False',
    'exclude=',
    'excludepkgs=',
    'includepkgs=',
    `tsflags=${i.docs ? '' : 'nodocs'}`,
    '',
  ].join('\n');
}

function dnfArgv(i: RootBuildInput, root: string, verb: string[]): string[] {
  const ver = parseReleaseId(i.release)?.version;
  if (ver === undefined) throw new BulwarkError('usage', `"${i.release}" is not a release id`);
  return [
    '-y',
    '--quiet',
    `--config=${join(i.work, 'dnf.conf')}`,
    `--installroot=${root}`,
    `--releasever=${ver}`,
    '--noplugins',
    // Only the view: no repository of the building machine, nor of the root, is consulted, and no
    // variable of the building machine's /etc/dnf/vars (an empty directory instead).
    `--setopt=reposdir=${join(i.work, 'repos.d')}`,
    `--setopt=varsdir=${join(i.work, 'vars')}`,
    '--disablerepo=*',
    `--repofrompath=bulwark-view,${i.repoDir}`,
    '--enablerepo=bulwark-view',
    '--nogpgcheck',
    ...verb,
  ];
}

/**
 * Where the image's own rpm keeps its database: /usr/lib/sysimage/rpm since rpm 4.16 on Fedora
 * 36+, RHEL 10 and Azure Linux 4.0 (Fedora 43 based); /var/lib/rpm on Azure Linux 2.0/3.0 and
 * the RHEL 8/9 family. The building machine's rpm may think otherwise (Debian's puts it in
 * ~/.rpmdb), so the build states it.
 * @example rpmDbPathFor('azurelinux:4.0') // '/usr/lib/sysimage/rpm'
 */
export function rpmDbPathFor(release: string): string {
  // Which releases moved is each distribution's image fact (src/distros/<id>/index.ts).
  return rpmDbInSysimage(release) ? '/usr/lib/sysimage/rpm' : '/var/lib/rpm';
}

/** The environment without dnf's variables (DNF_VAR_*, DNF0…DNF9): they would be substituted in the build. */
function envWithoutDnfVars(home: string, sourceDateEpoch: number | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^DNF(_VAR_|[0-9]$)/.test(k) && k !== 'SOURCE_DATE_EPOCH')), HOME: home };
  if (sourceDateEpoch !== undefined) env['SOURCE_DATE_EPOCH'] = String(sourceDateEpoch);
  return env;
}

async function dnf(argv: string[], home: string, sourceDateEpoch: number | undefined): Promise<string> {
  try {
    // HOME holds only an .rpmmacros naming the image's database path (librpm reads it last).
    const r = await run('dnf', argv, { maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000, env: envWithoutDnfVars(home, sourceDateEpoch) });
    return r.stdout + r.stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') throw new BulwarkError('config.invalid', 'dnf is not installed on this machine; images are built with dnf --installroot', {}, { cause: err });
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    throw new BulwarkError('input.invalid', `dnf ${argv.slice(argv.indexOf('--nogpgcheck') + 1).slice(0, 3).join(' ')}… failed:\n${out}`, {}, { cause: err });
  }
}

/** The names no installed package has or provides, read by the real rpm from the root's database. */
async function notInstalled(root: string, dbpath: string, names: readonly string[]): Promise<string[]> {
  const has = async (argv: string[]): Promise<boolean> =>
    run('rpm', ['--root', root, '--dbpath', dbpath, '--query', '--quiet', ...argv]).then(
      () => true,
      () => false,
    );
  const missing: string[] = [];
  for (const n of names) if (!(await has(['--', n])) && !(await has(['--whatprovides', '--', n]))) missing.push(n);
  return missing;
}

const LICENSE_QF = '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\n';

/** Installs the packages into a new root and reads back what is there. */
export async function buildRoot(i: RootBuildInput): Promise<RootBuild> {
  if (i.packages.length === 0) throw new BulwarkError('usage', 'an image needs at least one package');
  const root = join(i.work, 'rootfs');
  await mkdir(root, { recursive: true });
  for (const d of ['repos.d', 'vars', 'home']) await mkdir(join(i.work, d), { recursive: true });
  await writeFile(join(i.work, 'dnf.conf'), dnfConf(i));
  const home = join(i.work, 'home');
  const dbpath = rpmDbPathFor(i.release);
  await writeFile(join(home, '.rpmmacros'), `%_dbpath ${dbpath}\n`);
  let log = await dnf(dnfArgv(i, root, ['install', '--', ...i.packages]), home, i.sourceDateEpoch);
  if (i.remove.length > 0) {
    // dnf remove passes over a name that matches nothing installed; a typo must stop the build.
    const missing = await notInstalled(root, dbpath, i.remove);
    if (missing.length > 0) throw new BulwarkError('input.invalid', `remove: ${missing.join(', ')} not in the image (no installed package has that name or provides it)`);
    log += await dnf(dnfArgv(i, root, ['remove', '--', ...i.remove]), home, i.sourceDateEpoch);
  }
  // Nothing of the work directory may be in the root (dnf 4 prepends the root to its own paths).
  if (existsSync(join(root, i.work))) throw new BulwarkError('internal', `dnf wrote into ${join(root, i.work)}: the image would carry the build's files`);
  // Fedora-style systems keep /var/lib/rpm as a link to the database's new place.
  if (dbpath !== '/var/lib/rpm' && !existsSync(join(root, 'var/lib/rpm'))) {
    await mkdir(join(root, 'var/lib'), { recursive: true });
    await symlink('../../usr/lib/sysimage/rpm', join(root, 'var/lib/rpm'));
  }
  const inv = await collectRoot(root, { release: i.release });
  if (!inv.argv.includes(dbpath)) throw new BulwarkError('internal', `the image's package database is not at ${dbpath} (${inv.argv.slice(0, 5).join(' ')})`);
  const extra = new Map<string, { license: string; srpm: string }>();
  const { stdout } = await run('rpm', ['--root', root, ...inv.argv.slice(3, inv.argv.indexOf('-qa')), '-qa', '--queryformat', LICENSE_QF], { maxBuffer: 64 * 1024 * 1024 });
  for (const line of stdout.split('\n')) {
    const f = line.split('\t');
    // The license is last: it is free text and could, in theory, hold a tab.
    if (f.length >= 7) extra.set(f.slice(0, 5).join('\t'), { srpm: f[5] ?? '', license: f.slice(6).join('\t') });
  }
  const packages = inv.packages.map((p) => {
    const e = extra.get([p.name, String(p.epoch ?? 0), p.version, p.release ?? '', p.arch].join('\t'));
    const srpm = e === undefined || e.srpm === '(none)' || e.srpm === '' ? null : e.srpm;
    const license = e === undefined || e.license === '(none)' || e.license === '' ? null : e.license;
    return { ...p, license, sourceRpm: srpm };
  });
  // Build-time state that is the builder's, not the image's: dnf's cache, its logs, and its
  // history (the build's command lines, with the work directory's and the view's paths; images
  // had none before dnf's persistdir moved to the root's /var/lib/dnf).
  for (const d of ['var/cache/dnf', 'var/lib/dnf', 'var/log/dnf.log', 'var/log/dnf.librepo.log', 'var/log/dnf.rpm.log', 'var/log/hawkey.log']) await rm(join(root, d), { recursive: true, force: true });
  await settleRpmDb(join(root, dbpath));
  return { root, packages, log };
}

/**
 * The customize hook for a Debian image's `remove:`: apt purges the names (one per line in
 * BULWARK_IMAGE_REMOVE, validated package names, split on newlines only and never globbed) and
 * whatever depends on them, in the root ($1) through dpkg --root — the options mmdebstrap itself
 * gives apt in chrootless mode, which its hooks' APT_CONFIG does not carry. A name that is not
 * installed in the image fails the build, as a typo should (dpkg-query reads its status first:
 * apt-get purge only notes a package it knows that is not installed).
 */
const DEB_REMOVE_HOOK = `#!/bin/sh
set -eu
set -f
IFS='
'
# apt-get purge only notes a name that is known but not installed: the build stops instead.
missing=
for p in $BULWARK_IMAGE_REMOVE; do
  s=$(dpkg-query "--admindir=$1/var/lib/dpkg" -W -f='\${db:Status-Status}' -- "$p" 2>/dev/null) || s=
  if [ "$s" != installed ]; then missing="$missing $p"; fi
done
if [ -n "$missing" ]; then echo "remove:$missing not in the image" >&2; exit 1; fi
APT_CONFIG=$MMDEBSTRAP_APT_CONFIG
export APT_CONFIG
# shellcheck disable=SC2086
exec apt-get --yes --quiet \\
  -oDPkg::Options::=--force-not-root -oDPkg::Options::=--force-script-chrootless \\
  "-oDPkg::Options::=--root=$1" "-oDPkg::Options::=--log=$1/var/log/dpkg.log" \\
  purge $BULWARK_IMAGE_REMOVE
`;

/** Every name a package of the view's suite has or provides, from its Packages indexes. */
async function viewDebNames(repoDir: string, suite: string): Promise<Set<string>> {
  const names = new Set<string>();
  const dists = join(repoDir, 'dists', suite);
  for (const component of await readdir(dists, { withFileTypes: true })) {
    if (!component.isDirectory()) continue;
    for (const bin of await readdir(join(dists, component.name))) {
      const file = join(dists, component.name, bin, 'Packages');
      if (!bin.startsWith('binary-') || !existsSync(file)) continue;
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/^Package:[ \t]*(\S+)/gm)) names.add(m[1] ?? '');
      for (const m of text.matchAll(/^Provides:[ \t]*(.+)$/gm)) for (const p of (m[1] ?? '').split(',')) names.add(p.trim().split(/[\s(]/)[0] ?? '');
    }
  }
  return names;
}

/**
 * A Debian or Ubuntu root from a published apt view, with the real mmdebstrap in chrootless mode:
 * the packages asked for and what they depend on, unpacked and configured by this machine's
 * dpkg with --root, nothing else (the `custom` variant: no Essential set unless asked for).
 * The view's repository is read with copy:// (a local directory Bulwark published and whose
 * upstream files it verified, hence trusted=yes).
 */
export async function buildDebRoot(i: RootBuildInput): Promise<RootBuild> {
  if (i.packages.length === 0) throw new BulwarkError('usage', 'an image needs at least one package');
  const suites = existsSync(join(i.repoDir, 'dists')) ? await readdir(join(i.repoDir, 'dists')) : [];
  const suite = suites[0];
  if (suite === undefined || suites.length !== 1) throw new BulwarkError('usage', `${i.repoDir}: not an apt repository with one suite`);
  const release = await readFile(join(i.repoDir, 'dists', suite, 'Release'), 'utf8');
  const components = (/^Components:\s*(.+)$/m.exec(release)?.[1] ?? 'main').trim();
  // apt takes a name literally only when it has a package (or a provider) of that name; any other
  // it reads as a pattern (bw.perl is a regular expression) or with a last "+"/"-" as install/remove.
  const known = await viewDebNames(i.repoDir, suite);
  const unknown = [...new Set([...i.packages, ...i.remove])].filter((n) => !known.has(n.replace(/:[A-Za-z0-9-]+$/, '')));
  if (unknown.length > 0) throw new BulwarkError('input.invalid', `${unknown.map((n) => `"${n}"`).join(', ')} not in the view (no package has or provides that name; apt would read it as a pattern, and a last "+" or "-" as install or remove)`);
  const root = join(i.work, 'rootfs');
  const hook = join(i.work, 'remove-hook.sh');
  if (i.remove.length > 0) {
    await writeFile(hook, DEB_REMOVE_HOOK);
    await chmod(hook, 0o700);
  }
  const argv = [
    '--mode=chrootless',
    '--variant=custom',
    `--include=${i.packages.join(',')}`,
    '--format=directory',
    '--quiet',
    ...(i.docs ? [] : ['--dpkgopt=path-exclude=/usr/share/doc/*', '--dpkgopt=path-exclude=/usr/share/man/*']),
    // An executable path is exec'd by mmdebstrap with the root as $1: no shell string is built.
    ...(i.remove.length > 0 ? [`--customize-hook=${hook}`] : []),
    suite,
    root,
    `deb [trusted=yes] copy://${i.repoDir} ${suite} ${components}`,
  ];
  let log: string;
  try {
    const env = { ...process.env, BULWARK_IMAGE_REMOVE: i.remove.join('\n'), ...(i.sourceDateEpoch !== undefined ? { SOURCE_DATE_EPOCH: String(i.sourceDateEpoch) } : {}) };
    const r = await run('mmdebstrap', argv, { maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000, env });
    log = r.stdout + r.stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') throw new BulwarkError('config.invalid', 'mmdebstrap is not installed on this machine; Debian images are built with it', {}, { cause: err });
    throw new BulwarkError('input.invalid', `mmdebstrap failed:\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n')}`, {}, { cause: err });
  }
  // The build's own source (copy://…) means nothing on a host: the image's apt starts without one.
  await writeFile(join(root, 'etc', 'apt', 'sources.list'), '# the sources this host uses: bulwark view repo-file VIEW --env ENV --url URL\n');
  const { stdout } = await run('dpkg-query', [`--admindir=${join(root, 'var', 'lib', 'dpkg')}`, '-W', '-f', DPKG_QUERY_FORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')], { maxBuffer: 64 * 1024 * 1024 });
  const packages = parseInventory(stdout, `dpkg-query --admindir ${root}`, 'dpkg-query').packages.map((p) => ({ ...p, license: null, sourceRpm: null }));
  return { root, packages, log };
}

/**
 * The rpm database as an image should carry it (issue #21, item 8): rpm's SQLite backend leaves
 * its write-ahead log and shared-memory index (`rpmdb.sqlite-wal`, `-shm`) and its transaction
 * lock (`.rpm.lock`) behind, state of the builder's last rpm call that differs from build to
 * build. The log is checkpointed into the database by the real sqlite3 (which removes both files
 * when its connection, the last one, closes: https://www.sqlite.org/wal.html#the_wal_file), and
 * only then is anything left removed — never a log not yet in the database. rpm makes a new lock
 * when it next runs a transaction.
 */
export async function settleRpmDb(dir: string): Promise<void> {
  const db = join(dir, 'rpmdb.sqlite');
  if (existsSync(`${db}-wal`)) {
    try {
      const { stdout } = await run('sqlite3', [db, 'PRAGMA wal_checkpoint(TRUNCATE);']);
      // busy|log frames|checkpointed frames: busy 1 means the log was not (wholly) written back.
      if (!stdout.trim().startsWith('0|')) throw new Error(`the checkpoint was not complete (${stdout.trim()})`);
    } catch (err) {
      throw new BulwarkError('internal', `cannot checkpoint the image's rpm database ${db}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`, {}, { cause: err });
    }
    // What the checkpoint left (an emptied log) holds nothing the database lacks now.
    const { stdout } = await run('sqlite3', [db, 'PRAGMA integrity_check;']);
    if (stdout.trim() !== 'ok') throw new BulwarkError('internal', `the image's rpm database ${db} does not check: ${stdout.trim().slice(0, 200)}`);
  }
  for (const f of [`${db}-wal`, `${db}-shm`, join(dir, '.rpm.lock'), join(dir, '.dbenv.lock')]) await rm(f, { force: true });
}

/** Removes the package database (distroless images: RemoveRpmDb). */
export async function removePackageDb(root: string): Promise<void> {
  for (const d of ['var/lib/rpm', 'usr/lib/sysimage/rpm', 'var/lib/dnf', 'var/lib/dpkg', 'var/lib/apt']) await rm(join(root, d), { recursive: true, force: true });
}

/** /etc/bulwark-image: which build this is, read back by every collector from hosts made from it. */
export async function writeImageStamp(root: string, stamp: { image: string; build: number; view: string; viewVersion: number }): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, IMAGE_STAMP_PATH), formatImageStamp(stamp));
}

/** /etc/wsl-distribution.conf (WSL's custom distribution format: the [oobe] section). */
export async function writeWslConf(root: string, o: { defaultName?: string | undefined; defaultUid?: number | undefined }): Promise<void> {
  const lines = ['# written by bulwark image build', '[oobe]'];
  if (o.defaultName !== undefined) lines.push(`defaultName = ${o.defaultName}`);
  if (o.defaultUid !== undefined) lines.push(`defaultUid = ${String(o.defaultUid)}`);
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc', 'wsl-distribution.conf'), lines.join('\n') + '\n');
}

/**
 * Packs a root into an uncompressed tar with GNU tar: names sorted, numeric owners, pax format,
 * access and change times left out, modification times clamped to the build time, so the same
 * files give the same tar.
 */
export async function tarRoot(root: string, out: string, mtime: Date): Promise<void> {
  try {
    await run('tar', ['--create', `--file=${out}`, `--directory=${root}`, '--sort=name', '--numeric-owner', '--format=posix', '--pax-option=delete=atime,delete=ctime', `--mtime=@${String(Math.floor(mtime.getTime() / 1000))}`, '--clamp-mtime', '--xattrs', '.'], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new BulwarkError('internal', `tar of ${root} failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`, {}, { cause: err });
  }
}

/** gzip `tarFile` into `out`; returns the SHA-256 of the compressed file. */
export async function gzipFile(tarFile: string, out: string): Promise<string> {
  const h = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(tarFile), createGzip({ level: 6 }), hashing, createWriteStream(out));
  return `sha256:${h.digest('hex')}`;
}
