import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * .ci/run, as CI runs it, on a checkout whose scripts/test.sh is a stand-in printing what the real
 * one would: the closing line keeps the skipped count, and the exit status follows the tests.
 */
describe('.ci/run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ci-run-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(dir, '.ci'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(import.meta.dirname, '..', '.ci', 'run'), join(dir, '.ci', 'run'));
  const ciRun = (testSh: string): { last: string; code: number | null } => {
    writeFileSync(join(dir, 'scripts', 'test.sh'), testSh);
    const r = spawnSync('bash', [join(dir, '.ci', 'run')], { encoding: 'utf8' });
    return { last: r.stdout.trim().split('\n').pop() ?? '', code: r.status };
  };

  it.each([
    ['a green run with skipped tests', 'echo "12 passed, 0 failed, 3 skipped"\necho "suite took 5 s"', '12 passed, 0 failed, 3 skipped', 0],
    ['a run with failures', 'echo "10 passed, 2 failed, 1 skipped"\nexit 1', '10 passed, 2 failed, 1 skipped', 1],
    ['tests that passed under a command that failed afterwards', 'echo "10 passed, 0 failed, 0 skipped"\nexit 3', '10 passed, 1 failed, 0 skipped', 1],
    ['a failure before the tests', 'echo "npm ci failed"\nexit 1', '0 passed, 1 failed, 0 skipped', 1],
    ['an older two-count line', 'echo "7 passed, 0 failed"', '7 passed, 0 failed, 0 skipped', 0],
  ] as const)('%s', (_what, testSh, line, code) => {
    expect(ciRun(testSh)).toEqual({ last: line, code });
  });
});
