import { describe, expect, it } from 'vitest';
import { BucketSpool } from './bucket-spool.js';

async function text(b: BucketSpool, bucket: number): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const t of b.read(bucket)) parts.push(t);
  return Buffer.concat(parts).toString('utf8');
}

describe('BucketSpool', () => {
  it.each([
    ['in memory', 1 << 20],
    ['spilled to disk many times', 7],
  ])('gives each bucket its text in the order added (%s)', async (_, limit) => {
    const b = new BucketSpool(limit);
    const want = new Map<number, string>();
    try {
      for (let i = 0; i < 500; i++) {
        const bucket = (i * 7) % 13;
        const piece = `${String(i)}é,`;
        await b.add(bucket, piece);
        want.set(bucket, (want.get(bucket) ?? '') + piece);
      }
      for (let bucket = 0; bucket < 14; bucket++) expect(await text(b, bucket)).toBe(want.get(bucket) ?? '');
    } finally {
      await b.dispose();
    }
  });

  it('spills more buckets at once than one writev takes (1,024 buffers), through put', async () => {
    const b = new BucketSpool(40_000);
    const want = new Map<number, string>();
    try {
      for (let i = 0; i < 9000; i++) {
        // 3,000 buckets hold text when the memory is full: a spill of 3,000 chunks.
        const bucket = (i * 7) % 3000;
        const piece = `${String(i)}é;`;
        const spilling = b.put(bucket, piece);
        if (spilling !== undefined) await spilling;
        want.set(bucket, (want.get(bucket) ?? '') + piece);
      }
      for (let bucket = 0; bucket < 3000; bucket++) expect(await text(b, bucket)).toBe(want.get(bucket));
    } finally {
      await b.dispose();
    }
  });

  it('counts a bucket read back no longer towards its memory', async () => {
    const b = new BucketSpool(100);
    try {
      expect(b.put(0, 'x'.repeat(90))).toBeUndefined();
      expect(await text(b, 0)).toBe('x'.repeat(90));
      // 90 bytes wait, not 180: no spill.
      expect(b.put(1, 'y'.repeat(90))).toBeUndefined();
      expect(b.spills).toBe(0);
      expect(await text(b, 1)).toBe('y'.repeat(90));
    } finally {
      await b.dispose();
    }
  });
});
