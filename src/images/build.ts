import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import { parseReleaseId } from '../core/release.js';
import { rpmDbInSysimage } from '../distros/registry.js';
import { collectRoot } from '../inventory/root.js';
import type { SbomPackage } from './sbom.js';

// What is done to a built root, whichever builder made it (pack.ts); the apt builder is build-deb.ts.
export { gzipFile, removePackageDb, tarRoot, writeImageStamp, writeWslConf } from './pack.js';

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
   * every package's transaction id and counts install times up from it instead of the clock's, so
   * the same packages give the same database (images: the view version's time, for reproducible digests).
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
    "# written by bulwark image build; the building machine's /etc/dnf is not read",
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
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^DNF(_VAR_|[0-9]$)/.test(k) && k !== 'SOURCE_DATE_EPOCH')),
    HOME: home,
  };
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
    if (e.code === 'ENOENT')
      throw new BulwarkError('config.invalid', 'dnf is not installed on this machine; images are built with dnf --installroot', {}, { cause: err });
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    throw new BulwarkError(
      'input.invalid',
      `dnf ${argv
        .slice(argv.indexOf('--nogpgcheck') + 1)
        .slice(0, 3)
        .join(' ')}… failed:\n${out}`,
      {},
      { cause: err },
    );
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
    if (missing.length > 0)
      throw new BulwarkError('input.invalid', `remove: ${missing.join(', ')} not in the image (no installed package has that name or provides it)`);
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
  const { stdout } = await run('rpm', ['--root', root, ...inv.argv.slice(3, inv.argv.indexOf('-qa')), '-qa', '--queryformat', LICENSE_QF], {
    maxBuffer: 64 * 1024 * 1024,
  });
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
  for (const d of ['var/cache/dnf', 'var/lib/dnf', 'var/log/dnf.log', 'var/log/dnf.librepo.log', 'var/log/dnf.rpm.log', 'var/log/hawkey.log'])
    await rm(join(root, d), { recursive: true, force: true });
  await settleRpmDb(join(root, dbpath));
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
      throw new BulwarkError(
        'internal',
        `cannot checkpoint the image's rpm database ${db}: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`,
        {},
        { cause: err },
      );
    }
    // What the checkpoint left (an emptied log) holds nothing the database lacks now.
    const { stdout } = await run('sqlite3', [db, 'PRAGMA integrity_check;']);
    if (stdout.trim() !== 'ok') throw new BulwarkError('internal', `the image's rpm database ${db} does not check: ${stdout.trim().slice(0, 200)}`);
  }
  for (const f of [`${db}-wal`, `${db}-shm`, join(dir, '.rpm.lock'), join(dir, '.dbenv.lock')]) await rm(f, { force: true });
}
