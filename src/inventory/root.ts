import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import type { InstalledPackage } from '../core/target.js';
import { IMAGE_STAMP_PATH, parseImageStamp } from './image-stamp.js';
import { parseOsRelease, releaseFromOsRelease } from './os-release.js';
import { RPM_QA_QUERYFORMAT, parseRpmQa } from './rpm-qa.js';

const run = promisify(execFile);

/**
 * The inventory of a directory tree: an image's unpacked rootfs, a mounted disk, a test host
 * root. The package database is read with the machine's own `rpm --root` (argv only), from
 * where the tree keeps it: /var/lib/rpm (Azure Linux, RHEL ≤ 8), /usr/lib/sysimage/rpm
 * (rpm ≥ 4.16 defaults, Fedora), or the rpm default relative to the root.
 */
export interface RootInventory {
  release: string | null;
  packages: InstalledPackage[];
  /** The argv that was run, for the record. */
  argv: string[];
  /** The Bulwark image build the tree was made from (etc/bulwark-image), if any. */
  image: string | null;
}

function rpmDbPath(root: string): string | null {
  for (const p of ['/usr/lib/sysimage/rpm', '/var/lib/rpm']) {
    const d = join(root, p);
    if (existsSync(join(d, 'rpmdb.sqlite')) || existsSync(join(d, 'Packages')) || existsSync(join(d, 'Packages.db'))) return p;
  }
  return null;
}

/** @example await collectRoot('/srv/images/azl3-rootfs') */
export async function collectRoot(dir: string, opts: { release?: string | undefined } = {}): Promise<RootInventory> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new BulwarkError('input.invalid', `${dir}: no such directory`, { file: dir });
  let release = opts.release ?? null;
  if (release === null) {
    for (const f of ['etc/os-release', 'usr/lib/os-release']) {
      const p = join(root, f);
      if (existsSync(p)) {
        release = releaseFromOsRelease(parseOsRelease(await readFile(p, 'utf8')));
        break;
      }
    }
  }
  const db = rpmDbPath(root);
  const argv = ['rpm', '--root', root, ...(db === null ? [] : ['--dbpath', db]), '-qa', '--queryformat', RPM_QA_QUERYFORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')];
  let stdout: string;
  try {
    ({ stdout } = await run(argv[0] ?? 'rpm', argv.slice(1), { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new BulwarkError('input.invalid', `${dir}: rpm could not read the package database: ${e.code === 'ENOENT' ? 'rpm is not installed' : (e.stderr ?? e.message).trim().split('\n')[0] ?? ''}`, { file: dir }, { cause: err });
  }
  const stamp = join(root, IMAGE_STAMP_PATH);
  const image = existsSync(stamp) ? parseImageStamp(await readFile(stamp, 'utf8')) : null;
  return { release, packages: parseRpmQa(stdout, `rpm --root ${dir}`), argv, image };
}
