import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import { formatImageStamp, IMAGE_STAMP_PATH } from '../inventory/image-stamp.js';

/**
 * What is done to a built root, whichever builder made it (build.ts for rpm, build-deb.ts for
 * apt): the package database removed or kept, the image's stamp and WSL configuration written,
 * and the root packed into a reproducible tar and gzip.
 */
const run = promisify(execFile);

/** Removes the package database (distroless images: RemoveRpmDb). */
export async function removePackageDb(root: string): Promise<void> {
  for (const d of ['var/lib/rpm', 'usr/lib/sysimage/rpm', 'var/lib/dnf', 'var/lib/dpkg', 'var/lib/apt'])
    await rm(join(root, d), { recursive: true, force: true });
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
 * access and change times left out, modification times clamped to `mtime` (the view version's publication time), so the same
 * files give the same tar.
 */
export async function tarRoot(root: string, out: string, mtime: Date): Promise<void> {
  try {
    await run(
      'tar',
      [
        '--create',
        `--file=${out}`,
        `--directory=${root}`,
        '--sort=name',
        '--numeric-owner',
        '--format=posix',
        '--pax-option=delete=atime,delete=ctime',
        `--mtime=@${String(Math.floor(mtime.getTime() / 1000))}`,
        '--clamp-mtime',
        '--xattrs',
        '.',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
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
