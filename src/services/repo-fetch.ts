import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BulwarkError } from '../core/errors.js';
import { download } from '../lib/http.js';
import { redactLocation } from '../lib/location.js';
import { readBoundedBytes } from './read-file.js';

// Reading a repository's files (issue #7), for sync and mirror.

/** The largest file taken from a repository. */
export const MAX_FILE = 2 * 1024 * 1024 * 1024;
export const sha = (alg: string, b: Uint8Array): string => createHash(alg).update(b).digest('hex');

/** Bytes at a repository URL: http(s), file:// or a local path. */
export async function fetchBytes(url: string, maxBytes: number, optional = false): Promise<Buffer | null> {
  if (/^https?:\/\//.test(url)) {
    const tmp = join(tmpdir(), `bulwark-repo-${randomBytes(6).toString('hex')}`);
    try {
      // Repositories are configured with the CLI only, and mirrors are often on the own network by name.
      const r = await download(url, tmp, { maxBytes, reach: 'any' });
      if (r.status !== 'ok') throw new BulwarkError('input.invalid', `${redactLocation(url)}: no content`);
      return await readFile(tmp);
    } catch (err) {
      if (optional && /\b404\b/.test((err as Error).message)) return null;
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  try {
    // Only a regular file, its limit counted while it is read (a symlink to /dev/zero, a FIFO).
    return await readBoundedBytes(path, maxBytes);
  } catch (err) {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    if (optional && cause?.code === 'ENOENT') return null;
    throw err;
  }
}

export const join2 = (base: string, rel: string): string => `${base.replace(/\/+$/, '')}/${rel}`;
