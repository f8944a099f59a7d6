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

  it('refuses a policy file nested 200,000 deep with a configuration error, not a crash (issue #20, item 3)', async () => {
    const f = join(dir, 'deep.yaml');
    writeFileSync(f, `apiVersion: bulwark/v1\nkind: Policy\nname: x\nexclude: ${'['.repeat(200_000)}\n`);
    const r = await run('--db', db, 'policy', 'apply', '-f', f);
    expect([r.code, r.err.trim()]).toEqual([3, expect.stringMatching(/deep\.yaml:4: nested deeper than 64 levels$/)]);
  });
});

describe('bulwark approve, hold, unhold and decisions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-decide-'));
  const db = join(dir, 'b.db');
  const env = { USER: 'alice' };
  const cli = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(['--db', db, ...args], env);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  interface Entry {
    approval: string;
    awaitingApproval: string[];
    packages: { name: string; advisories: string[] }[];
    held: { advisory: string; reason: string }[];
  }
  const plan = async (): Promise<Entry> => {
    const r = await cli('plan', '--policy', 'gated', '--format', 'json');
    expect(r.code).toBe(0);
    const entries = (JSON.parse(r.out) as { entries: Entry[] }).entries;
    expect(entries).toHaveLength(1);
    return entries[0] as Entry;
  };

  it('an entry under a manual rule waits until its advisories are approved; a hold takes an advisory out until lifted; all audited with the actor', async () => {
    expect((await cli('demo')).code).toBe(0);
    const f = join(dir, 'gated.yaml');
    writeFileSync(
      f,
      'apiVersion: bulwark/v1\nkind: Policy\nname: gated\nscope: { hosts: [demo-azl3-vm] }\ncadence: { monthly: { weekday: tuesday, week: 2 } }\noutOfBand:\n  - { name: reviewed, match: { severity: [critical, high, medium, low] }, deadlineHours: 72, approval: manual }\nrollout: { rings: [{ name: all, percent: 100 }] }\n',
    );
    expect((await cli('policy', 'apply', '-f', f)).code).toBe(0);
    const before = await plan();
    expect(before.approval).toBe('pending');
    const advisories = [...new Set(before.packages.flatMap((p) => p.advisories))].sort();
    expect(before.awaitingApproval).toEqual(advisories);
    expect(advisories.length).toBeGreaterThan(1);
    expect((await cli('plan', '--policy', 'gated')).out).toContain(`waits for approval of ${advisories.join(', ')}`);

    // Approving all but one still leaves the entry pending, on that one.
    const [last, ...rest] = advisories as [string, ...string[]];
    expect((await cli('approve', '--policy', 'gated', ...rest)).code).toBe(0);
    expect((await plan()).awaitingApproval).toEqual([last]);
    expect((await cli('approve', '--policy', 'gated', last, '--reason', 'CAB-1234')).out).toBe(`gated: ${last} approved\n`);
    expect((await plan()).approval).toBe('approved');

    // A hold: the advisory's packages leave the plan, with the reason and who held it.
    const heldPkgs = before.packages.filter((p) => p.advisories.length === 1 && p.advisories[0] === last).map((p) => p.name);
    expect(heldPkgs.length).toBeGreaterThan(0);
    expect((await cli('hold', '--policy', 'gated', last)).code).toBe(2);
    expect((await cli('hold', '--policy', 'gated', last, '--reason', 'vendor regression', '--until', '2020-01-01')).err).toMatch(/not a time in the future/);
    expect((await cli('hold', '--policy', 'nope', last, '--reason', 'x')).err).toMatch(/no policy named "nope"/);
    expect((await cli('hold', '--policy', 'gated', last, '--reason', 'vendor regression', '--until', '2099-01-01')).out).toBe(`gated: ${last} held until 2099-01-01T23:59:59.000Z\n`);
    const held = await plan();
    expect(held.held).toEqual([{ advisory: last, reason: 'vendor regression (held by cli:alice)', until: '2099-01-01T23:59:59.000Z' }]);
    for (const p of heldPkgs) expect(held.packages.map((x) => x.name)).not.toContain(p);
    const list = JSON.parse((await cli('decisions', '--policy', 'gated', '--json')).out) as { advisoryId: string; kind: string; actor: string }[];
    expect(list.filter((d) => d.kind === 'hold').map((d) => [d.advisoryId, d.actor])).toEqual([[last, 'cli:alice']]);
    expect(list.filter((d) => d.kind === 'approve')).toHaveLength(advisories.length);

    // Lifted: the packages come back; lifting again is an error.
    expect((await cli('unhold', '--policy', 'gated', last)).out).toBe(`gated: hold on ${last} lifted\n`);
    expect((await cli('unhold', '--policy', 'gated', last)).err).toMatch(/no active hold on/);
    expect((await plan()).packages.map((p) => p.name)).toEqual(before.packages.map((p) => p.name));
    expect((await cli('decisions', '--policy', 'gated', '--history')).out).toMatch(/hold .*cli:alice.*vendor regression\s+\S+ by cli:alice/);

    const audit = JSON.parse((await cli('audit', '--subject', 'gated', '--json')).out) as { action: string; actor: string; detail: { advisory?: string } }[];
    expect(audit.filter((a) => a.action.startsWith('advisory.')).map((a) => `${a.action}:${a.detail.advisory ?? ''}:${a.actor}`).reverse()).toEqual([
      ...rest.map((a) => `advisory.approve:${a}:cli:alice`),
      `advisory.approve:${last}:cli:alice`,
      `advisory.hold:${last}:cli:alice`,
      `advisory.unhold:${last}:cli:alice`,
    ]);
  });
});
