import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';

/**
 * Issue #17, "a truthful CLI": each case here was answered wrongly before (a made directory,
 * exit 4 or 0 for a typo, a silent replace, "some failed" when all did, option errors that did
 * not say which option).
 */
const PROD = readFileSync(join(import.meta.dirname, '..', 'policy', '__fixtures__', 'prod.yaml'), 'utf8');

describe('a CLI that tells the truth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-truth-'));
  const db = join(dir, 'b.db');
  const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(['--db', db, ...args]);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('never makes the directory of a mistyped --db (exit 3, saying so)', async () => {
    const typo = join(dir, 'typo', 'dir', 'x.db');
    const r = await runCli(['--db', typo, 'findings']);
    expect([r.code, r.err]).toEqual([
      3,
      `bulwark: --db: the directory ${join(dir, 'typo', 'dir')} does not exist (create it first: bulwark creates only its default directory)\n`,
    ]);
    expect(existsSync(join(dir, 'typo'))).toBe(false);
    // A database file that does not exist yet, in a directory that does, is still made.
    expect((await run('feeds', 'list')).code).toBe(0);
    expect(existsSync(db)).toBe(true);
  });

  it('refuses an unknown feed source with exit 2 and the closest name, syncing nothing', async () => {
    const nope = await run('feeds', 'sync', '--source', 'nope');
    expect([nope.code, nope.out, nope.err]).toEqual([2, '', 'bulwark: no feed source "nope"; `bulwark feeds list` shows them, `bulwark feeds add` adds one\n']);
    const typo = await run('feeds', 'sync', '--source', 'azurelinux-3.0-ovl', '--file', join(dir, 'none.xml'));
    expect([typo.code, typo.err]).toEqual([
      2,
      'bulwark: no feed source "azurelinux-3.0-ovl" (did you mean "azurelinux-3.0-oval"?); `bulwark feeds list` shows them, `bulwark feeds add` adds one\n',
    ]);
    const audit = await run('audit', '--json');
    expect(JSON.parse(audit.out)).toEqual([]);
  });

  it('refuses `hosts add` of an existing name unless --replace is given', async () => {
    expect((await run('hosts', 'add', 'web-01', '--address', 'root@10.0.0.5')).code).toBe(0);
    const again = await run('hosts', 'add', 'web-01', '--address', 'root@10.0.0.6');
    expect([again.code, again.err]).toEqual([2, 'bulwark: a host named "web-01" exists (ssh://root@10.0.0.5:22); --replace replaces it\n']);
    expect(JSON.parse((await run('hosts', 'list', '--json')).out)).toMatchObject([{ name: 'web-01', address: 'ssh://root@10.0.0.5:22' }]);
    const replaced = await run('hosts', 'add', 'web-01', '--address', 'root@10.0.0.6', '--replace');
    expect([replaced.code, replaced.out]).toEqual([0, 'host web-01: ssh://root@10.0.0.6:22\n']);
    expect(JSON.parse((await run('hosts', 'list', '--json')).out)).toMatchObject([{ name: 'web-01', address: 'ssh://root@10.0.0.6:22' }]);
    expect((await run('hosts', 'remove', 'web-01')).code).toBe(0);
  });

  it('says "all N hosts failed" when every host of `scan --all` failed (exit 4), and refuses an unknown --host (exit 2)', async () => {
    // Port 1 on loopback: refused at once, no waiting.
    for (const h of ['dead-1', 'dead-2']) expect((await run('hosts', 'add', h, '--address', 'root@127.0.0.1:1')).code).toBe(0);
    const kh = join(dir, 'known_hosts');
    const all = await run('scan', '--all', '--known-hosts', kh);
    expect(all.code).toBe(4);
    expect(all.out).toMatch(/^dead-1: FAILED: root@\[127\.0\.0\.1\]:1: .*\ndead-2: FAILED: /m);
    expect(all.err).toBe('all 2 hosts failed\n');
    const one = await run('scan', '--host', 'dead-1', '--known-hosts', kh);
    expect([one.code, one.err]).toEqual([4, 'the one host scanned failed\n']);
    const typo = await run('scan', '--host', 'dead-3', '--known-hosts', kh);
    expect([typo.code, typo.out, typo.err]).toEqual([2, '', 'bulwark: no host named "dead-3" (did you mean "dead-1"?) (`bulwark hosts list` shows them)\n']);
  });

  it('refuses an unknown policy in plan, decisions and hold with exit 2 and the closest name, and an unknown host in hosts remove', async () => {
    expect((await run('demo')).code).toBe(0);
    const f = join(dir, 'p.yaml');
    writeFileSync(f, PROD.replace('tags: [prod]', 'tags: []').replace('hosts: [web-01]', 'hosts: [demo-azl3-vm]'));
    expect((await run('policy', 'apply', '-f', f)).code).toBe(0);
    const hint = ' (apply one with `bulwark policy apply -f FILE`)';
    for (const args of [
      ['plan', '--policy', 'azl3-prd'],
      ['decisions', '--policy', 'azl3-prd'],
      ['hold', 'X-1', '--policy', 'azl3-prd', '--reason', 'r'],
    ]) {
      const r = await run(...args);
      expect([args[0], r.code, r.out, r.err]).toEqual([args[0], 2, '', `bulwark: no policy named "azl3-prd" (did you mean "azl3-prod"?)${hint}\n`]);
    }
    expect((await run('decisions', '--policy', 'other')).err).toBe(`bulwark: no policy named "other"${hint}\n`);
    expect((await run('decisions', '--policy', 'azl3-prod')).code).toBe(0);
    expect((await run('hosts', 'remove', 'demo-azl3')).err).toBe('bulwark: no host named "demo-azl3" (did you mean "demo-azl3-vm"?)\n');
  });

  it('refuses an unknown repository in repo sync with exit 2 (was 4, "REFUSED")', async () => {
    const r = await run('repo', 'sync', 'nope');
    expect([r.code, r.out, r.err]).toEqual([2, '', 'bulwark: no repository nope (add it with `bulwark repo add`)\n']);
  });

  it.each([
    [['audit', '--limit', '0'], '--limit: "0" is not a whole number from 1 up'],
    [['audit', '--limit', '2.5'], '--limit: "2.5" is not a whole number from 1 up'],
    [['scan', '--all', '--concurrency', '2000'], '--concurrency: "2000" is not a whole number from 1 to 1024'],
    [['scheduler', '--interval', 'soon'], '--interval: "soon" is not a number of seconds from 1 up'],
    [['serve', '--lease-seconds', '0'], '--lease-seconds: "0" is not a whole number from 1 to 3600'],
    [['tokens', 'create', '--name', 'x', '--role', 'viewer', '--expires-days', '-1'], '--expires-days: "-1" is not a whole number from 0 to 3650'],
    [['agents', 'enroll-token', '--url', 'https://b.example', '--expires-hours', '0'], '--expires-hours: "0" is not a number of hours from 1 to 720'],
    [['plan', '--policy', 'p', '--at', 'tomorrow'], '--at: "tomorrow" is not an ISO 8601 date or time'],
    [['hold', 'A-1', '--policy', 'p', '--reason', 'r', '--until', '2026-13-45'], '--until: "2026-13-45" is not an ISO 8601 date or time'],
    [['findings', '--status', 'closed'], '--status: "closed" is not one of open, no-fix, mitigated, accepted, fixed, withdrawn'],
    [['view', 'promote', 'v', 'x', '--to', 'prod'], 'version: "x" is not a whole number from 1 up'],
    [['image', 'parity', 'i', '--build', '0'], '--build: "0" is not a whole number from 1 up'],
    // Was exit 70 ("a bug") with a stack trace, after the query had run.
    [['report', '--format', 'csv', '--output', '/nonexistent-dir/r.csv'], '--output: the directory /nonexistent-dir does not exist'],
    [
      ['image', 'import', 'c.json', '--view', 'v', '--release', 'azurelinux:3.0', '-o', '/nonexistent-dir/i.yaml'],
      '--out: the directory /nonexistent-dir does not exist',
    ],
  ])('names the option in a usage error: %j', async (args, message) => {
    const r = await run(...args);
    expect([r.code, r.err]).toEqual([2, `bulwark: ${message}\n`]);
  });
});
