import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { afterAll, describe, expect, it } from 'vitest';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

describe('bulwark run (usage)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-run-'));
  const db = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  it.each([
    [[], /run needs --policy NAME/],
    [['--policy', 'nope'], /no policy named "nope"/],
    [['show', '7'], /no run 7/],
    [['pause'], /run pause needs a run number/],
    [['explode', '1'], /unknown action "explode"/],
  ])('bulwark run %j is refused', async (args, re) => {
    const r = await run('--db', db, 'run', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(re);
  });
});
