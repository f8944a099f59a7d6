import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Text gathered into numbered buckets and read back bucket by bucket, each in the order it was
 * added, in bounded memory (issue #14: a VEX lists every finding of an advisory together, while
 * the findings come in another order). Up to `limit` characters wait in memory; beyond it every
 * bucket's waiting text is appended to one temporary file as a segment of its own, and `read`
 * gives a bucket's segments, then what still waits. No comparison sort: a bucket is an append.
 * @example const b = new BucketSpool(); await b.add(1, 'x'); await b.add(0, 'y'); for await (const s of b.read(0)) …; b.dispose();
 */
export class BucketSpool {
  private readonly waiting = new Map<number, string[]>();
  private waitingChars = 0;
  private readonly segments = new Map<number, { at: number; bytes: number }[]>();
  private dir: string | null = null;
  private file: FileHandle | null = null;
  private end = 0;

  constructor(private readonly limit = 1 << 22) {}

  /** Adds text to a bucket; resolves once it is stored (at once unless the memory was full). */
  async add(bucket: number, text: string): Promise<void> {
    let w = this.waiting.get(bucket);
    if (w === undefined) this.waiting.set(bucket, (w = []));
    w.push(text);
    this.waitingChars += text.length;
    if (this.waitingChars >= this.limit) await this.spill();
  }

  private async spill(): Promise<void> {
    if (this.file === null) {
      this.dir = mkdtempSync(join(tmpdir(), 'bulwark-buckets-'));
      this.file = await open(join(this.dir, 'buckets'), 'w+', 0o600);
    }
    for (const [bucket, parts] of this.waiting) {
      const b = Buffer.from(parts.join(''), 'utf8');
      await this.file.write(b, 0, b.length, this.end);
      let s = this.segments.get(bucket);
      if (s === undefined) this.segments.set(bucket, (s = []));
      s.push({ at: this.end, bytes: b.length });
      this.end += b.length;
    }
    this.waiting.clear();
    this.waitingChars = 0;
  }

  /** A bucket's text, in the order added, in pieces. */
  async *read(bucket: number): AsyncGenerator<string> {
    const file = this.file;
    if (file !== null)
      for (const s of this.segments.get(bucket) ?? []) {
        const b = Buffer.allocUnsafe(s.bytes);
        for (let got = 0; got < s.bytes;) {
          const { bytesRead } = await file.read(b, got, s.bytes - got, s.at + got);
          if (bytesRead === 0) throw new Error(`bucket spool: ${String(s.bytes - got)} bytes missing`);
          got += bytesRead;
        }
        yield b.toString('utf8');
      }
    const w = this.waiting.get(bucket);
    if (w !== undefined) yield w.join('');
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
