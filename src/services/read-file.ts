import { open, stat } from 'node:fs/promises';
import { BulwarkError } from '../core/errors.js';

/** The error for a file that cannot be opened: names the file and the reason (ENOENT, EACCES…). */
export function cannotRead(path: string, err: unknown): BulwarkError {
  return new BulwarkError('input.invalid', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: path }, { cause: err });
}

/** Throws `cannotRead` unless `path` exists. */
export async function assertReadable(path: string): Promise<void> {
  try {
    await stat(path);
  } catch (err) {
    throw cannotRead(path, err);
  }
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

/** Reads a whole file, refusing one larger than `maxBytes`. */
export async function readBoundedBytes(path: string, maxBytes: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw cannotRead(path, err);
  }
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw new BulwarkError('input.invalid', `${path}: ${String(size)} bytes is more than the limit of ${String(maxBytes)}`, { file: path });
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) throw new BulwarkError('input.invalid', `${path}: more than the limit of ${String(maxBytes)} bytes`, { file: path });
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
