import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { BulwarkError } from '../core/errors.js';

/**
 * Decompression by magic bytes (DESIGN.md: gz, xz, bz2, zstd), streaming, with a cap on the
 * decompressed size so that a compression bomb is an error, not an exhausted machine.
 *
 * gzip uses Node's zlib. xz, bzip2 and zstd run the real `xz`, `bzip2` and `zstd` tools with a
 * fixed argv (`-dc`), data only on stdin: they are the reference decoders, stream in constant
 * memory and are faster than any JavaScript port (xz-utils, bzip2 and zstd are Debian packages;
 * the setup scripts install them).
 */
export type Compression = 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'none';

const MAGIC: readonly [Compression, readonly number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/**
 * The compression of a stream from its first bytes.
 * @example detectCompression(Buffer.from([0x1f, 0x8b, 8])) // 'gzip'
 */
export function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of MAGIC) if (magic.every((b, i) => head[i] === b)) return kind;
  return 'none';
}

const TOOLS: Readonly<Record<'xz' | 'bzip2' | 'zstd', { cmd: string; pkg: string }>> = {
  xz: { cmd: 'xz', pkg: 'xz-utils' },
  bzip2: { cmd: 'bzip2', pkg: 'bzip2' },
  zstd: { cmd: 'zstd', pkg: 'zstd' },
};

/**
 * Reads at least `n` bytes (or all there is) from the front: returns them, and a stream that
 * still yields everything (those bytes first).
 */
export async function peek(input: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Buffer; all: AsyncIterable<Uint8Array> }> {
  const it = input[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < n) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    parts.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(parts);
  async function* all(): AsyncGenerator<Uint8Array> {
    // A consumer that stops early must stop the source too (a decompressor process, a file).
    let finished = done;
    try {
      if (head.length > 0) yield head;
      while (!finished) {
        const r = await it.next();
        if (r.done === true) finished = true;
        else yield r.value;
      }
    } finally {
      if (!finished) await it.return?.();
    }
  }
  return { head, all: all() };
}

async function* capped(input: AsyncIterable<Uint8Array>, name: string, maxBytes: number, kind: Compression): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of input) {
    total += chunk.length;
    if (total > maxBytes)
      throw new BulwarkError(
        'input.invalid',
        `${name}: more than ${String(maxBytes)} bytes${kind === 'none' ? '' : ` after ${kind} decompression`} (the limit)`,
        { file: name },
      );
    yield chunk;
  }
}

async function* gunzip(input: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const z = createGunzip();
  const src = Readable.from(input);
  src.on('error', (err) => z.destroy(err));
  src.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof BulwarkError) throw err;
    throw new BulwarkError('input.invalid', `${name}: gzip data is corrupt or truncated (${(err as Error).message})`, { file: name }, { cause: err });
  } finally {
    src.destroy();
  }
}

async function* viaTool(input: AsyncIterable<Uint8Array>, name: string, kind: 'xz' | 'bzip2' | 'zstd'): AsyncGenerator<Uint8Array> {
  const { cmd, pkg } = TOOLS[kind];
  const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<{ code: number | null; err: Error | null }>((resolve) => {
    child.on('error', (err) => {
      resolve({ code: null, err });
    });
    child.on('close', (code) => {
      resolve({ code, err: null });
    });
  });
  // Feed stdin concurrently; a broken pipe (the tool died) surfaces through the exit status.
  let feedError: unknown = null;
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (!child.stdin.write(chunk)) await new Promise<void>((r) => child.stdin.once('drain', r));
      }
    } catch (err) {
      feedError = err;
      child.kill();
    } finally {
      child.stdin.end();
    }
  })();
  child.stdin.on('error', () => undefined);
  let complete = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    await feeding;
    if (feedError !== null) throw feedError instanceof Error ? feedError : new Error('reading the input failed');
    const { code, err } = await exited;
    if (err !== null) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new BulwarkError(
        'input.invalid',
        missing ? `${name}: is ${kind}-compressed and \`${cmd}\` is not installed (Debian package ${pkg})` : `${name}: ${cmd}: ${err.message}`,
        { file: name },
      );
    }
    if (code !== 0)
      throw new BulwarkError('input.invalid', `${name}: ${kind} data is corrupt or truncated (${toolReason(stderr) || `exit ${String(code)}`})`, {
        file: name,
      });
    complete = true;
  } finally {
    if (!complete) child.kill();
  }
}

/**
 * Decompresses a stream whatever its compression (or passes it through), refusing more than
 * `maxBytes` of output.
 *
 * @example for await (const chunk of decompress(createReadStream('feed.xml.xz'), 'feed.xml.xz', 1 << 30)) …
 */
export async function* decompress(input: AsyncIterable<Uint8Array>, name: string, maxBytes: number): AsyncGenerator<Uint8Array> {
  const { head, all: rest } = await peek(input, 6);
  const kind = detectCompression(head);
  const inner = kind === 'none' ? rest : kind === 'gzip' ? gunzip(rest, name) : viaTool(rest, name, kind);
  yield* capped(inner, name, maxBytes, kind);
}

/** Collects a stream into one buffer, refusing more than `maxBytes`. */
export async function collectBytes(input: AsyncIterable<Uint8Array>, name: string, maxBytes: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of input) {
    total += c.length;
    if (total > maxBytes) throw new BulwarkError('input.invalid', `${name}: more than ${String(maxBytes)} bytes (the limit)`, { file: name });
    parts.push(c);
  }
  return Buffer.concat(parts, total);
}

/**
 * The reason a decompressor gives, on its first line, without its name and `(stdin)`: bzip2
 * follows it with a paragraph of advice about bzip2recover that is no use to a feed's reader.
 * @example toolReason('xz: (stdin): File format not recognized\n') // 'File format not recognized'
 */
export function toolReason(stderr: string): string {
  const first = stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  return first
    .trim()
    .replace(/^[^:]*: \(stdin\): /, '')
    .replace(/^\/\*stdin\*\\ : /, '')
    .replace(/^bzip2: /, '');
}
