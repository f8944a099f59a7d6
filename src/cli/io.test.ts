import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { quietWhenClosed, writeAll } from './io.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-io-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A stdout whose reader has gone: every write fails with EPIPE, as a pipe's does. */
function closedPipe(): Writable {
  return new Writable({
    highWaterMark: 1,
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }));
    },
  });
}

describe('a closed standard output', () => {
  it('writeAll ends quietly on EPIPE and drops what is written later', async () => {
    const out = quietWhenClosed(closedPipe());
    await expect(writeAll(out, 'first line\n')).resolves.toBeUndefined();
    await expect(writeAll(out, 'second line\n')).resolves.toBeUndefined();
  });

  it('any other write error still fails', async () => {
    const out = quietWhenClosed(
      new Writable({
        highWaterMark: 1,
        write(_chunk, _enc, cb) {
          cb(Object.assign(new Error('write ENOSPC'), { code: 'ENOSPC' }));
        },
      }),
    );
    await expect(writeAll(out, 'x\n')).rejects.toThrow('ENOSPC');
  });

  // `bulwark scan … | head -1` ended with "internal error: Error: write EPIPE" and exit 70. The
  // reading end is closed before the process starts, so every write it makes meets EPIPE.
  it('bulwark scan into a closed pipe exits with the scan verdict and says nothing', async () => {
    const inv = join(dir, 'host.tsv');
    writeFileSync(inv, 'golang\t0\t1.20.6\t1.azl3\tx86_64\tgolang-1.20.6-1.azl3.src.rpm\n');
    const oval = join(import.meta.dirname, '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../../test/bulwark-process.ts'), 'scan', '--inventory', inv, '--feed', oval, '--fail-on', 'medium'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.on('close', (c) => {
        resolve(c);
      }),
    );
    expect(err).not.toMatch(/EPIPE|internal error/);
    // 1: --fail-on medium found the golang finding, as it does with a reader.
    expect(code).toBe(1);
  });
});
