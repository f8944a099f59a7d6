import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { auditLog } from '../../services/audit.js';
import { openStore } from '../../services/store.js';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRpmRoot } from '../../../test/rpm-tools.js';
import { startSshHost, type SshHost } from '../../../test/sshd-hosts.js';
import { requires, sshdHosts, tool } from '../../../test/needs.js';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

const OVAL = join(import.meta.dirname, '..', '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');
const OS_AZL3 = 'ID=azurelinux\nVERSION_ID="3.0"\nNAME="Microsoft Azure Linux"\n';

describe('bulwark hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-hosts-'));
  const db = join(dir, 'b.db');
  const running: SshHost[] = [];
  afterAll(async () => {
    for (const h of running) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds, lists and removes hosts, refusing bad names and addresses', async () => {
    expect(
      (await run('--db', db, 'hosts', 'add', 'web-01', '--address', 'bulwark@10.0.0.5:2222', '--identity', '/etc/bulwark/id', '--sudo', '--tag', 'prod')).out,
    ).toBe('host web-01: ssh://bulwark@10.0.0.5:2222?identity=%2Fetc%2Fbulwark%2Fid&sudo=1\n');
    expect((await run('--db', db, 'hosts', 'add', 'bad name', '--address', 'h')).code).toBe(2);
    expect((await run('--db', db, 'hosts', 'add', 'x', '--address', 'a@b@c')).err).toContain('is not an SSH address');
    const list = await run('--db', db, 'hosts', 'list');
    expect(list.out).toMatch(/^web-01\s+-\s+-\s+-\s+never\s+ssh:\/\/bulwark@10\.0\.0\.5:2222\S*\s+prod$/m);
    expect((await run('--db', db, 'hosts', 'remove', 'web-01')).code).toBe(0);
    expect((await run('--db', db, 'hosts', 'remove', 'web-01')).code).toBe(2);
  });

  it('tags an imported target (no address), audited; an unknown name is a usage error with the closest name', async () => {
    const inv = join(dir, 'inv.tsv');
    writeFileSync(inv, 'curl\t0\t8.0\t1.azl3\tx86_64\tcurl-8.0-1.azl3.src.rpm\n');
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'imported-1', '--release', 'azurelinux:3.0')).code).toBe(0);
    const tagged = await run('--db', db, 'hosts', 'tag', 'imported-1', '--tag', 'prod', '--tag', 'db');
    expect([tagged.code, tagged.out]).toEqual([0, 'imported-1: tags db, prod\n']);
    const untagged = await run('--db', db, 'hosts', 'tag', 'imported-1', '--untag', 'db', '--tag', 'eu');
    expect(untagged.out).toBe('imported-1: tags eu, prod\n');
    const list = JSON.parse((await run('--db', db, 'hosts', 'list', '--json')).out) as { name: string; address: string | null; tags: string[] }[];
    expect(list.find((h) => h.name === 'imported-1')).toMatchObject({ address: null, tags: ['eu', 'prod'] });
    const s = await openStore({ dbPath: db, env: {} });
    try {
      const rows = (await auditLog(s, { limit: 100 })).filter((e) => e.action === 'host.tag');
      expect(rows.map((e) => [e.subject, e.detail])).toEqual([
        ['imported-1', { tags: ['eu', 'prod'], added: ['eu'], removed: ['db'] }],
        ['imported-1', { tags: ['db', 'prod'], added: ['prod', 'db'], removed: [] }],
      ]);
    } finally {
      await s.close();
    }
    const typo = await run('--db', db, 'hosts', 'tag', 'imported-2', '--tag', 'x');
    expect([typo.code, typo.err]).toEqual([2, expect.stringContaining('no host named "imported-2" (did you mean "imported-1"?)')]);
    expect((await run('--db', db, 'hosts', 'tag', 'imported-1')).code).toBe(2);
  });

  requires(sshdHosts(), tool('rpmbuild')).it(
    'scans real sshd hosts into the store; a dead host fails alone (exit 4); the running kernel is recorded',
    async () => {
      const root = buildRpmRoot(join(dir, 'build'), join(dir, 'root'), [{ name: 'golang', version: '1.20.6', release: '1.azl3' }], { ownSource: true });
      const h = await startSshHost(join(dir, 'h1'), { address: '127.0.0.6', port: 2222, rpmRoot: root, osRelease: OS_AZL3 });
      running.push(h);
      expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
      await run('--db', db, 'hosts', 'add', 'h1', '--address', `root@${h.address}:${String(h.port)}`, '--identity', h.clientKey);
      await run('--db', db, 'hosts', 'add', 'dead', '--address', 'root@127.0.0.7:2222', '--identity', h.clientKey);
      const kh = join(dir, 'known_hosts');
      const first = await run('--db', db, 'scan', '--all', '--known-hosts', kh);
      expect(first.code).toBe(4);
      expect(first.out).toMatch(/^h1: FAILED: .*not in known_hosts/m);
      const second = await run('--db', db, 'scan', '--all', '--known-hosts', kh, '--accept-new-host-key', '--fail-on', 'medium');
      expect(second.out).toMatch(/^h1: azurelinux:3\.0, 1 finding \(1 new, 0 closed\)$/m);
      expect(second.out).toMatch(/^dead: FAILED: root@\[127\.0\.0\.7\]:2222: cannot connect/m);
      expect(second.code).toBe(4);
      const only = await run('--db', db, 'scan', '--host', 'h1', '--known-hosts', kh, '--fail-on', 'medium');
      expect(only.code).toBe(1);
      const list = await run('--db', db, 'hosts', 'list', '--json');
      const h1 = (JSON.parse(list.out) as { name: string; runningKernel: string | null; release: string | null }[]).find((x) => x.name === 'h1');
      expect(h1?.release).toBe('azurelinux:3.0');
      expect(h1?.runningKernel).toMatch(/\S/);
    },
  );
});
