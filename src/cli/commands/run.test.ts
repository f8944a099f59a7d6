import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { afterAll, describe, expect, it } from 'vitest';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

describe('bulwark run (usage)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-run-'));
  const db = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  it.each([
    [[], /run needs --policy NAME/],
    [['--policy', 'nope'], /no policy named "nope"/],
    [['show', '7'], /no run 7/],
    [['pause'], /run pause needs a run number/],
    [['explode', '1'], /unknown action "explode"/],
  ])('bulwark run %j is refused', async (args, re) => {
    const r = await run('--db', db, 'run', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(re);
  });
});

describe('bulwark run show', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-run-show-'));
  const db = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows why a host failed in the table, not only with --json (issue #17)', async () => {
    // The demo host given an address over SSH with no identity file and no agent: the precheck
    // fails before connecting (a real failure of the real transport, no sshd needed).
    const env = { BULWARK_SSH_KEY_DIR: join(dir, 'no-keys'), SSH_AUTH_SOCK: '' };
    const cli = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(['--db', db, ...args], env);
    const f = join(dir, 'all.yaml');
    writeFileSync(
      f,
      'apiVersion: bulwark/v1\nkind: Policy\nname: all\nscope: { hosts: [demo-azl3-vm] }\ncadence: { monthly: { weekday: tuesday, week: 2 } }\napproval: { autoApproveAfterDays: 0 }\nrollout: { rings: [{ name: all, percent: 100 }] }\n',
    );
    expect((await cli('demo')).code).toBe(0);
    expect((await cli('hosts', 'add', 'demo-azl3-vm', '--address', 'root@127.0.0.1:1', '--replace')).code).toBe(0);
    expect((await cli('policy', 'apply', '-f', f)).code).toBe(0);
    expect((await cli('run', '--policy', 'all', '--ignore-windows', '--known-hosts', join(dir, 'known_hosts'))).code).toBe(4);
    const show = await cli('run', 'show', '1');
    expect(show.code).toBe(4);
    expect(show.out).toMatch(/^HOST\s+RING\s+STEP\s+STATE\s+TRIES\s+EXIT\s+FINISHED\s+WHY$/m);
    expect(show.out).toMatch(
      /^demo-azl3-vm\s+0\s+precheck\s+failed\s+1\s+-\s+\S+\s+root@\[127\.0\.0\.1\]:1: no identity file and no SSH agent \(SSH_AUTH_SOCK\)$/m,
    );
    expect(show.out).toMatch(/^demo-azl3-vm\s+0\s+update\s+skipped\s+.*\s+skipped: precheck failed$/m);
  });
});
