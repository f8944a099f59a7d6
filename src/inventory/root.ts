import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import type { InstalledPackage, TargetStreams } from '../core/target.js';
import { collect, type ExecResult, type Transport } from './collector.js';
import { execLocal } from './local.js';

/**
 * The inventory of a directory tree: an image's unpacked rootfs, a mounted disk, a test host
 * root. The package database is read with the machine's own `rpm --root` (or
 * `dpkg-query --admindir`), argv only, from where the tree keeps it: /var/lib/rpm (Azure Linux,
 * RHEL ≤ 8), /usr/lib/sysimage/rpm (rpm ≥ 4.16 defaults, Fedora), or the rpm default relative
 * to the root.
 */
export interface RootInventory {
  release: string | null;
  packages: InstalledPackage[];
  /** The argv that listed the packages, for the record. */
  argv: string[];
  /** The Bulwark image build the tree was made from (etc/bulwark-image), if any. */
  image: string | null;
  /** Its enabled module streams and subscription channels, as its files say. */
  streams: TargetStreams;
}

function rpmDbPath(root: string): string | null {
  for (const p of ['/usr/lib/sysimage/rpm', '/var/lib/rpm']) {
    const d = join(root, p);
    if (existsSync(join(d, 'rpmdb.sqlite')) || existsSync(join(d, 'Packages')) || existsSync(join(d, 'Packages.db'))) return p;
  }
  return null;
}

/**
 * Where `path` is inside the tree, its symbolic links followed as if `root` were `/` (an image's
 * /etc/os-release is usually a link to /usr/lib/os-release: read the image's, not this machine's).
 */
export async function pathInRoot(root: string, path: string): Promise<string> {
  let parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let cur = root;
  for (let hops = 0; parts.length > 0;) {
    const p = parts.shift() as string;
    if (p === '..') {
      if (cur !== root) cur = dirname(cur);
      continue;
    }
    const next = join(cur, p);
    const link = await lstat(next).then(
      (st) => (st.isSymbolicLink() ? readlink(next) : null),
      () => null,
    );
    if (link === null) {
      cur = next;
      continue;
    }
    if (++hops > 40) throw new BulwarkError('input.invalid', `${join(root, path)}: too many levels of symbolic links`);
    if (link.startsWith('/')) cur = root;
    parts = [...link.split('/').filter((x) => x !== '' && x !== '.'), ...parts];
  }
  return cur;
}

const NOT_HERE = (cmd: string): ExecResult => ({ code: 127, stdout: '', stderr: `${cmd}: not available for a directory tree` });

/**
 * A directory tree as a transport: files are read inside it, the package database with the
 * machine's rpm and dpkg-query pointed at it; nothing in the tree is ever run. `argv` collects
 * the package commands run.
 */
export function rootTransport(dir: string, ran: string[][] = []): Transport {
  const root = resolve(dir);
  const db = rpmDbPath(root);
  return {
    id: 'root',
    where: dir,
    live: false,
    failure: { code: 'input.invalid', details: { file: dir } },
    async exec(argv) {
      const [cmd, ...args] = argv;
      if (cmd === 'cat' && args.length === 1 && args[0] !== undefined) {
        try {
          return { code: 0, stdout: await readFile(await pathInRoot(root, args[0]), 'utf8'), stderr: '' };
        } catch (err) {
          return { code: 1, stdout: '', stderr: `cat: ${args[0]}: ${(err as Error).message}` };
        }
      }
      if (cmd === 'ls' && args.length === 2 && args[0] === '-1' && args[1] !== undefined) {
        try {
          return { code: 0, stdout: (await readdir(await pathInRoot(root, args[1]))).sort().join('\n') + '\n', stderr: '' };
        } catch (err) {
          return { code: 2, stdout: '', stderr: `ls: ${args[1]}: ${(err as Error).message}` };
        }
      }
      if (cmd === 'test' && args.length === 2 && args[0] === '-e' && args[1] !== undefined)
        return { code: existsSync(await pathInRoot(root, args[1])) ? 0 : 1, stdout: '', stderr: '' };
      if ((cmd === 'rpm' || cmd === 'dpkg-query') && args.length === 1 && args[0] === '--version') return execLocal(argv);
      let full: string[];
      if (cmd === 'rpm') full = ['rpm', '--root', root, ...(db === null ? [] : ['--dbpath', db]), ...args];
      else if (cmd === 'dpkg-query') full = ['dpkg-query', `--admindir=${join(root, 'var/lib/dpkg')}`, ...args];
      else return NOT_HERE(cmd ?? '');
      ran.push(full);
      return execLocal(full);
    },
  };
}

/** @example await collectRoot('/srv/images/azl3-rootfs') */
export async function collectRoot(dir: string, opts: { release?: string | undefined } = {}): Promise<RootInventory> {
  if (!existsSync(resolve(dir))) throw new BulwarkError('input.invalid', `${dir}: no such directory`, { file: dir });
  const ran: string[][] = [];
  const snap = await collect(rootTransport(dir, ran), { release: opts.release });
  return { release: snap.release, packages: snap.packages, argv: ran.at(-1) ?? [], image: snap.image, streams: snap.streams };
}
