/**
 * Text encoded as UTF-8 into byte chunks of about `size` bytes as it is added (issue #14: a
 * report of a fleet is hundreds of megabytes written in small pieces). Gathering the pieces as
 * one string instead builds a tree of concatenations that is copied flat when written, and a
 * string with a single two-byte piece is flattened at two bytes a character: past 64 Ki
 * characters that copy is a large object, a fresh mapping of memory each time. Here each piece
 * is encoded once, into the chunk being filled; a full chunk is handed out as it is (never
 * written again), so a stream may keep it until it is written.
 * @example const c = new ByteChunks(); if (c.add(line)) for (const b of c.take()) await sink(b);
 */
export class ByteChunks {
  private buf: Buffer;
  private at = 0;
  private ready: Buffer[] = [];
  /** Bytes in the chunks handed out or ready, and in the one being filled. */
  bytes = 0;

  constructor(private readonly size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Adds text; true when a chunk is full (take it). */
  add(s: string): boolean {
    // At most 3 bytes a UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    if (this.at + s.length * 3 > this.buf.length) this.next(s.length * 3);
    const n = this.buf.write(s, this.at, 'utf8');
    this.at += n;
    this.bytes += n;
    return this.ready.length > 0;
  }

  /** Adds bytes (whole UTF-8 characters); true when a chunk is full. */
  addBytes(b: Uint8Array): boolean {
    if (this.at + b.length > this.buf.length) this.next(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    this.bytes += b.length;
    return this.ready.length > 0;
  }

  /** The chunk being filled is full: a new one, of at least `need` bytes. */
  private next(need: number): void {
    if (this.at > 0) this.ready.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(this.size, need));
    this.at = 0;
  }

  /** The full chunks (with `all`, the one being filled too), handed out once. */
  take(all = false): Buffer[] {
    if (all && this.at > 0) {
      this.ready.push(this.buf.subarray(0, this.at));
      this.buf = this.buf.subarray(this.at);
      this.at = 0;
      if (this.buf.length < 1024) this.buf = Buffer.allocUnsafe(this.size);
    }
    const r = this.ready;
    this.ready = [];
    return r;
  }
}

/** How many bytes a UTF-8 character takes, by its first byte (1 for a stray continuation byte). */
function charBytes(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/**
 * Chunks of UTF-8 cut so that each ends with a whole character (a character split between two
 * reads goes out with the second): what a reader that decodes chunk by chunk needs.
 * @example for await (const b of wholeChars(createReadStream(path))) …
 */
export async function* wholeChars(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  for await (const c of chunks) {
    const b: Buffer = carry === null ? c : Buffer.concat([carry, c]);
    if (b.length === 0) continue;
    // The last character's first byte: at most 3 continuation bytes (10xxxxxx) back.
    let start = b.length - 1;
    while (start > 0 && start > b.length - 4 && ((b[start] as number) & 0xc0) === 0x80) start--;
    const whole = start >= 0 && start + charBytes(b[start] as number) <= b.length ? b.length : start;
    carry = whole < b.length ? b.subarray(whole) : null;
    if (whole > 0) yield b.subarray(0, whole);
  }
  if (carry !== null) yield carry;
}
