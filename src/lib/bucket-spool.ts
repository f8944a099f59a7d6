import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteChunks } from './byte-chunks.js';

/**
 * Text gathered into numbered buckets and read back bucket by bucket, each in the order it was
 * added, in bounded memory (issue #14: a VEX lists every finding of an advisory together, while
 * the findings come in another order). Up to `limit` bytes wait in memory; beyond it every
 * bucket's waiting text is appended to one temporary file as a segment of its own, and `read`
 * gives a bucket's segments, then what still waits. No comparison sort: a bucket is an append.
 * @example const b = new BucketSpool(); await b.add(1, 'x'); await b.add(0, 'y'); for await (const s of b.read(0)) …; b.dispose();
 */
export class BucketSpool {
  // Encoded as it is added (lib/byte-chunks.ts): text kept as strings until a spill is promoted
  // out of the young generation and left behind as garbage in the old one, spill after spill.
  private readonly waiting = new Map<number, ByteChunks>();
  private waitingBytes = 0;
  private readonly segments = new Map<number, { at: number; bytes: number }[]>();
  private dir: string | null = null;
  private file: FileHandle | null = null;
  private end = 0;
  /** How many times the memory was full and went to disk. */
  spills = 0;

  /** `limit`: bytes (of UTF-8) waiting in memory at most. */
  constructor(private readonly limit = 1 << 22) {}

  /** Adds text to a bucket; resolves once it is stored (at once unless the memory was full). */
  async add(bucket: number, text: string): Promise<void> {
    await this.put(bucket, text);
  }

  /** add without an await per text: a promise only when the memory was full (await it before the next). */
  put(bucket: number, text: string): Promise<void> | undefined {
    return this.putWith(bucket, (c) => c.add(text));
  }

  /** put of what `write` adds to the bucket's chunks (text, or bytes of whole characters). */
  putWith(bucket: number, write: (c: ByteChunks) => unknown): Promise<void> | undefined {
    let w = this.waiting.get(bucket);
    if (w === undefined) this.waiting.set(bucket, (w = new ByteChunks(Math.min(1 << 14, this.limit))));
    const before = w.bytes;
    write(w);
    this.waitingBytes += w.bytes - before;
    return this.waitingBytes >= this.limit ? this.spill() : undefined;
  }

  private async spill(): Promise<void> {
    this.spills++;
    if (this.file === null) {
      this.dir = mkdtempSync(join(tmpdir(), 'bulwark-buckets-'));
      this.file = await open(join(this.dir, 'buckets'), 'w+', 0o600);
    }
    // Every bucket's chunks in one write (a call and a wait per chunk cost more than the bytes).
    const all: Buffer[] = [];
    const at = this.end;
    for (const [bucket, w] of this.waiting) {
      const start = this.end;
      for (const b of w.take(true)) {
        all.push(b);
        this.end += b.length;
      }
      let s = this.segments.get(bucket);
      if (s === undefined) this.segments.set(bucket, (s = []));
      s.push({ at: start, bytes: this.end - start });
    }
    for (let i = 0, pos = at; i < all.length;) {
      // writev takes at most IOV_MAX (1024) buffers, and may write fewer bytes than asked.
      const { bytesWritten } = await this.file.writev(all.slice(i, i + 1024), pos);
      if (bytesWritten === 0) throw new Error('bucket spool: the temporary file takes no more bytes');
      pos += bytesWritten;
      for (let left = bytesWritten; left > 0 && i < all.length;) {
        const b = all[i] as Buffer;
        if (b.length <= left) {
          left -= b.length;
          i++;
        } else {
          all[i] = b.subarray(left);
          left = 0;
        }
      }
    }
    this.waiting.clear();
    this.waitingBytes = 0;
  }

  /** A bucket's text, in the order added, in pieces of UTF-8 (each of whole texts as added); read once (what waited in memory is let go). */
  async *read(bucket: number): AsyncGenerator<Buffer> {
    const file = this.file;
    if (file !== null)
      for (const s of this.segments.get(bucket) ?? []) {
        const b = Buffer.allocUnsafe(s.bytes);
        for (let got = 0; got < s.bytes;) {
          const { bytesRead } = await file.read(b, got, s.bytes - got, s.at + got);
          if (bytesRead === 0) throw new Error(`bucket spool: ${String(s.bytes - got)} bytes missing`);
          got += bytesRead;
        }
        yield b;
      }
    const w = this.waiting.get(bucket);
    if (w !== undefined) {
      // What was read no longer counts towards the memory limit.
      this.waiting.delete(bucket);
      this.waitingBytes -= w.bytes;
      yield* w.take(true);
    }
  }

  /** Closes and removes the temporary file. */
  async dispose(): Promise<void> {
    this.waiting.clear();
    const f = this.file;
    this.file = null;
    if (f !== null) await f.close().catch(() => undefined);
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
