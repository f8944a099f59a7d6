import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { drained, endStream } from './spool.js';

/**
 * Sorting more items than memory should hold (issue #14: a report of a whole fleet): items are
 * added one by one; every `runSize` of them are sorted and written to a temporary file as one
 * line each (a "run"); `drain` merges the runs with a heap, reading each file as a stream. Up to
 * `runSize` items, nothing touches the disk. `compare` must be a total order (no two items equal)
 * for the result not to depend on the runs; the files are removed when drained or disposed.
 * @example const s = new ExternalSorter<number>((a, b) => a - b); for (const x of xs) await s.add(x); for await (const x of s.drain()) …
 */
export class ExternalSorter<T> {
  private buffer: T[] = [];
  private readonly runs: string[] = [];
  private dir: string | null = null;
  private readonly runSize: number;
  private readonly encode: (x: T) => string;
  private readonly decode: (line: string) => T;

  constructor(
    private readonly compare: (a: T, b: T) => number,
    o: { runSize?: number; encode?: (x: T) => string; decode?: (line: string) => T } = {},
  ) {
    this.runSize = o.runSize ?? 20_000;
    this.encode = o.encode ?? ((x) => JSON.stringify(x));
    this.decode = o.decode ?? ((l) => JSON.parse(l) as T);
  }

  /** How many items have been written to disk so far. */
  spilled = 0;

  /** Adds an item; returns a promise only when a run is being written (await it then). */
  add(x: T): Promise<void> | undefined {
    this.buffer.push(x);
    return this.buffer.length >= this.runSize ? this.spill() : undefined;
  }

  private async spill(): Promise<void> {
    this.buffer.sort(this.compare);
    this.dir ??= mkdtempSync(join(tmpdir(), 'bulwark-sort-'));
    const path = join(this.dir, `run-${String(this.runs.length)}`);
    const out = createWriteStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
    let chunk = '';
    for (const x of this.buffer) {
      chunk += this.encode(x) + '\n';
      if (chunk.length > 1 << 18) {
        await write(out, chunk);
        chunk = '';
      }
    }
    await write(out, chunk);
    await endStream(out);
    this.spilled += this.buffer.length;
    this.runs.push(path);
    this.buffer = [];
  }

  /** Every item added, in order; the sorter is empty (and its files gone) afterwards. */
  async *drain(): AsyncGenerator<T> {
    try {
      this.buffer.sort(this.compare);
      if (this.runs.length === 0) {
        const b = this.buffer;
        this.buffer = [];
        yield* b;
        return;
      }
      const sources: (() => Promise<T | undefined>)[] = this.runs.map((path) => {
        const it = createInterface({ input: createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 18 }), crlfDelay: Infinity })[
          Symbol.asyncIterator
        ]();
        return async () => {
          const n = await it.next();
          return n.done === true ? undefined : this.decode(n.value);
        };
      });
      const mem = this.buffer;
      this.buffer = [];
      let i = 0;
      sources.push(() => Promise.resolve(i < mem.length ? mem[i++] : undefined));
      // A binary heap of (item, source) by `compare`.
      const heap: { x: T; s: number }[] = [];
      const up = (k: number): void => {
        while (k > 0) {
          const p = (k - 1) >> 1;
          if (this.compare((heap[k] as { x: T }).x, (heap[p] as { x: T }).x) >= 0) break;
          [heap[k], heap[p]] = [heap[p] as { x: T; s: number }, heap[k] as { x: T; s: number }];
          k = p;
        }
      };
      const down = (k: number): void => {
        for (;;) {
          const l = 2 * k + 1;
          const r = l + 1;
          let m = k;
          if (l < heap.length && this.compare((heap[l] as { x: T }).x, (heap[m] as { x: T }).x) < 0) m = l;
          if (r < heap.length && this.compare((heap[r] as { x: T }).x, (heap[m] as { x: T }).x) < 0) m = r;
          if (m === k) return;
          [heap[k], heap[m]] = [heap[m] as { x: T; s: number }, heap[k] as { x: T; s: number }];
          k = m;
        }
      };
      for (let s = 0; s < sources.length; s++) {
        const x = await (sources[s] as () => Promise<T | undefined>)();
        if (x !== undefined) {
          heap.push({ x, s });
          up(heap.length - 1);
        }
      }
      while (heap.length > 0) {
        const top = heap[0] as { x: T; s: number };
        yield top.x;
        const next = await (sources[top.s] as () => Promise<T | undefined>)();
        if (next !== undefined) {
          heap[0] = { x: next, s: top.s };
        } else {
          const last = heap.pop() as { x: T; s: number };
          if (heap.length === 0) break;
          heap[0] = last;
        }
        down(0);
      }
    } finally {
      this.dispose();
    }
  }

  /**
   * Every item added, in order, in arrays of up to `size` (the whole run at once when nothing was
   * spilled): for callers that handle many items per await. The sorter is empty afterwards.
   */
  async *drainBatches(size = 2000): AsyncGenerator<T[]> {
    if (this.runs.length === 0) {
      const b = this.buffer.sort(this.compare);
      this.buffer = [];
      if (b.length > 0) yield b;
      return;
    }
    let out: T[] = [];
    for await (const x of this.drain()) {
      out.push(x);
      if (out.length >= size) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  }

  /** Removes the temporary files (drain does it too). */
  dispose(): void {
    this.buffer = [];
    this.runs.length = 0;
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

function write(out: WriteStream, s: string): Promise<void> {
  if (s === '') return Promise.resolve();
  return out.write(s) ? Promise.resolve() : drained(out);
}
