import { createReadStream, createWriteStream, mkdtempSync, openSync, rmSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ByteChunks, wholeChars } from './byte-chunks.js';

/**
 * Text written now and read back later, on disk instead of in memory: the part of a streamed
 * report that comes after something only known at its end (the HTML report's counts come before
 * its table, a VEX's components before its vulnerabilities). Writes are buffered; the file is
 * removed by `dispose`.
 * @example const s = new Spool(); await s.write('a'); for await (const c of s.chunks()) …; s.dispose();
 */
export class Spool {
  private readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-spool-'));
  private readonly path = join(this.dir, 'spool');
  // Opened now (not lazily by the stream), so that disposing of an unused spool races nothing.
  // Up to a megabyte waits in the stream before a write waits for it: the disk writes while the caller computes.
  private readonly out: WriteStream = createWriteStream('', { fd: openSync(this.path, 'w', 0o600), highWaterMark: 1 << 20 });
  private readonly buf = new ByteChunks();
  private ended = false;
  /** Characters written. */
  length = 0;

  async write(s: string): Promise<void> {
    if (this.add(s)) await this.drain();
  }

  /**
   * Adds text without a wait: true when full chunks wait to be written (then await `drain`).
   * Many small pieces added this way are encoded as they come; gathered into one large string
   * first, they would be copied flat into a large object before being encoded (lib/byte-chunks.ts).
   */
  add(s: string): boolean {
    this.length += s.length;
    return this.buf.add(s);
  }

  /** Writes the full chunks that wait (after `add` said so). */
  drain(): Promise<void> {
    return this.flush(false);
  }

  private async flush(all: boolean): Promise<void> {
    for (const b of this.buf.take(all)) if (!this.out.write(b)) await drained(this.out);
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.flush(true);
    await endStream(this.out);
  }

  /** What was written, in chunks of UTF-8 that each end with a whole character (no more writes after). */
  async *chunks(): AsyncGenerator<Buffer> {
    await this.end();
    yield* wholeChars(createReadStream(this.path, { highWaterMark: 1 << 16 }));
  }

  /** What was written, line by line (no more writes after). */
  async *lines(): AsyncGenerator<string> {
    await this.end();
    yield* createInterface({ input: createReadStream(this.path, { encoding: 'utf8' }), crlfDelay: Infinity });
  }

  dispose(): void {
    if (!this.ended) this.out.destroy();
    this.ended = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Ends a writable stream; resolves when all was written, rejects on its error. */
export function endStream(w: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    w.end((err?: Error | null) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Resolves when a stream that refused a write can take more; rejects on its error (no listener left behind either way). */
export function drained(w: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      w.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      w.off('drain', onDrain);
      reject(err);
    };
    w.once('drain', onDrain);
    w.once('error', onError);
  });
}
