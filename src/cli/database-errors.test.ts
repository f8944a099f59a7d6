import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { EXIT } from './exit-codes.js';

/**
 * Issue #20 items 6 and 11 through the real CLI: a database another process keeps locked past
 * the busy timeout is a conflict (exit 75, try again), not an internal error (70); a full disk
 * (a real tmpfs of a few hundred KB) says so (exit 74), not "cannot rollback - no transaction is
 * active".
 */
const ROOT = join(import.meta.dirname, '..', '..');

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const feed = (n: number): string =>
  JSON.stringify({
    source: 'big',
    advisories: Array.from({ length: n }, (_, i) => ({
      id: `BIG-${String(i)}`,
      title: `advisory ${String(i)}`,
      description: 'x'.repeat(1500),
      severity: 'low',
      cvssScore: null,
      cvssVector: null,
      cves: [],
      references: [],
      publishedAt: null,
      updatedAt: null,
      parser: 'test@1',
      fixes: [
        {
          release: 'azurelinux:3.0',
          package: `pkg-${String(i)}`,
          packageKind: 'source',
          arch: null,
          status: 'fixed',
          fixed: '1.0-1',
          lastAffected: null,
          introduced: null,
        },
      ],
    })),
  });

describe('the CLI when the database is busy or full', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-dberr-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for a database another process writes, up to the busy timeout, then exits 75 saying it is busy', async () => {
    const db = join(dir, 'b.db');
    writeFileSync(join(dir, 'feed.json'), feed(3));
    expect((await runCli(['--db', db, 'feeds', 'add', 'big', '--format', 'native', '--location', join(dir, 'feed.json')])).code).toBe(0);
    // Another process (a sync, `bulwark serve`) in the middle of a write.
    const other = new BetterSqlite3(db);
    other.prepare('begin immediate').run();
    try {
      const r = await runCli(['--db', db, 'feeds', 'sync', '--source', 'big'], { BULWARK_SQLITE_BUSY_TIMEOUT_MS: '300' });
      expect([r.code, r.err]).toEqual([
        EXIT.conflict,
        expect.stringMatching(
          /(^|\n)bulwark: the database is busy: another process \(a feed sync, bulwark serve\) kept it locked for longer than the busy timeout \(BULWARK_SQLITE_BUSY_TIMEOUT_MS\); nothing was changed, try again\n$/,
        ),
      ]);
    } finally {
      other.prepare('rollback').run();
      other.close();
    }
    // Once the other write is over, the same command goes through.
    const r = await runCli(['--db', db, 'feeds', 'sync', '--source', 'big'], { BULWARK_SQLITE_BUSY_TIMEOUT_MS: '300' });
    expect([r.code, r.out]).toEqual([0, expect.stringMatching(/^big: 3 advisories in 1 document: 3 added/)]);
  });

  it('refuses a busy timeout that is not a number of milliseconds (exit 3)', async () => {
    const r = await runCli(['--db', join(dir, 'b.db'), 'feeds', 'list'], { BULWARK_SQLITE_BUSY_TIMEOUT_MS: '5s' });
    expect([r.code, r.err]).toEqual([EXIT.config, 'bulwark: BULWARK_SQLITE_BUSY_TIMEOUT_MS: must be a number of milliseconds (0 to 9999999) (got "5s")\n']);
  });

  // Mounting a tmpfs needs root and unshare, as the agent and sshd tests do; in CI their absence fails.
  const mountable = canMountTmpfs();
  it.skipIf(!mountable && process.env['CI'] === undefined)(
    'exits 74 saying the disk or database is full when a sync fills the disk',
    async () => {
      if (!mountable) throw new Error('this test needs root and unshare (util-linux) to mount a tmpfs');
      writeFileSync(join(dir, 'feed.json'), feed(4000));
      const disk = join(dir, 'disk');
      // The database lives on a 4 MB tmpfs in a mount namespace of its own: the schema fits, the feed does not.
      const script =
        'mkdir -p "$2" && mount -t tmpfs -o size="$1" tmpfs "$2" || exit 1; shift 2; "$@" feeds add big --format native --location "$FEED" || exit 9; exec "$@" feeds sync --source big';
      const cli = [process.execPath, '--import', 'tsx', join(ROOT, 'test', 'bulwark-process.ts'), '--db', join(disk, 'b.db')];
      const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          'unshare',
          ['-m', 'sh', '-c', script, 'sh', '4m', disk, ...cli],
          { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FEED: join(dir, 'feed.json') } },
          (err, _stdout, stderr) => {
            resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr });
          },
        );
      });
      expect([r.code, r.stderr]).toEqual([
        EXIT.storageFull,
        expect.stringMatching(
          /(^|\n)bulwark: the disk or the database is full \(SQLITE_FULL\): free space and try again; nothing of this change was stored\n$/,
        ),
      ]);
    },
    120_000,
  );
});
