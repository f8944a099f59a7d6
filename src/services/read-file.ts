import { constants as fsConstants, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { BulwarkError } from '../core/errors.js';

/** The error for a file that cannot be opened: names the file and the reason (ENOENT, EACCES…). */
export function cannotRead(path: string, err: unknown): BulwarkError {
  return new BulwarkError(
    'input.invalid',
    `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    { file: path },
    { cause: err },
  );
}

/** Throws `cannotRead` unless `path` exists. */
export async function assertReadable(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
}

/**
 * Throws unless `path` is a regular file (after symlinks): a directory, a device or a FIFO named
 * as a feed is refused by name before any reader opens it.
 */
export function assertRegularFile(path: string): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
  if (!st.isFile()) throw notRegular(path, st);
}

/** Reads a whole file as UTF-8, refusing one larger than `maxBytes` (hostile input is bounded). */
export async function readBoundedText(path: string, maxBytes: number): Promise<string> {
  const bytes = await readBoundedBytes(path, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BulwarkError('input.invalid', `${path}: not valid UTF-8`, { file: path });
  }
}

/**
 * Reads a whole file, refusing one larger than `maxBytes`, and anything but a regular file: a
 * symlink to /dev/zero or a FIFO must not feed or hang a reader (issue #21). The file is opened
 * with O_NONBLOCK (so a FIFO without a writer does not block the open), checked with fstat on
 * that same descriptor (no race with a rename in between), and the limit is counted on the bytes
 * as they are read, not trusted from the size stat gave.
 */
export async function readBoundedBytes(path: string, maxBytes: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path, st);
    if (st.size > maxBytes)
      throw new BulwarkError('input.invalid', `${path}: ${String(st.size)} bytes is more than the limit of ${String(maxBytes)}`, { file: path });
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(1024 * 1024, maxBytes + 1 - total) || 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new BulwarkError('input.invalid', `${path}: more than the limit of ${String(maxBytes)} bytes`, { file: path });
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}

/** The error for a path that is not a regular file (a directory, a device, a FIFO…). */
function notRegular(path: string, st: Stats): BulwarkError {
  return new BulwarkError('input.invalid', `${path}: not a regular file (${fileKind(st)}): refused`, { file: path });
}

function fileKind(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a file';
}

/** The largest inventory file read (services/inventory.ts, services/file-scan.ts). */
export const MAX_INVENTORY_BYTES = 64 * 1024 * 1024;
