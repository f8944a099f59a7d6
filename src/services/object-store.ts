import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BulwarkError } from '../core/errors.js';

/** The content-addressed object store of repository files and packages (issue #7). */
const sha = (alg: string, b: Uint8Array): string => createHash(alg).update(b).digest('hex');

/** Where objects live: `<dir>/sha256/ab/abcdef…`, written once, never changed. */
export async function putObject(dir: string, bytes: Uint8Array): Promise<string> {
  const hash = sha('sha256', bytes);
  const path = join(dir, 'sha256', hash.slice(0, 2), hash);
  try {
    await stat(path);
    return hash;
  } catch {
    // not there yet
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, bytes, { mode: 0o444 });
  await rename(tmp, path);
  return hash;
}

export function objectPath(dir: string, sha256: string): string {
  // The key comes from repository metadata: never a path.
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new BulwarkError('input.invalid', `"${sha256.slice(0, 80)}" is not a SHA-256`);
  return join(dir, 'sha256', sha256.slice(0, 2), sha256);
}
