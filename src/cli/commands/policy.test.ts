import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { afterAll, describe, expect, it } from 'vitest';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

const PROD = readFileSync(join(import.meta.dirname, '..', '..', 'policy', '__fixtures__', 'prod.yaml'), 'utf8');

describe('bulwark policy and plan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-policy-'));
  const db = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies versioned policies, plans from the store\'s findings and diffs plans', async () => {
    const f = join(dir, 'p.yaml');
    // The demo host, tagged prod, in scope of a copy of the production policy.
    writeFileSync(f, PROD.replace('tags: [prod]', 'tags: []').replace('hosts: [web-01]', 'hosts: [demo-azl3-vm]'));
    expect((await run('--db', db, 'policy', 'apply', '-f', f)).out).toBe('policy azl3-prod: version 1 applied\n');
    expect((await run('--db', db, 'policy', 'apply', '-f', f)).out).toBe('policy azl3-prod: unchanged (version 1)\n');
    expect((await run('--db', db, 'policy', 'list')).out).toMatch(/^azl3-prod\s+1\s+/m);
    expect((await run('--db', db, 'demo')).code).toBe(0);
    const plan = JSON.parse((await run('--db', db, 'plan', '--policy', 'azl3-prod', '--format', 'json', '--at', '2026-11-24T12:00:00Z')).out) as { policyVersion: number; entries: { target: string; ring: string; packages: { name: string; to: string }[]; excluded: { package: string }[]; reboot: boolean }[] };
    expect(plan.policyVersion).toBe(1);
    const e = plan.entries[0];
    expect([e?.target, e?.ring, e?.reboot]).toEqual(['demo-azl3-vm', 'canary', true]);
    // openssl's fix (3.3.0-3.azl3) is within its pin (3.3.*).
    expect(e?.packages.map((p) => `${p.name} ${p.to}`)).toEqual(expect.arrayContaining(['golang 0:1.22.7-2.azl3', 'kernel 0:6.6.57.1-10.azl3', 'openssl 0:3.3.0-3.azl3']));
    expect(e?.excluded).toEqual([]);
    const table = await run('--db', db, 'plan', '--policy', 'azl3-prod');
    expect(table.out).toMatch(/^canary\s+demo-azl3-vm\s+/m);
    const first = await run('--db', db, 'plan', 'diff', '--policy', 'azl3-prod');
    expect(first.out).toMatch(/^since \S+: 0 hosts added, 0 removed, 0 changed$/m);
    // Version 2 pins openssl to 3.2.*: the plan stops updating it.
    writeFileSync(f, PROD.replace('tags: [prod]', 'tags: []').replace('hosts: [web-01]', 'hosts: [demo-azl3-vm]').replace('"3.3.*"', '"3.2.*"'));
    expect((await run('--db', db, 'policy', 'apply', '-f', f)).out).toBe('policy azl3-prod: version 2 applied\n');
    const diff = await run('--db', db, 'plan', 'diff', '--policy', 'azl3-prod');
    expect(diff.out).toMatch(/^~ demo-azl3-vm: .*-openssl(;|$)/m);
    expect((await run('--db', db, 'plan', '--policy', 'azl3-prod')).out).toContain('not updating openssl: pinned to 3.2.*');
    const audit = JSON.parse((await run('--db', db, 'audit', '--json')).out) as { action: string; subject: string; detail: { version?: number } }[];
    expect(audit.filter((a) => a.action === 'policy.apply').map((a) => a.detail.version)).toEqual([2, 1]);
    expect(audit.some((a) => a.action === 'plan.create' && a.subject === 'azl3-prod')).toBe(true);
  });

  it('refuses a bad policy file with its line, and prints the JSON Schema', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'apiVersion: bulwark/v1\nkind: Policy\nname: x\ncadence:\n  monthly: { weekday: someday, week: 2 }\n');
    const r = await run('--db', db, 'policy', 'apply', '-f', f);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/bad\.yaml:5:\d+: cadence\.monthly\.weekday: Invalid option/);
    const s = JSON.parse((await run('policy', 'schema')).out) as { title: string };
    expect(s.title).toBe('Bulwark patch policy');
  });
});
