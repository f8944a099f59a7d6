import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr, env: {} });
  return { code, out, err };
}

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
