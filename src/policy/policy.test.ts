import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, policyJsonSchema } from './load.js';
import { assemblePlan, isKernel, type PlanFinding, type PlanTarget } from './plan.js';

const PROD = readFileSync(join(import.meta.dirname, '__fixtures__', 'prod.yaml'), 'utf8');

describe('policy files', () => {
  it('reads a full policy with defaults filled in', () => {
    const p = parsePolicy(PROD, 'prod.yaml');
    expect(p).toMatchObject({ name: 'azl3-prod', reboot: 'when-required', rollout: { soakHours: 24, maxConcurrency: 5 } });
    expect(p.outOfBand[1]).toMatchObject({ name: 'regresshion', emergency: false, approval: 'auto' });
  });

  const base = 'apiVersion: bulwark/v1\nkind: Policy\nname: p\ncadence:\n  monthly: { weekday: tuesday, week: 2 }\n';
  it.each([
    [`${base}rollout:\n  rings:\n    - { name: canary, percent: 130 }\n`, /^p\.yaml:8:23: rollout\.rings\[0\]\.percent: Too big/],
    [`${base}windows:\n  - { name: w, days: [caturday], start: "02:00", durationHours: 4 }\n`, /^p\.yaml:7:\d+: windows\[0\]\.days\[0\]: Invalid option/],
    [base.replace('week: 2 }', 'week: 2 }\n  timezone: Mars/Olympus'), /^p\.yaml:6:3: cadence\.timezone: an IANA time zone/],
    [`${base}surprise: 1\n`, /^p\.yaml:\d+:\d+: Unrecognized key: "surprise"/],
    [`${base}name: again\n`, /^p\.yaml:6:1: Map keys must be unique/],
  ])('refuses %j with the line and field', (text, re) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(re);
  });

  it('refuses YAML errors with a position, and alias bombs', () => {
    expect(() => parsePolicy('name: [unclosed', 'p.yaml')).toThrow(/^p\.yaml:1:\d+: /);
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    expect(() => parsePolicy(bomb, 'bomb.yaml')).toThrow(/bomb\.yaml/);
  });

  // 5,000 nested "[" (10 KB) killed the process in the yaml parser (issue #20, item 3): refused
  // before parsing, with the file and line, whatever the form of nesting.
  it.each([
    ['200,000 nested [', '['.repeat(200_000)],
    ['5,000 nested [', '['.repeat(5_000)],
    ['nested [ after a policy header', `${base}rollout: ${'['.repeat(5_000)}`],
    ['5,000 nested {a:', '{a: '.repeat(5_000)],
    ['100,000 compact sequences', `${'- '.repeat(100_000)}x`],
    ['50,000 explicit keys', '? '.repeat(50_000)],
    ['1,400 indented maps', Array.from({ length: 1_400 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')],
  ])('refuses %s before parsing', (_, text) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(/^p\.yaml(:\d+)?: nested deeper than 64 levels$/);
  });

  it('refuses a file over 1 MiB before parsing, and still reads brackets in text and wide flow maps', () => {
    expect(() => parsePolicy(`${base}# ${'x'.repeat(1024 * 1024)}\n`, 'p.yaml')).toThrow(/^p\.yaml: the file is larger than 1048576 bytes$/);
    const quoted = `${base}description: "${'['.repeat(500)}"\npins: { ${Array.from({ length: 100 }, (_, i) => `p${String(i)}: "1.${String(i)}"`).join(', ')} }\n`;
    const q = parsePolicy(quoted, 'p.yaml');
    expect([q.description, Object.keys(q.pins).length]).toEqual(['['.repeat(500), 100]);
    const plain = `${base}description: ${'x[-'.repeat(200)}\nexclude:\n  - - -x\n`;
    expect(() => parsePolicy(plain, 'p.yaml')).toThrow(/exclude\[0\]: Invalid input: expected string, received array/);
    expect(parsePolicy(plain.replace(/exclude:.*$/s, ''), 'p.yaml').description).toBe('x[-'.repeat(200));
    // 60 levels of flow nesting is still YAML we read (the schema then says what is wrong).
    expect(() => parsePolicy(`${base}x: ${'['.repeat(60)}${']'.repeat(60)}\n`, 'p.yaml')).toThrow(/Unrecognized key: "x"/);
  });

  // A 1 MB body of aliases over anchors took 58 s, and one mapping of 90,000 keys 100 s, of the
  // server's only thread (the yaml package walks the document per alias and compares each key
  // with every other): aliases are capped before parsing and keys are checked once each.
  it('refuses more than 100 aliases before parsing, naming the file and line', () => {
    const anchors = Array.from({ length: 20 }, (_, i) => `&a${String(i)} ${String(i)}`).join(', ');
    const refs = (n: number): string => Array.from({ length: n }, (_, i) => `*a${String(i % 20)}`).join(', ');
    expect(() => parsePolicy(`${base}x: [${anchors}]
y: [${refs(100)}]
`, 'p.yaml')).toThrow(/Unrecognized key/);
    expect(() => parsePolicy(`${base}x: [${anchors}]
y:
  [${refs(101)}]
`, 'p.yaml')).toThrow(/^p\.yaml:8: more than 100 aliases$/);
    // An asterisk in quoted or plain text is no alias.
    expect(parsePolicy(`${base}description: "${'*a '.repeat(200)}"
`, 'p.yaml').description).toBe('*a '.repeat(200));
    expect(parsePolicy(`${base}description: a ${'*a '.repeat(200)}
`, 'p.yaml').description).toBe(`a ${'*a '.repeat(200).trim()}`);
  });

  it('reads a mapping of 90,000 keys and names a duplicate among them by its line', () => {
    const keys = Array.from({ length: 90_000 }, (_, i) => `  p${i.toString(36)}: a\n`).join('');
    expect(Object.keys(parsePolicy(`${base}pins:\n${keys}`, 'p.yaml').pins)).toHaveLength(90_000);
    expect(() => parsePolicy(`${base}pins:\n${keys}  p7: b\n  p8: c\n`, 'p.yaml')).toThrow(/^p\.yaml:90007:3: Map keys must be unique$/);
  });

  it('publishes a JSON Schema for editors', () => {
    const s = policyJsonSchema() as { $id: string; properties: Record<string, unknown>; required: string[] };
    expect(s.$id).toContain('policy-v1');
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['cadence', 'outOfBand', 'windows', 'rollout', 'reboot']));
    expect(s.required).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'name', 'cadence']));
  });
});

