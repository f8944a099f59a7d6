import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { feedDocuments } from './archive.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-archive-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function* bytes(b: Buffer): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
}

async function docs(b: Buffer, name = 'in'): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const d of feedDocuments(bytes(b), name, { maxDocumentBytes: 1 << 20, maxTotalBytes: 1 << 24 })) {
    const parts: Buffer[] = [];
    for await (const c of d.bytes) parts.push(Buffer.from(c));
    out.push([d.name, Buffer.concat(parts).toString('utf8')]);
  }
  return out;
}

/** A zip with stored (uncompressed) members, written by hand (APPNOTE.TXT 4.3): no zip tool needed. */
function storedZip(files: [string, string][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of files) {
    const data = Buffer.from(text);
    const fname = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fname.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fname.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += 30 + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('feedDocuments', () => {
  it('yields a plain file as one document', async () => {
    expect(await docs(Buffer.from('{"a":1}'), 'x.json')).toEqual([['x.json', '{"a":1}']]);
  });

  it('opens a compressed tar made by the real tar, one document per .json/.xml member', async () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'advisories', 'almalinux9'), { recursive: true });
    writeFileSync(join(root, 'advisories', 'almalinux9', 'ALSA-2024:1.json'), '{"id":"ALSA-2024:1"}');
    writeFileSync(join(root, 'advisories', 'almalinux9', 'ALSA-2024:2.json'), '{"id":"ALSA-2024:2"}');
    writeFileSync(join(root, 'README.md'), 'not a document');
    writeFileSync(join(root, 'advisories', '.hidden.json'), '{}');
    const tgz = join(dir, 'a.tar.gz');
    execFileSync('tar', ['-czf', tgz, '-C', root, '.']);
    const got = await docs(readFileSync(tgz), 'a.tar.gz');
    expect(got.map(([n]) => n).sort()).toEqual(['a.tar.gz:./advisories/almalinux9/ALSA-2024:1.json', 'a.tar.gz:./advisories/almalinux9/ALSA-2024:2.json']);
    expect(got.map(([, t]) => t).sort()).toEqual(['{"id":"ALSA-2024:1"}', '{"id":"ALSA-2024:2"}']);
  });

  it('opens a zip (osv.dev all.zip) one member at a time', async () => {
    const zip = storedZip([
      ['RLSA-2024:1.json', '{"id":"RLSA-2024:1"}'],
      ['notes.txt', 'skip me'],
      ['RLSA-2024:2.json', '{"id":"RLSA-2024:2"}'],
    ]);
    expect(await docs(zip, 'all.zip')).toEqual([
      ['all.zip:RLSA-2024:1.json', '{"id":"RLSA-2024:1"}'],
      ['all.zip:RLSA-2024:2.json', '{"id":"RLSA-2024:2"}'],
    ]);
  });

  it('refuses a truncated tar and a damaged zip with errors naming the input', async () => {
    const root = join(dir, 'big');
    mkdirSync(root, { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(root, `d${String(i)}.json`), JSON.stringify({ id: i, pad: 'y'.repeat(5000) }));
    const tar = execFileSync('tar', ['-cf', '-', '-C', root, '.'], { maxBuffer: 1 << 24 });
    await expect(docs(tar.subarray(0, Math.floor(tar.length / 2) + 100), 'cut.tar')).rejects.toThrow(/cut\.tar: not a readable tar archive/);
    const zip = storedZip([['a.json', '{}']]);
    await expect(docs(zip.subarray(0, zip.length - 10), 'bad.zip')).rejects.toThrow(/bad\.zip: not a readable zip archive/);
  });
});
