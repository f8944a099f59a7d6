import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRpmRoot } from '../../../test/rpm-tools.js';
import { requires, tools } from '../../../test/needs.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-scan-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const OVAL = join(import.meta.dirname, '..', '..', 'feeds', 'oval', '__fixtures__', 'azurelinux-mini.xml');

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

const inv = join(dir, 'host.tsv');
writeFileSync(inv, 'golang\t0\t1.20.6\t1.azl3\tx86_64\tgolang-1.20.6-1.azl3.src.rpm\nbash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n');

describe('bulwark scan --feed (no database)', () => {
  it('prints JSON findings with the fields pipelines rely on', async () => {
    const r = await run('scan', '--inventory', inv, '--feed', OVAL, '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { findings: Record<string, unknown>[]; release: string; mode: string };
    expect(doc.release).toBe('azurelinux:3.0');
    expect(doc.findings).toEqual([
      { advisory: 'oval:com.microsoft.azurelinux:def:1', source: `file:${OVAL}`, cves: ['CVE-2023-29409'], package: 'golang', arch: 'x86_64', installed: '0:1.20.6-1.azl3', fixed: '0:1.20.7-1.azl3', severity: 'medium', status: 'open', reason: null },
    ]);
  });

  it.each([
    ['medium', 1],
    ['high', 0],
  ])('--fail-on %s exits %i', async (sev, code) => {
    const r = await run('scan', '--inventory', inv, '--feed', OVAL, '--fail-on', sev);
    expect(r.code).toBe(code);
    expect(r.out).toMatch(/1 findings \(1 with a fix, 0 without one\)/);
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await run('scan', '--feed', OVAL)).code).toBe(2);
    expect((await run('scan', '--inventory', inv, '--feed', OVAL, '--fail-on', 'severe')).err).toContain('"severe" is not a severity');
    expect((await run('scan', '--inventory', join(dir, 'absent.tsv'), '--feed', OVAL)).code).toBe(2);
  });
});

describe('bulwark scan into the store', () => {
  it('imports an inventory as a target, matches it against stored advisories, and keeps findings across scans', async () => {
    const db = join(dir, 'store.db');
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL)).code).toBe(0);
    const first = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-01');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^target web-01 \(azurelinux:3\.0\): 2 packages; 1 new, 0 still present, 0 closed$/m);
    const again = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-01');
    expect(again.out).toMatch(/1 still present/);
  });

  it('scans this machine with --local, through its own package manager', async () => {
    const db = join(dir, 'local.db');
    const r = await run('--db', db, 'scan', '--local', '--name', 'this-machine');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^target this-machine \([a-z]+:[0-9.]+\): \d+ packages; /m);
    const both = await run('--db', db, 'scan', '--local', '--inventory', inv);
    expect(both.code).toBe(2);
  });

  requires(tools('rpmbuild', 'rpm')).it('reads an image root with the real rpm', async () => {
    const root = buildRpmRoot(join(dir, 'build'), join(dir, 'rootfs'), [
      { name: 'golang', version: '1.20.6', release: '1.azl3' },
      { name: 'perl', epoch: 4, version: '5.38.2', release: '509.azl3' },
    ], { ownSource: true });
    const db = join(dir, 'root.db');
    await run('--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', OVAL);
    const r = await run('--db', db, 'scan', '--root', root, '--release', 'azurelinux:3.0', '--format', 'json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { target: string; findings: { advisoryId: string; package: string; reason: string | null }[] };
    expect(doc.target).toBe('rootfs');
    expect(doc.findings.map((f) => `${f.advisoryId} ${f.package} ${f.reason === null ? '' : 'corrected'}`).sort()).toEqual(['oval:com.microsoft.azurelinux:def:1 golang ', 'oval:com.microsoft.azurelinux:def:3 perl corrected']);
  });
});
