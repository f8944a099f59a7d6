import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { rawKysely } from '../storage/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { runCli } from '../../test/cli.js';
import { auditLog } from './audit.js';
import { addRepo, listSnapshots, syncRepo } from './repos.js';
import { openStore, type Db } from './store.js';
import { requires, tools } from '../../test/needs.js';
import { randomBytes } from 'node:crypto';
import { createApp } from '../api/app.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createToken } from './tokens.js';

/**
 * Freshness and anti-rollback (issue #21, item 1), on real parts: repositories made by the real
 * createrepo_c, their repomd.xml signed by the real gpg with the one trusted key. Old signed
 * metadata stays validly signed: only the floor set by the last snapshot keeps it out.
 */
requires(tools('rpmbuild', 'createrepo_c', 'gpg')).describe('anti-rollback of rpm-md metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-rollback-'));
  const gnupg = join(dir, 'gnupg');
  const objectsDir = join(dir, 'objects');
  const served = join(dir, 'served');
  let db: Db;
  const gpg = (...args: string[]): string =>
    execFileSync('gpg', ['--homedir', gnupg, '--batch', '--yes', '--passphrase', '', '--pinentry-mode', 'loopback', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  /** A signed rpm-md repository in `to` made of the rpms under `from`, by createrepo_c with `args`. */
  const repoOf = (from: string, to: string, args: string[]): void => {
    rmSync(to, { recursive: true, force: true });
    cpSync(from, to, { recursive: true });
    execFileSync('createrepo_c', ['--quiet', ...args, to]);
    gpg(
      '--local-user',
      'repo@example.test',
      '--armor',
      '--detach-sign',
      '--output',
      join(to, 'repodata', 'repomd.xml.asc'),
      join(to, 'repodata', 'repomd.xml'),
    );
  };
  const serve = (from: string): void => {
    rmSync(served, { recursive: true, force: true });
    cpSync(from, served, { recursive: true });
  };

  beforeAll(async () => {
    mkdirSync(gnupg, { mode: 0o700 });
    gpg('--quick-gen-key', 'Bulwark Test Repo <repo@example.test>', 'ed25519', 'sign', 'never');
    writeFileSync(join(dir, 'trusted.asc'), gpg('--armor', '--export', 'repo@example.test'));
    buildDummyRpms(join(dir, 'all'), [
      { name: 'bw-openssl', version: '3.3.0', release: '1.azl3' },
      { name: 'bw-openssl', version: '3.3.5', release: '2.azl3' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
    ]);
    buildDummyRpms(join(dir, 'old'), [{ name: 'bw-openssl', version: '3.3.0', release: '1.azl3' }]);
    // Revision 1796557899 (2026-12-06) with today's timestamps; the attacker's: revision 1000,
    // timestamps set to it, fewer packages — the fix gone.
    repoOf(join(dir, 'all', 'rpms'), join(dir, 'v1'), ['--revision', '1796557899']);
    repoOf(join(dir, 'old', 'rpms'), join(dir, 'rollback'), ['--revision', '1000', '--set-timestamp-to-revision']);
    db = await openStore({ dbPath: join(dir, 'r.db') });
    serve(join(dir, 'v1'));
    await addRepo(db, { id: 'lab', url: served, keyFiles: [join(dir, 'trusted.asc')], verify: true, actor: { kind: 'cli', name: 'test' } });
  }, 120_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses signed metadata with an older revision and timestamps, naming both revisions; nothing is stored', async () => {
    const first = await syncRepo(db, 'lab', { objectsDir });
    expect([first.created, first.packages, first.notAdvancedSince]).toEqual([true, 3, null]);
    serve(join(dir, 'rollback'));
    await expect(syncRepo(db, 'lab', { objectsDir })).rejects.toThrow(
      /repomd\.xml has an older revision than the last snapshot \(revision 1000, timestamps up to 1970-01-01T00:16:40\.000Z; the last snapshot \([0-9a-f]{16}\) has revision 1796557899, timestamps up to \d{4}-.*\): refusing a rollback \(give --allow-rollback/,
    );
    expect((await listSnapshots(db, 'lab')).map((s) => s.id)).toEqual([first.snapshot]);
  });

  it('a replay of the last metadata is "not advanced since" the day it was first taken', async () => {
    serve(join(dir, 'v1'));
    const [taken] = await listSnapshots(db, 'lab');
    const again = await syncRepo(db, 'lab', { objectsDir });
    expect([again.created, again.snapshot, again.notAdvancedSince]).toEqual([false, taken?.id, taken?.createdAt]);
  });

  it('a replay of an earlier snapshot after a newer one is a rollback too; allowed, it is audited and becomes the latest', async () => {
    repoOf(join(dir, 'all', 'rpms'), join(dir, 'v2'), ['--revision', '1796644299']);
    serve(join(dir, 'v2'));
    const v2 = await syncRepo(db, 'lab', { objectsDir });
    expect(v2.created).toBe(true);
    serve(join(dir, 'v1'));
    await expect(syncRepo(db, 'lab', { objectsDir })).rejects.toThrow(
      /this is the metadata of an earlier snapshot \([0-9a-f]{16}, taken .*, revision 1796557899\), older than the last one \([0-9a-f]{16}, revision 1796644299\): refusing a rollback/,
    );
    expect((await listSnapshots(db, 'lab'))[0]?.id).toBe(v2.snapshot);

    const env = { USER: 'erin', BULWARK_OBJECTS_DIR: objectsDir };
    const cli = (...args: string[]) => runCli(['--db', join(dir, 'r.db'), ...args], env);
    const refused = await cli('repo', 'sync', 'lab');
    expect([refused.code, refused.err]).toEqual([4, expect.stringMatching(/^lab: REFUSED: .*refusing a rollback/m)]);
    const allowed = await cli('repo', 'sync', 'lab', '--allow-rollback');
    expect([allowed.code, allowed.out]).toEqual([0, expect.stringMatching(/^lab: snapshot [0-9a-f]{16} ROLLED BACK \(allowed\), 3 packages/m)]);
    const snaps = await listSnapshots(db, 'lab');
    expect(snaps[0]?.revision).toBe('1796557899');
    const audit = (await auditLog(db, { limit: 10 })).filter((a) => a.action === 'repo.rollback');
    expect(audit.map((a) => [a.actor, a.subject])).toEqual([[`cli:${userInfo().username}`, 'lab']]);
  });

  it('the CLI says "not advanced since" for a replay of the last metadata', async () => {
    const cli = (...args: string[]) => runCli(['--db', join(dir, 'r.db'), ...args], { USER: 'erin', BULWARK_OBJECTS_DIR: objectsDir });
    expect((await cli('repo', 'sync', 'lab')).out).toMatch(/^lab: snapshot [0-9a-f]{16} unchanged: not advanced since \d{4}-\d\d-\d\dT[\d:.]+Z, 3 packages/m);
  });

  it('through the API, only an admin may take a rollback (allowRollback=true); it is audited naming the token', async () => {
    const operator = (await createToken(db, { name: 'ops', role: 'operator', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    const admin = (await createToken(db, { name: 'boss', role: 'admin', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    const app = createApp(db, {
      knownHostsFile: join(dir, 'known_hosts'),
      transport: () => refusingTransport,
      version: 'test',
      agentServerKey: randomBytes(32),
      objectsDir,
      authFailuresPerMinute: 1000,
    });
    const sync = (token: string, q = ''): Promise<Response> =>
      Promise.resolve(app.request(`/api/v1/repos/lab/sync${q}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }));
    const before = (await listSnapshots(db, 'lab'))[0]?.id;
    serve(join(dir, 'rollback'));
    const refused = await sync(operator);
    expect([refused.status, ((await refused.json()) as { error: { message: string } }).error.message]).toEqual([
      400,
      expect.stringMatching(/refusing a rollback/),
    ]);
    expect((await sync(operator, '?allowRollback=true')).status).toBe(403);
    expect((await listSnapshots(db, 'lab'))[0]?.id).toBe(before);
    const taken = await sync(admin, '?allowRollback=true');
    expect([taken.status, ((await taken.json()) as { rolledBack: unknown }).rolledBack]).toEqual([200, expect.anything()]);
    expect((await listSnapshots(db, 'lab'))[0]?.revision).toBe('1000');
    const audit = (await auditLog(db, { limit: 20 })).filter((a) => a.action === 'repo.rollback');
    expect(audit[0]?.actor).toMatch(/^token:.*boss/);
  });
});

requires(tools('rpmbuild', 'createrepo_c', 'mkfifo')).describe('only regular files are read from a local repository', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-nonregular-'));
  const objectsDir = join(dir, 'objects');
  let db: Db;
  beforeAll(async () => {
    buildDummyRpms(join(dir, 'b'), [{ name: 'bw-curl', version: '8.11.1', release: '3.azl3' }]);
    execFileSync('createrepo_c', ['--quiet', join(dir, 'b', 'rpms')]);
    db = await openStore({ dbPath: join(dir, 'r.db') });
  }, 60_000);
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [
      'repomd.xml.asc a symlink to /dev/zero',
      'repodata/repomd.xml.asc',
      (p: string) => {
        symlinkSync('/dev/zero', p);
      },
      /repomd\.xml\.asc: not a regular file \(a character device\): refused/,
      true,
    ],
    [
      'repomd.xml.asc a FIFO nobody writes to',
      'repodata/repomd.xml.asc',
      (p: string) => {
        execFileSync('mkfifo', [p]);
      },
      /repomd\.xml\.asc: not a regular file \(a FIFO\): refused/,
      true,
    ],
    [
      'primary.xml.gz a symlink to /dev/zero',
      'primary',
      (p: string) => {
        unlinkSync(p);
        symlinkSync('/dev/zero', p);
      },
      /primary\.xml\.gz: not a regular file \(a character device\): refused/,
      false,
    ],
    [
      'repomd.xml a FIFO',
      'repodata/repomd.xml',
      (p: string) => {
        unlinkSync(p);
        execFileSync('mkfifo', [p]);
      },
      /repomd\.xml: not a regular file \(a FIFO\): refused/,
      false,
    ],
  ])('refuses %s at once', async (_, where, make, message, signed) => {
    const copy = mkdtempSync(join(dir, 'repo-'));
    cpSync(join(dir, 'b', 'rpms'), copy, { recursive: true });
    const target =
      where === 'primary' ? join(copy, 'repodata', readdirSync(join(copy, 'repodata')).find((f) => f.endsWith('primary.xml.gz')) ?? '') : join(copy, where);
    make(target);
    const id = `n-${copy.slice(-6).replace(/[^A-Za-z0-9]/g, 'x')}`;
    await addRepo(db, { id, url: copy, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    // A signed repository reads repomd.xml.asc; an unsigned one is given the key check's place by
    // turning verification on without a key: the .asc is read (and refused) before any key is used.
    if (signed) await rawKysely(db).updateTable('repos').set({ verify: 1 }).where('id', '=', id).execute();
    const started = Date.now();
    await expect(syncRepo(db, id, { objectsDir })).rejects.toThrow(message);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await listSnapshots(db, id)).toEqual([]);
  });
});
