import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The public data set beside the repository (../shared/data, see its README). Tests that read
 * it skip with a message when it is absent (a fresh clone on its own) and run in CI, where it is.
 * BULWARK_SHARED_DATA overrides the location.
 */
export const SHARED_DATA = resolve(process.env['BULWARK_SHARED_DATA'] ?? join(import.meta.dirname, '..', '..', 'shared', 'data'));

export function sharedData(...parts: string[]): string | null {
  const p = join(SHARED_DATA, ...parts);
  if (existsSync(p)) return p;
  console.warn(`skipping tests that need ${p}: not present (../shared/data is beside the repository in CI)`);
  return null;
}
