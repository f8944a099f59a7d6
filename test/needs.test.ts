import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * What test/needs.ts does with a missing tool, run for real: the fixture's suites in a vitest of
 * their own, in CI (CI=true) and outside it, read from the closing "N passed, N failed, N skipped"
 * line CI reads and from the messages.
 */
const repo = join(import.meta.dirname, '..');

function runFixture(ci: boolean): { line: string; out: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['CI'];
  if (ci) env['CI'] = 'true';
  const r = spawnSync(
    process.execPath,
    [join(repo, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(repo, 'test', 'fixtures', 'vitest.config.ts')],
    { cwd: repo, env, encoding: 'utf8' },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  return { line: /^\d+ passed, \d+ failed, \d+ skipped$/m.exec(r.stdout)?.[0] ?? `no closing line in: ${out}`, out };
}

describe('a test that needs what is missing', () => {
  it('fails in CI, naming what is missing; the test whose needs are met passes', () => {
    const { line, out } = runFixture(true);
    expect(line).toBe('1 passed, 2 failed, 0 skipped');
    expect(out).toContain(
      '"a suite that needs a missing tool" cannot run in CI: missing bulwark-no-such-tool (bulwark-no-such-tool is not installed or does not run',
    );
    expect(out).toContain('"a test that needs a missing thing" cannot run in CI: missing a thing (it is not here)');
  });

  it('is skipped elsewhere, with a message, and counted as skipped', () => {
    const { line, out } = runFixture(false);
    expect(line).toBe('1 passed, 0 failed, 3 skipped');
    expect(out).toContain('skipping "a suite that needs a missing tool": missing bulwark-no-such-tool');
    expect(out).toContain('skipping "a test that needs a missing thing": missing a thing (it is not here) (in CI this fails)');
  });
});
