import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inCi, type Need } from './needs.js';

/**
 * The public data set beside the repository (../shared/data, see its README). Tests that read
 * it skip with a message when it is absent (a fresh clone on its own) and fail in CI, where it
 * must be. BULWARK_SHARED_DATA overrides the location.
 */
export const SHARED_DATA = resolve(process.env['BULWARK_SHARED_DATA'] ?? join(import.meta.dirname, '..', '..', 'shared', 'data'));

const HOW = '../shared/data is beside the repository in CI; BULWARK_SHARED_DATA names another place';

/**
 * A path in ../shared/data as a test's need (test/needs.ts): `requires(shared('lifecycle.json'))`.
 * `path` is where it is, whether or not it is there.
 * @example const feeds = shared('azurelinux', 'oval'); requires(feeds).describe('…', () => { readdirSync(feeds.path) })
 */
export function shared(...parts: string[]): Need & { path: string } {
  const p = join(SHARED_DATA, ...parts);
  return { what: p, path: p, missing: existsSync(p) ? null : `not present (${HOW})` };
}

/**
 * The path, or null when it is absent; in CI an absence throws, failing the test file with the
 * path's name (no test that needs ../shared/data skips quietly there). New tests use `shared`.
 */
export function sharedData(...parts: string[]): string | null {
  const n = shared(...parts);
  if (n.missing === null) return n.path;
  if (inCi()) throw new Error(`CI needs ${n.path}: ${n.missing}`);
  console.warn(`skipping tests that need ${n.path}: ${n.missing}`);
  return null;
}
