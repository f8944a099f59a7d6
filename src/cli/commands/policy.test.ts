import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/cli.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../policy/load.js';
import { assemblePlan, type PlanFinding } from '../../policy/plan.js';
import { overdue, renderPlan } from './policy.js';
import { timelineOf } from '../../services/plan-timeline.js';
import { zoned } from '../plan-render.js';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);

const PROD = readFileSync(join(import.meta.dirname, '..', '..', 'policy', '__fixtures__', 'prod.yaml'), 'utf8');

describe('bulwark policy and plan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-policy-'));
  const db = join(dir, 'b.db');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies versioned policies, plans from the store's findings and diffs plans", async () => {
    const f = join(dir, 'p.yaml');
    // The demo host, tagged prod, in scope of a copy of the production policy.
    writeFileSync(f, PROD.replace('tags: [prod]', 'tags: []').replace('hosts: [web-01]', 'hosts: [demo-azl3-vm]'));
    // The host first: a ring may name only hosts the store knows.
    expect((await run('--db', db, 'demo')).code).toBe(0);
    expect((await run('--db', db, 'policy', 'apply', '-f', f)).out).toBe('policy azl3-prod: version 1 applied\n');
    expect((await run('--db', db, 'policy', 'apply', '-f', f)).out).toBe('policy azl3-prod: unchanged (version 1)\n');
    expect((await run('--db', db, 'policy', 'list')).out).toMatch(/^azl3-prod\s+1\s+/m);
    // The demo host is an imported inventory with no address: no run reaches it, so the plan
    // leaves it out of its rings, says so, and its overdue finding is not plan work (issue #17).
    const imported = await run('--db', db, 'plan', '--policy', 'azl3-prod', '--at', '2026-11-24T12:00:00Z');
    expect(imported.out).not.toMatch(/^canary\s+demo-azl3-vm/m);
    expect(imported.out).toMatch(/^no host to patch$/m);
    expect(imported.out).toMatch(
      /^1 warning:\n {2}1 target has no address Bulwark reaches it by \(an imported inventory\), so no run patches it; left out of the rings: demo-azl3-vm/m,
    );
    expect(imported.out).toMatch(/^1 finding past their deadline \(1 on targets no run reaches, so in no plan\):$/m);
    expect(imported.out).toMatch(/^ {2}demo-azl3-vm DEMO-2024-0002 golang: .*; unreachable: no address Bulwark reaches it by, no run patches it$/m);
    const importedJson = JSON.parse((await run('--db', db, 'plan', '--policy', 'azl3-prod', '--format', 'json', '--at', '2026-11-24T12:00:00Z')).out) as {
      entries: unknown[];
      breaches: { unreachable?: boolean }[];
      warnings: { kind: string; targets: string[] }[];
    };
    expect(importedJson.entries).toEqual([]);
    expect(importedJson.breaches.map((b) => b.unreachable)).toEqual([true]);
    expect(importedJson.warnings.filter((w) => w.kind === 'unreachable-target').map((w) => w.targets)).toEqual([['demo-azl3-vm']]);
    // Given an address, it is planned.
    expect((await run('--db', db, 'hosts', 'add', 'demo-azl3-vm', '--address', 'root@127.0.0.1', '--replace')).code).toBe(0);
    const plan = JSON.parse((await run('--db', db, 'plan', '--policy', 'azl3-prod', '--format', 'json', '--at', '2026-11-24T12:00:00Z')).out) as {
      policyVersion: number;
      timezone: string;
      entries: { target: string; ring: string; packages: { name: string; to: string }[]; excluded: { package: string }[]; reboot: boolean }[];
    };
    expect(plan.policyVersion).toBe(1);
    expect(plan.timezone).toBe('Europe/Berlin');
    const e = plan.entries[0];
    expect([e?.target, e?.ring, e?.reboot]).toEqual(['demo-azl3-vm', 'canary', true]);
    // openssl's fix (3.3.0-3.azl3) is within its pin (3.3.*).
    expect(e?.packages.map((p) => `${p.name} ${p.to}`)).toEqual(
      expect.arrayContaining(['golang 0:1.22.7-2.azl3', 'kernel 0:6.6.57.1-10.azl3', 'openssl 0:3.3.0-3.azl3']),
    );
    expect(e?.excluded).toEqual([]);
    const table = await run('--db', db, 'plan', '--policy', 'azl3-prod');
    expect(table.out).toMatch(/^canary\s+demo-azl3-vm\s+/m);
    // The demo's critical golang advisory was published in 2024 (24 h rule): overdue in days, and
    // why so many — it was overdue when the host was first scanned.
    const atPlan = await run('--db', db, 'plan', '--policy', 'azl3-prod', '--at', '2026-11-24T12:00:00Z');
    expect(atPlan.out).toMatch(
      /^ {2}demo-azl3-vm DEMO-2024-0002 golang: due 2024-10-02 02:00 CEST, 783 days overdue; already overdue when first seen on \d{4}-\d{2}-\d{2} \(counted from its publication on 2024-10-01\)$/m,
    );
    expect(atPlan.out).toMatch(/^1 finding past their deadline:$/m);
    expect(atPlan.out).not.toMatch(/\d h overdue/);
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

  it('refuses a ring naming a host that does not exist, every one with its line and the closest name, and plans keep warning of one removed since', async () => {
    const f = join(dir, 'typo.yaml');
    const text = PROD.replace('name: azl3-prod', 'name: typo').replace('tags: [prod]', 'tags: []').replace('hosts: [web-01]', 'hosts: [demo-azl3-v, db-99]');
    writeFileSync(f, text);
    const r = await run('--db', db, 'policy', 'apply', '-f', f);
    expect(r.code).toBe(3);
    const lines = text.split('\n');
    const row = lines.findIndex((l) => l.includes('demo-azl3-v,'));
    const at = (name: string): string => `typo.yaml:${String(row + 1)}:${String((lines[row] ?? '').indexOf(name) + 1)}`;
    expect(r.err).toContain(`${at('demo-azl3-v')}: rollout.rings[0].hosts[0]: no host named "demo-azl3-v" (did you mean "demo-azl3-vm"?)\n`);
    expect(r.err).toContain(`${at('db-99')}: rollout.rings[0].hosts[1]: no host named "db-99"\n`);
    expect((await run('--db', db, 'policy', 'list')).out).not.toMatch(/^typo\s/m);
    // Applied while the host existed, then the host is removed: the plan says so, loudly.
    writeFileSync(f, text.replace('hosts: [demo-azl3-v, db-99]', 'hosts: [demo-azl3-vm]'));
    expect((await run('--db', db, 'policy', 'apply', '-f', f)).code).toBe(0);
    expect((await run('--db', db, 'hosts', 'remove', 'demo-azl3-vm')).code).toBe(0);
    const plan = await run('--db', db, 'plan', '--policy', 'typo');
    expect(plan.out).toMatch(/^1 warning:\n {2}ring canary names "demo-azl3-vm": no such host; the ring has no host, so the rings after it go without it$/m);
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

describe('the plan as printed', () => {
  const policy = parsePolicy(PROD, 'prod.yaml');
  const finding = (target: string, over: Partial<PlanFinding> = {}): PlanFinding => ({
    targetId: target,
    advisorySource: 's',
    advisoryId: 'A-1',
    package: 'curl',
    installed: '0:8.8.0-1.azl3',
    fixed: '0:8.11.1-3.azl3',
    severity: 'medium',
    cvssScore: null,
    cves: [],
    publishedAt: '2026-11-20T00:00:00Z',
    firstSeen: '2026-11-20T00:00:00Z',
    status: 'open',
    ...over,
  });
  const fleet = ['web-01', ...Array.from({ length: 9 }, (_, i) => `app-${String(i)}`)].map((n) => ({
    id: n,
    name: n,
    release: 'azurelinux:3.0',
    tags: ['prod'],
    rebootRequired: false,
  }));

  it('marks the earliest starts of rings that wait for another, names the ring waited for, and warns of a ring starting after its deadline', () => {
    // 2026-12-08: the monthly deadline is 2026-12-14T23:00Z; the last ring's weekend is 12-19.
    const out = renderPlan(
      timelineOf(assemblePlan({ policy, targets: fleet, findings: fleet.map((t) => finding(t.id)), now: new Date('2026-12-08T12:00:00Z') }), policy),
      3,
      24,
    );
    // Times in the policy's zone (Europe/Berlin), the window with its end.
    expect(out).toMatch(/^plan of azl3-prod v3 at 2026-12-08 13:00 CET; next monthly cycle \S+ \S+ CET; times in Europe\/Berlin$/m);
    expect(out).toMatch(/^canary\s+web-01\s+monthly\s+2026-12-12 02:00 CET\s+weekend until 2026-12-\d\d \d\d:00 CET\s+2026-12-15 00:00 CET\s+approved/m);
    expect(out).toMatch(/^rest\s+app-\d\s+monthly\s+≥2026-12-19 02:00 CET\s+weekend until \S+ \S+ CET\s+2026-12-15 00:00 CET \(late\)\s+approved/m);
    expect(out).toContain(
      '\n  ring early: starts 24 h after ring canary ends; ≥: the earliest, if ring canary took no time\n  ring rest: starts 24 h after ring early ends; ≥: the earliest, if ring early took no time\n',
    );
    expect(out).toMatch(/^1 warning:\n {2}ring rest: \d hosts? starts? after their deadline/m);
  });

  it("shows an emergency's later ring after the soak the run shortens, and overdue figures in days past two days", () => {
    const at = new Date('2026-11-24T12:00:00Z');
    const rings = {
      ...policy,
      rollout: {
        ...policy.rollout,
        rings: [
          { name: 'canary', hosts: ['web-01'] },
          { name: 'rest', percent: 100 },
        ],
        soakHours: 48,
      },
    };
    const crit = {
      package: 'kernel',
      fixed: '0:6.6.70.1-1.azl3',
      advisoryId: 'K-1',
      severity: 'critical' as const,
      publishedAt: at.toISOString(),
      firstSeen: at.toISOString(),
    };
    const out = renderPlan(
      timelineOf(assemblePlan({ policy: rings, targets: fleet.slice(0, 2), findings: [finding('web-01', crit), finding('app-0', crit)], now: at }), rings),
      1,
      48,
    );
    expect(out).toMatch(/^rest\s+app-0\s+emergency\s+≥2026-11-25 01:00 CET\s+none: at once, outside windows\s+2026-11-25 13:00 CET\s/m);
    expect(out).toContain(
      "\n  ring rest (emergency): starts 12 h after ring canary ends (the policy's 48 h soak, shortened to meet the deadline); ≥: the earliest, if ring canary took no time\n",
    );
    expect([overdue(0), overdue(47), overdue(48), overdue(20_222)]).toEqual(['0 h overdue', '47 h overdue', '2 days overdue', '842 days overdue']);
  });
  it('shows the emergency part apart from the monthly work, each with its real window, and the packages grouped by advisory (issue #17)', () => {
    const at = new Date('2026-11-24T12:00:00Z');
    const crit = { package: 'kernel', fixed: '0:6.6.70.1-1.azl3', advisoryId: 'K-1', severity: 'critical' as const, publishedAt: at.toISOString() };
    const findings = [
      finding('web-01', crit),
      finding('web-01', { advisoryId: 'C-2' }),
      finding('web-01', { advisoryId: 'C-2', package: 'curl-libs' }),
      finding('web-01', { advisoryId: 'V-3', package: 'vim', fixed: '0:9.1.1-1.azl3', installed: '0:9.0.1-1.azl3' }),
    ];
    const out = renderPlan(timelineOf(assemblePlan({ policy, targets: fleet.slice(0, 1), findings, now: at }), policy), 1, 24);
    // Not "emergency" for every package: the kernel now, the rest in the weekend window.
    expect(out).toMatch(
      /^canary\s+web-01\s+emergency\s+2026-11-24 13:00 CET\s+none: at once, outside windows\s+\S+ \S+ CET\s+approved\s+yes\s+1 package, 1 advisory$/m,
    );
    // The monthly part shows its own deadline (the monthly one its findings have), not the emergency part's.
    const monthlyOnly = assemblePlan({ policy, targets: fleet.slice(0, 1), findings: findings.slice(1), now: at }).entries[0]?.deadline ?? '';
    const timeline = timelineOf(assemblePlan({ policy, targets: fleet.slice(0, 1), findings, now: at }), policy).entries[0];
    expect(timeline?.rest?.deadline).toBe(monthlyOnly);
    expect(timeline?.rest?.deadline).not.toBe(timeline?.deadline);
    expect(out).toMatch(
      new RegExp(
        `^canary\\s+web-01\\s+monthly\\s+≥2026-11-28 02:00 CET\\s+weekend until 2026-11-\\d\\d \\d\\d:\\d\\d CET\\s+${zoned(monthlyOnly, 'Europe/Berlin')}\\s+\\S+\\s+\\S+\\s+3 packages, 2 advisories$`,
        'm',
      ),
    );
    expect(out).toContain('packages by advisory:\n  web-01 emergency: K-1: kernel→0:6.6.70.1-1.azl3\n');
    // A critical curl with a monthly kernel: the emergency part reboots not (as the scheduler runs it), the monthly one does.
    const swapped = [
      finding('web-01', { ...crit, package: 'curl', fixed: '0:8.11.1-3.azl3' }),
      finding('web-01', { advisoryId: 'K-2', package: 'kernel', fixed: '0:6.6.70.1-1.azl3', installed: '0:6.6.57.1-10.azl3' }),
    ];
    const out2 = renderPlan(timelineOf(assemblePlan({ policy, targets: fleet.slice(0, 1), findings: swapped, now: at }), policy), 1, 24);
    expect(out2).toMatch(/^canary\s+web-01\s+emergency\s+.*\s+approved\s+no\s+1 package, 1 advisory$/m);
    expect(out2).toMatch(/^canary\s+web-01\s+monthly\s+.*\s+approved\s+yes\s+1 package, 1 advisory$/m);
    expect(out).toContain('\n  web-01 monthly: C-2: curl→0:8.11.1-3.azl3 curl-libs→0:8.11.1-3.azl3\n  web-01 monthly: V-3: vim→0:9.1.1-1.azl3\n');
  });
});

describe('bulwark approve, hold, unhold and decisions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-decide-'));
  const db = join(dir, 'b.db');
  const env = { USER: 'alice' };
  // The audit names the OS user running the CLI, not $USER (issue #17).
  const me = `cli:${userInfo().username}`;
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
    // An address: an imported host is in no plan's rings.
    expect((await cli('hosts', 'add', 'demo-azl3-vm', '--address', 'root@127.0.0.1', '--replace')).code).toBe(0);
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
    expect((await cli('hold', '--policy', 'gated', last, '--reason', 'vendor regression', '--until', '2099-01-01')).out).toBe(
      `gated: ${last} held until 2099-01-01T23:59:59.000Z\n`,
    );
    const held = await plan();
    expect(held.held).toEqual([{ advisory: last, reason: `vendor regression (held by ${me})`, until: '2099-01-01T23:59:59.000Z' }]);
    for (const p of heldPkgs) expect(held.packages.map((x) => x.name)).not.toContain(p);
    const list = JSON.parse((await cli('decisions', '--policy', 'gated', '--json')).out) as { advisoryId: string; kind: string; actor: string }[];
    expect(list.filter((d) => d.kind === 'hold').map((d) => [d.advisoryId, d.actor])).toEqual([[last, me]]);
    expect(list.filter((d) => d.kind === 'approve')).toHaveLength(advisories.length);

    // Lifted: the packages come back; lifting again is an error.
    expect((await cli('unhold', '--policy', 'gated', last)).out).toBe(`gated: hold on ${last} lifted\n`);
    expect((await cli('unhold', '--policy', 'gated', last)).err).toMatch(/no active hold on/);
    expect((await plan()).packages.map((p) => p.name)).toEqual(before.packages.map((p) => p.name));
    expect((await cli('decisions', '--policy', 'gated', '--history')).out).toMatch(new RegExp(`hold .*${me}.*vendor regression\\s+\\S+ by ${me}`));

    const audit = JSON.parse((await cli('audit', '--subject', 'gated', '--json')).out) as { action: string; actor: string; detail: { advisory?: string } }[];
    expect(
      audit
        .filter((a) => a.action.startsWith('advisory.'))
        .map((a) => `${a.action}:${a.detail.advisory ?? ''}:${a.actor}`)
        .reverse(),
    ).toEqual([
      ...rest.map((a) => `advisory.approve:${a}:${me}`),
      `advisory.approve:${last}:${me}`,
      `advisory.hold:${last}:${me}`,
      `advisory.unhold:${last}:${me}`,
    ]);
  });
});
