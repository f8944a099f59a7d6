import { describe, expect, it } from 'vitest';
import { ByteChunks, wholeChars } from './byte-chunks.js';

/** Pieces of text with one-, two-, three- and four-byte characters, some longer than a chunk. */
function pieces(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 3000; i++) out.push(i % 97 === 0 ? `long ${'é€𝄞x'.repeat(40)} ${String(i)}\n` : `${String(i)},é€𝄞;`);
  return out;
}

async function* from(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield await Promise.resolve(c);
}

describe('ByteChunks', () => {
  it('gives the UTF-8 of the text added, in chunks of about the size asked, each of whole pieces', () => {
    const c = new ByteChunks(256);
    const got: Buffer[] = [];
    let full = 0;
    for (const p of pieces())
      if (c.add(p))
        for (const b of c.take()) {
          full++;
          got.push(b);
        }
    c.addBytes(Buffer.from('the end é'));
    got.push(...c.take(true));
    expect(full).toBeGreaterThan(100);
    expect(Buffer.concat(got).toString('utf8')).toBe(pieces().join('') + 'the end é');
    // Each chunk decodes alone (no character split between two).
    expect(got.map((b) => b.toString('utf8')).join('')).toBe(pieces().join('') + 'the end é');
    for (const b of got.slice(0, -1)) expect(b.length).toBeLessThanOrEqual(256 + 3 * 250);
    expect(c.take(true)).toEqual([]);
  });
});

describe('wholeChars', () => {
  it('cuts chunks split anywhere so that each ends with a whole character', async () => {
    const all = Buffer.from(pieces().join(''), 'utf8');
    for (const size of [2, 3, 7, 1000]) {
      const split: Buffer[] = [];
      for (let at = 0; at < all.length; at += size) split.push(all.subarray(at, at + size));
      let text = '';
      let n = 0;
      for await (const b of wholeChars(from([Buffer.alloc(0), ...split]))) {
        n++;
        // Decoded alone, the chunk has no replacement character.
        const t = b.toString('utf8');
        expect(t.includes('\uFFFD')).toBe(false);
        text += t;
      }
      expect(text).toBe(all.toString('utf8'));
      expect(n).toBeGreaterThan(0);
    }
  });
});