describe('assemblePlan', () => {
  const policy = parsePolicy(PROD, 'prod.yaml');
  const host = (name: string, tags = ['prod'], release = 'azurelinux:3.0'): PlanTarget => ({ id: name, name, release, tags, rebootRequired: false });
  const finding = (target: string, over: Partial<PlanFinding>): PlanFinding => ({
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
  const now = new Date('2026-11-24T12:00:00Z'); // a Tuesday; Patch Tuesday + 7 was 2026-11-17
  const targets = [host('web-01'), ...Array.from({ length: 9 }, (_, i) => host(`app-${String(i)}`)), host('dev-01', ['dev']), host('old-01', ['prod'], 'mariner:2.0')];
  const findings = [
    ...targets.map((t) => finding(t.id, {})),
    finding('web-01', { package: 'curl', fixed: '0:8.11.1-4.azl3', advisoryId: 'A-2' }),
    finding('web-01', { package: 'openssl', fixed: '0:3.4.0-1.azl3', advisoryId: 'A-3' }),
    finding('web-01', { package: 'kernel-devel', fixed: '0:6.6.1-1.azl3', advisoryId: 'A-4' }),
    finding('web-01', { package: 'bash', advisoryId: 'HELD-1' }),
    finding('app-0', { package: 'kernel', fixed: '0:6.6.70.1-1.azl3', advisoryId: 'K-1', severity: 'critical', publishedAt: '2026-11-22T00:00:00Z' }),
    finding('app-1', { package: 'openssh', fixed: '0:9.8p1-3.azl3', advisoryId: 'S-1', cves: ['CVE-2024-6387'], publishedAt: '2026-11-20T00:00:00Z' }),
    finding('app-2', { status: 'no-fix', fixed: null, advisoryId: 'N-1', package: 'vim' }),
  ];
  const plan = assemblePlan({ policy, targets, findings, now });
  const entry = (name: string) => plan.entries.find((e) => e.target === name);

  it('keeps to the scope: release and tags', () => {
    expect(plan.entries.map((e) => e.target).sort()).toEqual(['app-0', 'app-1', 'app-2', 'app-3', 'app-4', 'app-5', 'app-6', 'app-7', 'app-8', 'web-01']);
  });

  it('plans exact target versions (the highest fix per package), honouring holds, exclusions and pins', () => {
    const w = entry('web-01');
    expect(w?.packages).toEqual([{ name: 'curl', from: '0:8.8.0-1.azl3', to: '0:8.11.1-4.azl3', advisories: ['A-1', 'A-2'], emergency: false }]);
    expect(w?.held).toEqual([{ advisory: 'HELD-1', reason: 'breaks the billing app, vendor fix expected', until: '2099-01-01' }]);
    expect(w?.excluded).toEqual([
      { package: 'openssl', why: 'pinned to 3.3.*' },
      { package: 'kernel-devel', why: 'excluded by "kernel-devel*"' },
    ]);
  });

  it('puts the canary first, then 30 % of the fleet, then the rest, each ring in the next window after the previous ring soaked', () => {
    expect(entry('web-01')).toMatchObject({ ring: 'canary', start: '2026-11-28T01:00:00.000Z', window: 'weekend', windowEnd: '2026-11-28T05:00:00.000Z' });
    const early = plan.entries.filter((e) => e.ring === 'early');
    expect(early.length).toBeGreaterThan(0);
    for (const e of early) expect(['2026-11-29T01:00:00.000Z', '2026-11-24T12:00:00.000Z']).toContain(e.start);
    const rest = plan.entries.filter((e) => e.ring === 'rest');
    expect(early.length + rest.length).toBe(9);
    for (const e of rest.filter((x) => !x.emergency)) expect(Date.parse(e.start)).toBeGreaterThanOrEqual(Date.parse('2026-11-29T01:00:00.000Z'));
  });

  it('keeps each host in its percent ring however the fleet changes, with about each ring\'s share of a large fleet', () => {
    const fleet = (n: number, prefix = 'node') => Array.from({ length: n }, (_, i) => host(`${prefix}-${String(i)}`));
    const ringsOf = (ts: PlanTarget[]) => new Map(assemblePlan({ policy, targets: ts, findings: ts.map((t) => finding(t.id, {})), now }).entries.map((e) => [e.target, e.ring]));
    const big = ringsOf(fleet(1000));
    const share = [...big.values()].filter((r) => r === 'early').length / 1000;
    expect(share).toBeGreaterThan(0.26);
    expect(share).toBeLessThan(0.34);
    // Half of the fleet patched (no work left), 200 hosts added: nobody else changes ring.
    const changed = ringsOf([...fleet(1000).filter((_, i) => i % 2 === 0), ...fleet(200, 'new')]);
    for (const [name, ring] of changed) if (big.has(name)) expect([name, ring]).toEqual([name, big.get(name)]);
    // A fleet too small to land in the 30 % by chance still has an early ring.
    const small = ringsOf(fleet(2, 'tiny'));
    expect([...small.values()].sort()).toEqual(['early', 'rest']);
  });

  it('gives out-of-band deadlines from publication, patches emergencies at once, and reboots for kernels', () => {
    const k = entry('app-0');
    expect(k).toMatchObject({ emergency: true, deadline: '2026-11-23T00:00:00.000Z', reboot: true, reasons: ['critical-24h', 'monthly'] });
    expect(k?.packages.map((p) => [p.name, p.emergency])).toEqual([
      ['curl', false],
      ['kernel', true],
    ]);
    expect(entry('app-1')).toMatchObject({ deadline: '2026-11-23T00:00:00.000Z', reasons: ['monthly', 'regresshion'], emergency: false });
    // The next cycle: Patch Tuesday (2026-12-08) + 7 days, at midnight in Berlin.
    expect(entry('app-3')).toMatchObject({ deadline: '2026-12-14T23:00:00.000Z', reasons: ['monthly'] });
  });

  it('reports breaches, and approves the monthly cycle only after autoApproveAfterDays', () => {
    expect(plan.breaches.map((b) => [b.target, b.advisory, b.overdueHours])).toEqual([
      ['app-0', 'K-1', 36],
      ['app-1', 'S-1', 36],
    ]);
    expect(entry('app-3')?.approval).toBe('approved');
    const early = assemblePlan({ policy, targets, findings, now: new Date('2026-11-17T12:00:00Z') });
    expect(early.entries.find((e) => e.target === 'app-3')?.approval).toBe('pending');
    expect(early.entries.find((e) => e.target === 'app-0')?.approval).toBe('approved');
  });

  it('patching from a content view: the lowest published build that fixes (and the pin allows); a fix the view lacks waits, named', () => {
    const sourced = { ...policy, source: { view: 'azl3-prod', environment: 'prod', repoId: 'bulwark-azl3' } };
    const available = new Map([
      ['curl', ['0:8.8.0-1.azl3', '0:8.11.1-3.azl3', '0:8.11.1-5.azl3', '0:8.12.0-1.azl3']],
      ['openssl', ['0:3.3.0-2.azl3', '0:3.3.9-1.azl3', '0:3.4.2-1.azl3']],
    ]);
    const fs = [
      finding('web-01', { package: 'curl', fixed: '0:8.11.1-4.azl3', advisoryId: 'A-2' }),
      finding('web-01', { package: 'openssl', installed: '0:3.3.0-2.azl3', fixed: '0:3.3.5-1.azl3', advisoryId: 'A-3' }),
      finding('web-01', { package: 'zlib', fixed: '0:1.3.1-1.azl3', advisoryId: 'A-5' }),
    ];
    const p = assemblePlan({ policy: sourced, targets, findings: fs, now, available });
    const w = p.entries.find((e) => e.target === 'web-01');
    // 8.11.1-4 is not in the view: 8.11.1-5 is the lowest build that fixes. openssl: 3.4.2 is pinned out.
    expect(w?.packages.map((x) => [x.name, x.to])).toEqual([['curl', '0:8.11.1-5.azl3'], ['openssl', '0:3.3.9-1.azl3']]);
    expect(w?.excluded).toEqual([{ package: 'zlib', why: 'no build of 0:1.3.1-1.azl3 or later in azl3-prod/prod' }]);
    expect(p.source).toEqual({ view: 'azl3-prod', environment: 'prod', repoId: 'bulwark-azl3' });
    // Without a source, the advisory's own fixed version is the target.
    expect(assemblePlan({ policy, targets, findings: fs, now }).entries.find((e) => e.target === 'web-01')?.packages.map((x) => x.to)).toEqual(['0:8.11.1-4.azl3', '0:3.3.5-1.azl3', '0:1.3.1-1.azl3']);
  });

  it('patching from a Debian content view compares a binary by its source version, as the fix is written', () => {
    const sourced = { ...policy, scope: { ...policy.scope, releases: ['debian:12'] }, source: { view: 'bookworm-prod', environment: 'prod', repoId: 'bulwark-bookworm' } };
    // libldb2's own version (2:2.10…) is below every samba fix (2:4.21…): by its source's version it fixes.
    const available = new Map([['libldb2', [{ build: '2:2.10.0+samba4.21.0-1', source: '2:4.21.0-1' }, { build: '2:2.10.1+samba4.21.3-1', source: '2:4.21.3-1' }]]]);
    const deb = [host('deb-01', ['prod'], 'debian:12')];
    const fs = [finding('deb-01', { package: 'libldb2', installed: '2:2.9.0+samba4.20.0-1', fixed: '2:4.21.2-1', advisoryId: 'DSA-1' })];
    const p = assemblePlan({ policy: sourced, targets: deb, findings: fs, now, available });
    expect(p.entries.find((e) => e.target === 'deb-01')?.packages.map((x) => [x.name, x.to])).toEqual([['libldb2', '2:2.10.1+samba4.21.3-1']]);
  });

  it('holds an advisory until the end of its day in the policy\'s time zone', () => {
    const la = { ...policy, scope: {}, cadence: { ...policy.cadence, timezone: 'America/Los_Angeles' }, holds: [{ advisory: 'A-1', reason: 'vendor asked', until: '2026-09-10' }] };
    const held = (at: string): boolean => assemblePlan({ policy: la, targets: [host('web-01')], findings: [finding('web-01', {})], now: new Date(at) }).entries.length === 0;
    expect(held('2026-09-11T00:30:00Z')).toBe(true); // 17:30 on the 10th in Los Angeles (it lifted here before)
    expect(held('2026-09-11T06:59:00Z')).toBe(true); // 23:59 local
    expect(held('2026-09-11T07:01:00Z')).toBe(false); // the 11th has begun there
  });

  it('auto-approves N calendar days after the cycle at local midnight, across a DST change', () => {
    // Cycle: 2026-10-20 (second Tuesday + 7) in Berlin; clocks go back on 2026-10-25; N = 7.
    const berlin = { ...policy, scope: {}, windows: [], approval: { ...policy.approval, autoApproveAfterDays: 7 } };
    const approval = (at: string) => assemblePlan({ policy: berlin, targets: [host('web-01')], findings: [finding('web-01', { firstSeen: '2026-10-21T00:00:00Z', publishedAt: '2026-10-21T00:00:00Z' })], now: new Date(at) }).entries[0]?.approval;
    expect(approval('2026-10-26T22:30:00Z')).toBe('pending'); // 23:30 on the 26th in Berlin (7 × 24 h had passed)
    expect(approval('2026-10-26T23:00:00Z')).toBe('approved'); // 00:00 on the 27th
  });

  it('sends a host\'s out-of-band packages before the monthly approval, and keeps its monthly packages for after it', () => {
    // 2026-11-18: the day after the cycle (2026-11-17); monthly work is approved 2 days after it.
    const at = new Date('2026-11-18T12:00:00Z');
    const two = { ...policy, scope: {}, windows: [] };
    const p = assemblePlan({
      policy: two,
      targets: [host('h1'), host('h2')],
      findings: [finding('h1', { package: 'kernel', fixed: '0:6.6.70.1-1.azl3', advisoryId: 'K-1', severity: 'critical', publishedAt: '2026-11-18T00:00:00Z' }), finding('h1', { package: 'glibc', fixed: '0:2.38-9.azl3', advisoryId: 'M-1' }), finding('h2', { package: 'glibc', fixed: '0:2.38-9.azl3', advisoryId: 'M-1' })],
      now: at,
    });
    const h1 = p.entries.find((e) => e.target === 'h1');
    const h2 = p.entries.find((e) => e.target === 'h2');
    // h1: the kernel now; glibc waits for the approval as it does on h2.
    expect([h1?.approval, h1?.packages.map((x) => x.name), h1?.awaitingApproval]).toEqual(['approved', ['kernel'], ['M-1']]);
    expect([h2?.approval, h2?.packages.map((x) => x.name), h2?.awaitingApproval]).toEqual(['pending', ['glibc'], ['M-1']]);
    // Once the cycle is approved, glibc goes on both.
    const later = assemblePlan({ policy: two, targets: [host('h2')], findings: [finding('h2', { package: 'glibc', fixed: '0:2.38-9.azl3', advisoryId: 'M-1' })], now: new Date('2026-11-19T23:30:00Z') });
    expect(later.entries[0]?.approval).toBe('approved');
  });

  it('is a pure function: the same input gives the same plan', () => {
    expect(assemblePlan({ policy, targets, findings, now })).toEqual(plan);
  });
});

describe('which packages take a reboot', () => {
  it.each([
    ['kernel', true],
    ['kernel-core', true],
    ['kernel-modules-extra', true],
    ['kernel-64k', true],
    ['kernel-hwe', true],
    ['linux-image-6.1.0-28-amd64', true],
    ['kernel-devel', false],
    ['kernel-headers', false],
    ['kernel-tools', false],
    ['kernel-tools-libs', false],
    ['kernel-debuginfo', false],
    ['kernel-debuginfo-common-x86_64', false],
    ['kernel-srpm-macros', false],
    ['linux-headers-6.1.0-28-amd64', false],
    ['kernelshark', false],
  ])('%s: %s', (name, yes) => {
    expect(isKernel(name)).toBe(yes);
  });
});
