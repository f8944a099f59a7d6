import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { buildAptRepo, serveDir } from '../../test/ssh-fleet.js';
import { runCli } from '../../test/cli.js';
import { readTrustedKeys, verifyCleartext } from '../lib/signatures.js';
import { addRepo, listSnapshots, mirrorSnapshot, objectPath, syncRepo } from './repos.js';
import { openStore, type Db } from './store.js';
import { file, requires, tool, tools } from '../../test/needs.js';

/**
 * Repository snapshots on real parts (issue #7): an rpm repository made by createrepo_c, its
 * repomd.xml signed by the real gpg, served from disk and over HTTP; copies tampered with in each
 * way that must be refused, with nothing stored.
 */
const needs = tools('rpmbuild', 'createrepo_c', 'gpg');

function objects(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(e.name);
    }
  };
  walk(dir);
  return out.sort();
}

requires(needs).describe('repository snapshots with signed metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-repos-'));
  const gnupg = join(dir, 'gnupg');
  const repo = join(dir, 'tb', 'rpms');
  const objectsDir = join(dir, 'objects');
  let db: Db;
  let fingerprint = '';
  const gpg = (...args: string[]): string =>
    execFileSync('gpg', ['--homedir', gnupg, '--batch', '--yes', '--passphrase', '', '--pinentry-mode', 'loopback', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const sign = (repodata: string, who: string): void => {
    gpg('--local-user', who, '--armor', '--detach-sign', '--output', join(repodata, 'repomd.xml.asc'), join(repodata, 'repomd.xml'));
  };

  beforeAll(async () => {
    mkdirSync(gnupg, { mode: 0o700 });
    gpg('--quick-gen-key', 'Bulwark Test Repo <repo@example.test>', 'ed25519', 'sign', 'never');
    gpg('--quick-gen-key', 'Someone Else <else@example.test>', 'ed25519', 'sign', 'never');
    writeFileSync(join(dir, 'trusted.asc'), gpg('--armor', '--export', 'repo@example.test'));
    fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--fingerprint', 'repo@example.test'))?.[1]?.toLowerCase() ?? '';
    buildDummyRpms(join(dir, 'tb'), [
      { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
      { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
    ]);
    execFileSync('createrepo_c', ['--quiet', repo]);
    sign(join(repo, 'repodata'), 'repo@example.test');
    db = await openStore({ dbPath: join(dir, 'r.db') });
  }, 120_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('snapshots a signed repository: every file verified and stored by its SHA-256; unchanged, the same snapshot', async () => {
    await addRepo(db, { id: 'lab', url: repo, keyFiles: [join(dir, 'trusted.asc')], verify: true, actor: { kind: 'cli', name: 'test' } });
    const r = await syncRepo(db, 'lab', { objectsDir });
    expect([r.created, r.packages, r.signedBy]).toEqual([true, 3, fingerprint]);
    const [snap] = await listSnapshots(db, 'lab');
    expect(snap?.id).toBe(r.snapshot);
    for (const f of snap?.files ?? []) {
      const stored = readFileSync(objectPath(objectsDir, f.sha256));
      expect(stored).toEqual(readFileSync(join(repo, f.href)));
    }
    // createrepo_c also writes its SQLite databases (primary_db…): all listed files are kept.
    expect(snap?.files.map((f) => f.type).sort()).toEqual([
      'filelists',
      'filelists_db',
      'other',
      'other_db',
      'primary',
      'primary_db',
      'repomd',
      'repomd-signature',
    ]);
    const again = await syncRepo(db, 'lab', { objectsDir });
    expect([again.created, again.snapshot]).toEqual([false, r.snapshot]);
  });

  it('mirrors the packages a snapshot lists, each checked against its signed metadata; a package changed since is refused', async () => {
    const r = await mirrorSnapshot(db, 'lab', { objectsDir });
    expect([r.packages, r.fetched, r.alreadyStored, r.refused]).toEqual([3, 3, 0, []]);
    const rpmFiles = (root: string): string[] =>
      (readdirSync(root, { recursive: true }) as string[])
        .filter((x) => x.endsWith('.rpm'))
        .map((x) => join(root, x))
        .sort();
    expect(rpmFiles(repo)).toHaveLength(3);
    for (const f of rpmFiles(repo))
      expect(readFileSync(objectPath(objectsDir, createHash('sha256').update(readFileSync(f)).digest('hex')))).toEqual(readFileSync(f));
    expect((await mirrorSnapshot(db, 'lab', { objectsDir })).alreadyStored).toBe(3);

    // The same signed metadata, one package file replaced afterwards: that one is refused, the others kept.
    const copy = mkdtempSync(join(dir, 'mirror-'));
    cpSync(repo, copy, { recursive: true });
    await addRepo(db, { id: 'lab-swapped', url: copy, keyFiles: [join(dir, 'trusted.asc')], verify: true, actor: { kind: 'cli', name: 'test' } });
    await syncRepo(db, 'lab-swapped', { objectsDir: join(dir, 'objects2') });
    const rpms = rpmFiles(copy);
    cpSync(rpms[0] ?? '', rpms[1] ?? '');
    const m = await mirrorSnapshot(db, 'lab-swapped', { objectsDir: join(dir, 'objects2') });
    expect([m.fetched, m.refused.length]).toEqual([2, 1]);
    expect(m.refused[0]?.reason).toMatch(/does not match the sha256 in the snapshot's signed metadata/);
  });

  it('over HTTP too', async () => {
    const server = await serveDir(repo);
    try {
      await addRepo(db, { id: 'lab-http', url: server.url, keyFiles: [join(dir, 'trusted.asc')], verify: true, actor: { kind: 'cli', name: 'test' } });
      const r = await syncRepo(db, 'lab-http', { objectsDir });
      expect([r.packages, r.signedBy]).toEqual([3, fingerprint]);
    } finally {
      await server.close();
    }
  });

  it.each([
    [
      'repomd.xml changed after signing',
      (d: string) => {
        appendFileSync(join(d, 'repodata', 'repomd.xml'), '<!-- x -->\n');
      },
      /signature does not verify/,
    ],
    [
      'signed by a key nobody trusts',
      (d: string) => {
        sign(join(d, 'repodata'), 'else@example.test');
      },
      /signature does not verify/,
    ],
    [
      'not signed at all',
      (d: string) => {
        rmSync(join(d, 'repodata', 'repomd.xml.asc'));
      },
      /is missing: the metadata is not signed/,
    ],
    [
      'primary.xml.gz has one byte changed (same size)',
      (d: string) => {
        const rd = join(d, 'repodata');
        const primary = join(rd, readdirSync(rd).find((f) => f.endsWith('primary.xml.gz')) ?? '');
        const b = readFileSync(primary);
        b[b.length - 9] = (b[b.length - 9] ?? 0) ^ 0xff;
        writeFileSync(primary, b);
      },
      /primary\.xml\.gz does not match its sha256 in repomd\.xml/,
    ],
    [
      'primary.xml.gz swapped for another file',
      (d: string) => {
        const rd = join(d, 'repodata');
        const primary = readdirSync(rd).find((f) => f.endsWith('primary.xml.gz')) ?? '';
        const other = readdirSync(rd).find((f) => f.endsWith('other.xml.gz')) ?? '';
        cpSync(join(rd, other), join(rd, primary));
      },
      /primary\.xml\.gz is \d+ bytes, repomd\.xml says \d+/,
    ],
  ])('refuses a copy whose %s, and stores nothing', async (_, tamper, message) => {
    const copy = mkdtempSync(join(dir, 'tampered-'));
    cpSync(repo, copy, { recursive: true });
    tamper(copy);
    const id = `t-${copy.slice(-6).replace(/[^A-Za-z0-9]/g, 'x')}`;
    await addRepo(db, { id, url: copy, keyFiles: [join(dir, 'trusted.asc')], verify: true, actor: { kind: 'cli', name: 'test' } });
    const before = objects(objectsDir);
    await expect(syncRepo(db, id, { objectsDir })).rejects.toThrow(message);
    expect(await listSnapshots(db, id)).toEqual([]);
    expect(objects(objectsDir)).toEqual(before);
  });

  it('from the CLI: repo add, sync (exit 4 naming what was refused), snapshots', async () => {
    const env = { USER: 'erin', BULWARK_OBJECTS_DIR: objectsDir };
    const cli = (...args: string[]) => runCli(['--db', join(dir, 'cli.db'), ...args], env);
    expect((await cli('repo', 'add', 'lab', '--url', repo, '--key', join(dir, 'trusted.asc'))).out).toBe(
      `repository lab: ${repo}, signed by 1 trusted key(s)\n`,
    );
    const bad = mkdtempSync(join(dir, 'cli-bad-'));
    cpSync(repo, bad, { recursive: true });
    appendFileSync(join(bad, 'repodata', 'repomd.xml'), ' ');
    expect((await cli('repo', 'add', 'bad', '--url', bad, '--key', join(dir, 'trusted.asc'))).code).toBe(0);
    const sync = await cli('repo', 'sync');
    expect(sync.code).toBe(4);
    expect(sync.err).toMatch(/^bad: REFUSED: repository bad: repomd\.xml: the signature does not verify/m);
    expect(sync.out).toMatch(new RegExp(`^lab: snapshot [0-9a-f]{16} new, 3 packages, 8 files, \\d+ bytes, signed by ${fingerprint}$`, 'm'));
    expect((await cli('repo', 'snapshots', 'lab')).out).toMatch(/^lab\s+[0-9a-f]{16}\s+\S+\s+\d+\s+3\s+[0-9a-f]{40}$/m);
    // The packages were mirrored into the same object store by an earlier test: nothing to fetch.
    expect((await cli('repo', 'mirror', 'lab')).out).toMatch(/^lab: snapshot [0-9a-f]{16}: 3 packages, 0 fetched \(0 bytes\), 3 already stored, 0 refused$/m);
    expect((await cli('repo', 'add', 'x', '--url', repo)).err).toMatch(/--no-verify/);
  });

  it('needs a key unless verification is explicitly off', async () => {
    await expect(addRepo(db, { id: 'nokey', url: repo, keyFiles: [], verify: true, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(/--no-verify/);
    await addRepo(db, { id: 'unsigned-ok', url: repo, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    const r = await syncRepo(db, 'unsigned-ok', { objectsDir });
    expect([r.packages, r.signedBy]).toEqual([3, null]);
  });
});

requires(needs, tools('dpkg-deb', 'dpkg-scanpackages', 'xz', 'gzip')).describe('Debian repository snapshots with a signed InRelease', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-debrepo-'));
  const gnupg = join(dir, 'gnupg');
  const objectsDir = join(dir, 'objects');
  let db: Db;
  const gpg = (...args: string[]): string =>
    execFileSync('gpg', ['--homedir', gnupg, '--batch', '--yes', '--passphrase', '', '--pinentry-mode', 'loopback', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

  /** A suite the way a publisher writes one: pool, Packages in three forms, Release, InRelease. */
  const publish = (root: string, o: { validUntil: Date; signer: string; date?: Date; suite?: [string, string] }): void => {
    const bin = join(root, 'dists', 'stable', 'main', 'binary-amd64');
    mkdirSync(bin, { recursive: true });
    const packages = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(bin, 'Packages'), packages);
    execFileSync('xz', ['-kf', join(bin, 'Packages')]);
    execFileSync('gzip', ['-kfn', join(bin, 'Packages')]);
    const files = ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz'];
    const stable = join(root, 'dists', 'stable');
    const release = [
      'Origin: Bulwark tests',
      `Suite: ${o.suite?.[0] ?? 'stable'}`,
      `Codename: ${o.suite?.[1] ?? 'bookworm'}`,
      `Date: ${(o.date ?? new Date()).toUTCString()}`,
      `Valid-Until: ${o.validUntil.toUTCString()}`,
      'Architectures: amd64',
      'Components: main',
      'SHA256:',
      ...files.map((f) => ` ${sha256(join(stable, f))} ${String(readFileSync(join(stable, f)).length)} ${f}`),
      '',
    ].join('\n');
    writeFileSync(join(stable, 'Release'), release);
    gpg('--local-user', o.signer, '--clearsign', '--output', join(stable, 'InRelease'), join(stable, 'Release'));
  };

  beforeAll(async () => {
    mkdirSync(gnupg, { mode: 0o700 });
    gpg('--quick-gen-key', 'Bulwark Debian Test <deb@example.test>', 'ed25519', 'sign', 'never');
    gpg('--quick-gen-key', 'Someone Else <else@example.test>', 'ed25519', 'sign', 'never');
    writeFileSync(join(dir, 'trusted.asc'), gpg('--armor', '--export', 'deb@example.test'));
    const built = buildAptRepo(join(dir, 'build'), [
      { name: 'bw-libssl', version: '3.0.11-1~deb12u1' },
      { name: 'bw-libssl', version: '3.0.15-1~deb12u1' },
      { name: 'bw-perl', version: '1:5.36.0-7+deb12u2' },
    ]);
    cpSync(built, join(dir, 'repo', 'pool'), { recursive: true });
    publish(join(dir, 'repo'), { validUntil: new Date(Date.now() + 7 * 86_400_000), signer: 'deb@example.test' });
    db = await openStore({ dbPath: join(dir, 'd.db') });
  }, 120_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const add = (id: string, url: string) =>
    addRepo(db, {
      id,
      kind: 'deb',
      url,
      suite: 'stable',
      components: ['main'],
      arches: ['amd64'],
      keyFiles: [join(dir, 'trusted.asc')],
      verify: true,
      actor: { kind: 'cli', name: 'test' },
    });

  it('snapshots the suite: InRelease verified, Packages.xz checked against the Release, packages counted', async () => {
    await add('deb-lab', join(dir, 'repo'));
    const r = await syncRepo(db, 'deb-lab', { objectsDir });
    expect([r.created, r.packages, r.files]).toEqual([true, 3, 2]);
    const [snap] = await listSnapshots(db, 'deb-lab');
    expect(snap?.files.map((f) => f.href)).toEqual(['InRelease', 'main/binary-amd64/Packages.xz']);
    expect(readFileSync(objectPath(objectsDir, snap?.files[1]?.sha256 ?? ''))).toEqual(
      readFileSync(join(dir, 'repo', 'dists', 'stable', 'main', 'binary-amd64', 'Packages.xz')),
    );
    const m = await mirrorSnapshot(db, 'deb-lab', { objectsDir });
    expect([m.packages, m.fetched, m.refused]).toEqual([3, 3, []]);
  });

  it('from the CLI: --kind deb --suite --component --arch', async () => {
    const cli = (...args: string[]) => runCli(['--db', join(dir, 'cli.db'), ...args], { BULWARK_OBJECTS_DIR: objectsDir });
    expect(
      (
        await cli(
          'repo',
          'add',
          'deb',
          '--kind',
          'deb',
          '--url',
          join(dir, 'repo'),
          '--suite',
          'stable',
          '--component',
          'main',
          '--arch',
          'amd64',
          '--key',
          join(dir, 'trusted.asc'),
        )
      ).code,
    ).toBe(0);
    expect((await cli('repo', 'sync', 'deb')).out).toMatch(/^deb: snapshot [0-9a-f]{16} new, 3 packages, 2 files/m);
    expect((await cli('repo', 'add', 'deb2', '--kind', 'deb', '--url', join(dir, 'repo'), '--suite', 'stable', '--key', join(dir, 'trusted.asc'))).err).toMatch(
      /needs --component and --arch/,
    );
  });

  it('trusts every key of a key file: one armored block holding two keys, or a binary keyring as apt keeps them, the suite signed by the second key', async () => {
    gpg('--quick-gen-key', 'Bulwark Next Key <next@example.test>', 'ed25519', 'sign', 'never');
    const copy = join(dir, 'rotated');
    cpSync(join(dir, 'repo'), copy, { recursive: true });
    publish(copy, { validUntil: new Date(Date.now() + 86_400_000), signer: 'next@example.test' });
    writeFileSync(join(dir, 'both.asc'), gpg('--armor', '--export', 'deb@example.test', 'next@example.test'));
    execFileSync('gpg', ['--homedir', gnupg, '--batch', '--yes', '--output', join(dir, 'both.gpg'), '--export', 'deb@example.test', 'next@example.test'], {
      stdio: 'pipe',
    });
    // gpg exports in keyring order: the key that signed is the second in each file.
    expect(
      execFileSync('gpg', ['--homedir', gnupg, '--show-keys', '--with-colons', join(dir, 'both.gpg')], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.startsWith('uid:'))
        .map((l) => l.split(':')[9]),
    ).toEqual(['Bulwark Debian Test <deb@example.test>', 'Bulwark Next Key <next@example.test>']);
    for (const keyFile of ['both.asc', 'both.gpg']) {
      const id = `rot-${keyFile.replace('.', '-')}`;
      const row = await addRepo(db, {
        id,
        kind: 'deb',
        url: copy,
        suite: 'stable',
        components: ['main'],
        arches: ['amd64'],
        keyFiles: [join(dir, keyFile)],
        verify: true,
        actor: { kind: 'cli', name: 'test' },
      });
      expect(row.keys.map((k) => k.origin)).toEqual([
        expect.stringMatching(/both\.(asc|gpg) \(key 1 of 2, [0-9A-F]{40}\)$/),
        expect.stringMatching(/\(key 2 of 2, /),
      ]);
      expect((await syncRepo(db, id, { objectsDir })).packages).toBe(3);
    }
    // A file that holds no key is refused when it is given, naming it.
    writeFileSync(join(dir, 'not-a-key.asc'), 'hello\n');
    await expect(
      addRepo(db, {
        id: 'nokey',
        kind: 'deb',
        url: copy,
        suite: 'stable',
        components: ['main'],
        arches: ['amd64'],
        keyFiles: [join(dir, 'not-a-key.asc')],
        verify: true,
        actor: { kind: 'cli', name: 'test' },
      }),
    ).rejects.toThrow(/not-a-key\.asc: not an OpenPGP key file/);
  });

  it('refuses a validly signed Release of another suite, or one older than the last snapshot (a downgrade), and takes the same Release for more architectures as a new snapshot', async () => {
    const copy = join(dir, 'downgrade');
    cpSync(join(dir, 'repo'), copy, { recursive: true });
    await add('dg', copy);
    const first = await syncRepo(db, 'dg', { objectsDir });
    expect(first.created).toBe(true);
    // Signed by the trusted key, within its Valid-Until, but a day older than what was taken.
    publish(copy, { validUntil: new Date(Date.now() + 7 * 86_400_000), signer: 'deb@example.test', date: new Date(Date.now() - 86_400_000) });
    await expect(syncRepo(db, 'dg', { objectsDir })).rejects.toThrow(
      /repository dg: the Release is dated .*, before the last snapshot's \(.*\): refusing a rollback/,
    );
    publish(copy, {
      validUntil: new Date(Date.now() + 7 * 86_400_000),
      signer: 'deb@example.test',
      suite: ['oldstable', 'bullseye'],
      date: new Date(Date.now() + 60_000),
    });
    await expect(syncRepo(db, 'dg', { objectsDir })).rejects.toThrow(/repository dg: the Release is for suite oldstable, codename bullseye, not stable/);
    expect((await listSnapshots(db, 'dg')).map((x) => x.id)).toEqual([first.snapshot]);
    // The same Release, read for one more architecture, is another snapshot with its index.
    publish(copy, { validUntil: new Date(Date.now() + 7 * 86_400_000), signer: 'deb@example.test', date: new Date(Date.now() + 60_000) });
    const bin = join(copy, 'dists', 'stable', 'main', 'binary-arm64');
    mkdirSync(bin, { recursive: true });
    cpSync(join(copy, 'dists', 'stable', 'main', 'binary-amd64', 'Packages.xz'), join(bin, 'Packages.xz'));
    const rel = join(copy, 'dists', 'stable', 'Release');
    const xz = readFileSync(join(bin, 'Packages.xz'));
    writeFileSync(rel, readFileSync(rel, 'utf8') + ` ${createHash('sha256').update(xz).digest('hex')} ${String(xz.length)} main/binary-arm64/Packages.xz\n`);
    gpg('--local-user', 'deb@example.test', '--clearsign', '--output', join(copy, 'dists', 'stable', 'InRelease'), rel);
    const amd = await syncRepo(db, 'dg', { objectsDir });
    await addRepo(db, {
      id: 'dg',
      kind: 'deb',
      url: copy,
      suite: 'stable',
      components: ['main'],
      arches: ['amd64', 'arm64'],
      keyFiles: [join(dir, 'trusted.asc')],
      verify: true,
      actor: { kind: 'cli', name: 'test' },
    });
    const both = await syncRepo(db, 'dg', { objectsDir });
    expect(both.created).toBe(true);
    expect(both.snapshot).not.toBe(amd.snapshot);
    expect((await listSnapshots(db, 'dg'))[0]?.files.map((f) => f.href)).toEqual([
      'InRelease',
      'main/binary-amd64/Packages.xz',
      'main/binary-arm64/Packages.xz',
    ]);
  });

  it.each([
    [
      'InRelease edited after signing',
      (d: string) => {
        const f = join(d, 'dists', 'stable', 'InRelease');
        writeFileSync(f, readFileSync(f, 'utf8').replace('Codename: bookworm', 'Codename: trixie'));
      },
      /signature does not verify/,
    ],
    [
      'signed by a key nobody trusts',
      (d: string) => {
        publish(d, { validUntil: new Date(Date.now() + 86_400_000), signer: 'else@example.test' });
      },
      /signature does not verify/,
    ],
    [
      'an old Release replayed (Valid-Until passed)',
      (d: string) => {
        publish(d, { validUntil: new Date(Date.now() - 86_400_000), signer: 'deb@example.test' });
      },
      /expired \(Valid-Until/,
    ],
    [
      'Packages.xz swapped after publishing',
      (d: string) => {
        const b = join(d, 'dists', 'stable', 'main', 'binary-amd64');
        cpSync(join(b, 'Packages.gz'), join(b, 'Packages.xz'));
      },
      /Packages\.xz is \d+ bytes, the Release says \d+/,
    ],
  ])('refuses a copy with %s, and stores nothing', async (_, tamper, message) => {
    const copy = mkdtempSync(join(dir, 'tampered-'));
    cpSync(join(dir, 'repo'), copy, { recursive: true });
    tamper(copy);
    const id = `d-${copy.slice(-6).replace(/[^A-Za-z0-9]/g, 'x')}`;
    await add(id, copy);
    const before = objects(objectsDir);
    await expect(syncRepo(db, id, { objectsDir })).rejects.toThrow(message);
    expect(await listSnapshots(db, id)).toEqual([]);
    expect(objects(objectsDir)).toEqual(before);
  });
});

/**
 * Debian's own signed metadata, where this machine has it: apt's copy of the bookworm InRelease
 * verified with the binary keyring Debian ships (several keys, the signers among them).
 */
const debianInRelease = '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease';
const debianKeyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
describe("Debian's InRelease and archive keyring", () => {
  // apt-get update writes the InRelease (scripts/setup-test.sh runs it when it installs packages).
  requires(file(debianInRelease, "apt's bookworm InRelease"), file(debianKeyring, 'the Debian archive keyring'), tool('gpgv')).it(
    `verifies ${debianInRelease} with ${debianKeyring}`,
    async () => {
      const keys = await readTrustedKeys(readFileSync(debianKeyring), debianKeyring);
      expect(keys.length).toBeGreaterThan(3);
      const v = await verifyCleartext(readFileSync(debianInRelease, 'utf8'), keys, 'bookworm InRelease');
      expect(v.text).toMatch(/^Codename: bookworm$/m);
      // The signer is one of the keyring's keys, by its full fingerprint, as gpg names it.
      const gpgSays = execFileSync('gpgv', ['--status-fd', '1', '--keyring', debianKeyring, debianInRelease], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const valid = [...gpgSays.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) .* ([0-9A-F]{40})$/gm)].flatMap((m) => [m[1], m[2]]);
      expect(valid).toContain(v.signedBy.toUpperCase());
    },
  );
});
