import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { requires, tool } from '../../test/needs.js';
import { collectBytes, decompress, detectCompression } from './decompress.js';

const TEXT = Buffer.from('<oval_definitions>' + 'x'.repeat(200_000) + '</oval_definitions>\n');

function compress(kind: 'gzip' | 'xz' | 'bzip2' | 'zstd', data: Buffer): Buffer {
  if (kind === 'gzip') return gzipSync(data);
  return execFileSync(kind, kind === 'zstd' ? ['-q', '-c'] : ['-c'], { input: data, maxBuffer: 1 << 26 });
}

async function* chunked(b: Buffer, size = 4096): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const kinds = ['gzip', 'xz', 'bzip2', 'zstd'] as const;
// gzip is node's own zlib; each other case needs its real tool (in CI a missing one fails by name,
// elsewhere its cases are skipped and counted).
const each = (name: string, fn: (kind: (typeof kinds)[number]) => Promise<void>): void => {
  for (const kind of kinds) requires(kind === 'gzip' ? [] : [tool(kind)]).it(name.replace('%s', kind), () => fn(kind));
};

describe('decompress', () => {
  each('recognises %s by its magic bytes and round-trips through the real tool', async (kind) => {
    const packed = compress(kind, TEXT);
    expect(detectCompression(packed)).toBe(kind);
    expect(await collectBytes(decompress(chunked(packed), 'f', 1 << 24), 'f', 1 << 24)).toEqual(TEXT);
  });

  each('refuses truncated %s data with a clear error', async (kind) => {
    const packed = compress(kind, TEXT);
    await expect(collectBytes(decompress(chunked(packed.subarray(0, Math.floor(packed.length / 2))), 'feed.x', 1 << 24), 'feed.x', 1 << 24)).rejects.toThrow(
      new RegExp(`feed\\.x: ${kind} data is corrupt or truncated`),
    );
  });

  each("gives %s's reason for corrupt data in one line, without the tool's advice", async (kind) => {
    const packed = Buffer.from(compress(kind, TEXT));
    for (let i = 20; i < packed.length - 8; i += 7) packed[i] = (packed[i] ?? 0) ^ 0x5a;
    const err = await collectBytes(decompress(chunked(packed), 'feed.x', 1 << 24), 'feed.x', 1 << 24).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`^feed\\.x: ${kind} data is corrupt or truncated \\([^\\n]+\\)$`));
    expect(err?.message).not.toMatch(/stdin|bzip2recover/);
  });

  each('stops a %s bomb at the size limit', async (kind) => {
    const bomb = compress(kind, Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await expect(collectBytes(decompress(chunked(bomb), 'bomb', 1024 * 1024), 'bomb', 1 << 30)).rejects.toThrow(
      /bomb: more than 1048576 bytes after .* decompression/,
    );
  });

  each('lets a consumer stop reading %s early without leaving the decoder behind', async (kind) => {
    const packed = compress(kind, Buffer.concat(Array.from({ length: 40 }, () => TEXT)));
    for await (const chunk of decompress(chunked(packed), 'f', 1 << 30)) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    // Reaching here means the generator's cleanup ran (a leaked decoder would keep this file's worker alive).
  });

  it('passes plain data through', async () => {
    expect(detectCompression(TEXT)).toBe('none');
    expect(await collectBytes(decompress(chunked(TEXT), 'f', 1 << 24), 'f', 1 << 24)).toEqual(TEXT);
    await expect(collectBytes(decompress(chunked(TEXT), 'f', 1000), 'f', 1 << 24)).rejects.toThrow(/f: more than 1000 bytes \(the limit\)/);
  });
});
