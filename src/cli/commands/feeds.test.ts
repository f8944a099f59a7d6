import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../main.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { io: { stdin: new PassThrough(), stdout, stderr, env: {} }, out: () => out, err: () => err };
}

const OVAL = join(import.meta.dirname, '..', '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');

describe('bulwark feeds and advisories', () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-feeds-'));
    db = join(dir, 'b.db');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const run = async (...args: string[]) => {
    const x = io();
    const code = await main(['--db', db, ...args], x.io);
    return { code, out: x.out(), err: x.err() };
  };

  it('lists the catalog, syncs a local copy with a summary, skips it unchanged, and finds advisories by CVE and package', async () => {
    const list = await run('feeds', 'list');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^azurelinux-3\.0-oval\s+oval\s+azurelinux:3\.0\s+catalog\s+never/m);
    const copy = join(dir, 'azl.xml');
    copyFileSync(OVAL, copy);
    const sync = await run('feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', copy);
    expect(sync.code).toBe(0);
    expect(sync.out).toMatch(
      /^azurelinux-3\.0-oval: 3 advisories in 1 document: 3 added, 0 changed, 0 withdrawn, 0 restored, 0 unchanged, 1 skipped-with-warnings, [\d.]+ s; 0 targets re-scanned$/m,
    );
    expect(sync.out).toContain('warning oval:com.microsoft.azurelinux:def:2: ');
    const again = await run('feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', copy);
    expect(again.out).toMatch(/^azurelinux-3\.0-oval: unchanged \([\d.]+ s\)$/m);
    const byCve = await run('advisories', '--cve', 'CVE-2023-29409');
    expect(byCve.out).toMatch(
      /^medium\s+oval:com\.microsoft\.azurelinux:def:1\s+CVE-2023-29409\s+azurelinux:3\.0\s+golang\s+fixed\s+0:1\.20\.7-1\.azl3\s+azurelinux-3\.0-oval$/m,
    );
    const json = await run('advisories', '--package', 'perl', '--json');
    expect((JSON.parse(json.out) as { id: string }[]).map((a) => a.id)).toEqual(['oval:com.microsoft.azurelinux:def:3']);
  });

  it('adds a source with a detected format, and exits 4 when a source fails while reporting the others', async () => {
    const f = join(dir, 'mine.xml');
    copyFileSync(OVAL, f);
    const add = await run('feeds', 'add', 'mine', '--location', f, '--release', 'azurelinux:3.0');
    expect(add.code).toBe(0);
    expect(add.out).toBe(`source mine (oval, azurelinux:3.0) reads ${f} [configured]\n`);
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, '<oval_definitions><definitions>');
    expect((await run('feeds', 'add', 'broken', '--format', 'oval', '--location', bad)).code).toBe(0);
    const sync = await run('feeds', 'sync', '--source', 'broken', '--source', 'mine');
    expect(sync.code).toBe(4);
    expect(sync.out).toMatch(/^broken: FAILED: .*bad\.xml:1:\d+: /m);
    expect(sync.out).toMatch(/^mine: 3 advisories/m);
    expect((await run('feeds', 'remove', 'mine')).code).toBe(0);
    const gone = await run('feeds', 'remove', 'mine');
    expect(gone.code).toBe(2);
    expect(gone.err).toContain('no configured source "mine"');
  });

  it('refuses an http(s) location that is not a URL when it is added, without printing it (it may hold a key)', async () => {
    for (const location of ['https://u:SECRETBAD1@[x/osv.zip', 'https://mirror.example:99999/osv.zip?key=SECRETBAD2']) {
      const r = await run('feeds', 'add', 'bad-url', '--format', 'osv', '--location', location);
      expect([r.code, r.err]).toEqual([
        2,
        'bulwark: source "bad-url": the location starts with http(s):// but is not a URL (a bad host or port?); it is not shown, as it may hold a key\n',
      ]);
    }
    expect((await run('feeds', 'list')).out).not.toContain('bad-url');
  });

  it('refuses --file without exactly one --source', async () => {
    const r = await run('feeds', 'sync', '--file', OVAL);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--file needs exactly one --source');
  });
});
