import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import yauzl from 'yauzl';
import { BulwarkError } from '../core/errors.js';
import { decompress, peek } from './decompress.js';

/**
 * Feed inputs as documents: a plain or compressed file is one document; a tar (plain or
 * compressed, as OSV's bulk dumps are) or a zip (osv.dev's `all.zip`) is one document per
 * member. Everything streams: a tar member is read while the archive is being decompressed, a
 * zip is spooled to a temporary file first (its directory is at the end).
 */
export interface FeedDocument {
  /** `input` for a single document, `input:member/path.json` for an archive member. */
  name: string;
  bytes: AsyncIterable<Uint8Array>;
}

export interface DocumentOptions {
  /** Most bytes of one document after decompression. */
  maxDocumentBytes: number;
  /** Most bytes of a whole archive after decompression. */
  maxTotalBytes: number;
  /** Which archive members are documents (default: `.json` and `.xml` files). */
  member?: (path: string) => boolean;
}

const defaultMember = (p: string): boolean => /\.(json|xml)$/i.test(p) && !p.split('/').some((s) => (s.startsWith('.') && s !== '.') || s === '__MACOSX');

function isTar(head: Buffer): boolean {
  // POSIX ustar and GNU tar both carry "ustar" at offset 257 of the first header block.
  return head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
}

function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

async function* capMember(input: AsyncIterable<Uint8Array>, name: string, max: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const c of input) {
    total += c.length;
    if (total > max) throw new BulwarkError('input.invalid', `${name}: more than ${String(max)} bytes (the limit for one document)`, { file: name });
    yield c;
  }
}

/** Errors while reading a member are the archive's errors: name the archive and say what broke. */
async function* memberErrors(input: AsyncIterable<Uint8Array>, archive: string, kind: 'tar' | 'zip'): AsyncGenerator<Uint8Array> {
  try {
    yield* input;
  } catch (err) {
    if (err instanceof BulwarkError) throw err;
    throw new BulwarkError('input.invalid', `${archive}: not a readable ${kind} archive (${(err as Error).message})`, { file: archive }, { cause: err });
  }
}

async function* tarDocuments(input: AsyncIterable<Uint8Array>, name: string, opts: DocumentOptions): AsyncGenerator<FeedDocument> {
  const ex = tarExtract();
  const src = Readable.from(input);
  src.on('error', (err) => {
    ex.destroy(err);
  });
  src.pipe(ex);
  const member = opts.member ?? defaultMember;
  try {
    for await (const entry of ex) {
      const path = entry.header.name;
      if (entry.header.type !== 'file' || !member(path)) {
        entry.resume();
        continue;
      }
      const doc = {
        name: `${name}:${path}`,
        bytes: capMember(memberErrors(entry as AsyncIterable<Uint8Array>, name, 'tar'), `${name}:${path}`, opts.maxDocumentBytes),
      };
      yield doc;
      // Whatever the consumer left unread must be drained before the next header.
      entry.resume();
    }
  } catch (err) {
    if (err instanceof BulwarkError) throw err;
    throw new BulwarkError('input.invalid', `${name}: not a readable tar archive (${(err as Error).message})`, { file: name }, { cause: err });
  } finally {
    src.destroy();
  }
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err !== null) reject(err);
      else resolve(zip);
    });
  });
}

async function* zipDocuments(input: AsyncIterable<Uint8Array>, name: string, opts: DocumentOptions): AsyncGenerator<FeedDocument> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-zip-'));
  try {
    const file = join(dir, 'archive.zip');
    await pipeline(Readable.from(input), createWriteStream(file));
    let zip: yauzl.ZipFile;
    try {
      zip = await openZip(file);
    } catch (err) {
      throw new BulwarkError('input.invalid', `${name}: not a readable zip archive (${(err as Error).message})`, { file: name }, { cause: err });
    }
    const member = opts.member ?? defaultMember;
    const entries = (async function* () {
      for (;;) {
        const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
          zip.once('entry', resolve);
          zip.once('end', () => {
            resolve(null);
          });
          zip.once('error', reject);
          zip.readEntry();
        });
        zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
        if (entry === null) return;
        yield entry;
      }
    })();
    try {
      for await (const entry of entries) {
        if (entry.fileName.endsWith('/') || !member(entry.fileName)) continue;
        if (entry.uncompressedSize > opts.maxDocumentBytes)
          throw new BulwarkError(
            'input.invalid',
            `${name}:${entry.fileName}: ${String(entry.uncompressedSize)} bytes is more than the limit for one document`,
            { file: name },
          );
        const stream = await new Promise<Readable>((resolve, reject) => {
          zip.openReadStream(entry, (err, s) => {
            if (err !== null) reject(err);
            else resolve(s);
          });
        });
        yield {
          name: `${name}:${entry.fileName}`,
          bytes: capMember(memberErrors(stream as AsyncIterable<Uint8Array>, name, 'zip'), `${name}:${entry.fileName}`, opts.maxDocumentBytes),
        };
        stream.resume();
      }
    } catch (err) {
      if (err instanceof BulwarkError) throw err;
      throw new BulwarkError('input.invalid', `${name}: not a readable zip archive (${(err as Error).message})`, { file: name }, { cause: err });
    } finally {
      zip.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Splits an input into documents: decompresses it (by magic bytes), then opens a tar or zip.
 *
 * @example for await (const doc of feedDocuments(createReadStream(f), f, limits)) for await (const a of parser.parse(doc.bytes, …)) …
 */
export async function* feedDocuments(input: AsyncIterable<Uint8Array>, name: string, opts: DocumentOptions): AsyncGenerator<FeedDocument> {
  const raw = await peek(input, 4);
  if (isZip(raw.head)) {
    yield* zipDocuments(raw.all, name, opts);
    return;
  }
  const plain = await peek(decompress(raw.all, name, opts.maxTotalBytes), 262);
  if (isTar(plain.head)) yield* tarDocuments(plain.all, name, opts);
  else yield { name, bytes: capMember(plain.all, name, opts.maxDocumentBytes) };
}
