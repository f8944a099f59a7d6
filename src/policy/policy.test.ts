import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, policyJsonSchema, yamlPosition } from './load.js';
import { assemblePlan, isKernel, soakFor, unknownRingHosts, type PlanFinding, type PlanTarget } from './plan.js';

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
    [`${base}surprise: 1\n`, /^p\.yaml:6:1: surprise: Unrecognized key: "surprise"$/],
    [`${base}name: again\n`, /^p\.yaml:6:1: Map keys must be unique/],
  ])('refuses %j with the line and field', (text, re) => {
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(re);
  });

  it('shows every error at once, each with its line, and names a mistyped key as unknown with the key meant', () => {
    const text = `${base}outOfBand:\n  - name: crit\n    match: { severity: [critical] }\n    deadlinehours: 24\nrollout:\n  rings:\n    - { name: canary, percent: 130 }\nreboot: sometimes\n`;
    let message = '';
    try {
      parsePolicy(text, 'p.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    const lines = message.split('\n');
    expect(lines).toEqual([
      'p.yaml:9:5: outOfBand[0].deadlinehours: Unrecognized key: "deadlinehours" (did you mean "deadlineHours"?)',
      expect.stringMatching(/^p\.yaml:12:23: rollout\.rings\[0\]\.percent: Too big/),
      expect.stringMatching(/^p\.yaml:13:1: reboot: Invalid option/),
    ]);
    expect(message).not.toMatch(/deadlineHours: Invalid input/);
  });

  it('refuses YAML errors with a position, and alias bombs', () => {
    expect(() => parsePolicy('name: [unclosed', 'p.yaml')).toThrow(/^p\.yaml:1:\d+: /);
    const bomb = [
      'a: &a [x,x,x,x,x,x,x,x,x,x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    ].join('\n');
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
    expect(() =>
      parsePolicy(
        `${base}x: [${anchors}]
y: [${refs(100)}]
`,
        'p.yaml',
      ),
    ).toThrow(/Unrecognized key/);
    expect(() =>
      parsePolicy(
        `${base}x: [${anchors}]
y:
  [${refs(101)}]
`,
        'p.yaml',
      ),
    ).toThrow(/^p\.yaml:8: more than 100 aliases$/);
    // An asterisk in quoted or plain text is no alias.
    expect(
      parsePolicy(
        `${base}description: "${'*a '.repeat(200)}"
`,
        'p.yaml',
      ).description,
    ).toBe('*a '.repeat(200));
    expect(
      parsePolicy(
        `${base}description: a ${'*a '.repeat(200)}
`,
        'p.yaml',
      ).description,
    ).toBe(`a ${'*a '.repeat(200).trim()}`);
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

  it('describes every property of the JSON Schema, for editors', () => {
    const undescribed: string[] = [];
    let seen = 0;
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => {
          walk(n, `${at}[${String(i)}]`);
        });
        return;
      }
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      if (typeof o.properties === 'object' && o.properties !== null)
        for (const [key, prop] of Object.entries(o.properties as Record<string, Record<string, unknown>>)) {
          seen++;
          if (typeof prop.description !== 'string' || prop.description.length < 10) undescribed.push(`${at}.${key}`);
        }
      for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
    };
    walk(policyJsonSchema(), '');
    expect(seen).toBeGreaterThan(40);
    expect(undescribed).toEqual([]);
  });
});

describe('rings naming hosts', () => {
  it('finds every unknown host with its place and the closest known name (one or two characters off)', () => {
    const text = PROD.replace('hosts: [web-01]', 'hosts: [web-1, web-01, db-primary]').replace(
      '- { name: early, percent: 30 }',
      '- { name: early, hosts: [app-07], percent: 30 }',
    );
    const p = parsePolicy(text, 'prod.yaml');
    expect(unknownRingHosts(p, ['web-01', 'web-02', 'app-7', 'db-replica'])).toEqual([
      { ring: 0, index: 0, host: 'web-1', suggestion: 'web-01' },
      { ring: 0, index: 2, host: 'db-primary', suggestion: null },
      { ring: 1, index: 0, host: 'app-07', suggestion: 'app-7' },
    ]);
    expect(unknownRingHosts(p, ['web-1', 'web-01', 'db-primary', 'app-07'])).toEqual([]);
    const row = text.split('\n').findIndex((l) => l.includes('db-primary'));
    expect(yamlPosition(text, 'prod.yaml', ['rollout', 'rings', 0, 'hosts', 2])).toBe(
      `prod.yaml:${String(row + 1)}:${String((text.split('\n')[row] ?? '').indexOf('db-primary') + 1)}`,
    );
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
  const targets = [
    host('web-01'),
    ...Array.from({ length: 9 }, (_, i) => host(`app-${String(i)}`)),
    host('dev-01', ['dev']),
    host('old-01', ['prod'], 'mariner:2.0'),
  ];
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

  it("keeps each host in its percent ring however the fleet changes, with about each ring's share of a large fleet", () => {
    const fleet = (n: number, prefix = 'node') => Array.from({ length: n }, (_, i) => host(`${prefix}-${String(i)}`));
    const ringsOf = (ts: PlanTarget[]) =>
      new Map(assemblePlan({ policy, targets: ts, findings: ts.map((t) => finding(t.id, {})), now }).entries.map((e) => [e.target, e.ring]));
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
    expect(w?.packages.map((x) => [x.name, x.to])).toEqual([
      ['curl', '0:8.11.1-5.azl3'],
      ['openssl', '0:3.3.9-1.azl3'],
    ]);
    expect(w?.excluded).toEqual([{ package: 'zlib', why: 'no build of 0:1.3.1-1.azl3 or later in azl3-prod/prod' }]);
    expect(p.source).toEqual({ view: 'azl3-prod', environment: 'prod', repoId: 'bulwark-azl3' });
    // Without a source, the advisory's own fixed version is the target.
    expect(
      assemblePlan({ policy, targets, findings: fs, now })
        .entries.find((e) => e.target === 'web-01')
        ?.packages.map((x) => x.to),
    ).toEqual(['0:8.11.1-4.azl3', '0:3.3.5-1.azl3', '0:1.3.1-1.azl3']);
  });

  it('patching from a Debian content view compares a binary by its source version, as the fix is written', () => {
    const sourced = {
      ...policy,
      scope: { ...policy.scope, releases: ['debian:12'] },
      source: { view: 'bookworm-prod', environment: 'prod', repoId: 'bulwark-bookworm' },
    };
    // libldb2's own version (2:2.10…) is below every samba fix (2:4.21…): by its source's version it fixes.
    const available = new Map([
      [
        'libldb2',
        [
          { build: '2:2.10.0+samba4.21.0-1', source: '2:4.21.0-1' },
          { build: '2:2.10.1+samba4.21.3-1', source: '2:4.21.3-1' },
        ],
      ],
    ]);
    const deb = [host('deb-01', ['prod'], 'debian:12')];
    const fs = [finding('deb-01', { package: 'libldb2', installed: '2:2.9.0+samba4.20.0-1', fixed: '2:4.21.2-1', advisoryId: 'DSA-1' })];
    const p = assemblePlan({ policy: sourced, targets: deb, findings: fs, now, available });
    expect(p.entries.find((e) => e.target === 'deb-01')?.packages.map((x) => [x.name, x.to])).toEqual([['libldb2', '2:2.10.1+samba4.21.3-1']]);
  });

  it("holds an advisory until the end of its day in the policy's time zone", () => {
    const la = {
      ...policy,
      scope: {},
      cadence: { ...policy.cadence, timezone: 'America/Los_Angeles' },
      holds: [{ advisory: 'A-1', reason: 'vendor asked', until: '2026-09-10' }],
    };
    const held = (at: string): boolean =>
      assemblePlan({ policy: la, targets: [host('web-01')], findings: [finding('web-01', {})], now: new Date(at) }).entries.length === 0;
    expect(held('2026-09-11T00:30:00Z')).toBe(true); // 17:30 on the 10th in Los Angeles (it lifted here before)
    expect(held('2026-09-11T06:59:00Z')).toBe(true); // 23:59 local
    expect(held('2026-09-11T07:01:00Z')).toBe(false); // the 11th has begun there
  });

  it('auto-approves N calendar days after the cycle at local midnight, across a DST change', () => {
    // Cycle: 2026-10-20 (second Tuesday + 7) in Berlin; clocks go back on 2026-10-25; N = 7.
    const berlin = { ...policy, scope: {}, windows: [], approval: { ...policy.approval, autoApproveAfterDays: 7 } };
    const approval = (at: string) =>
      assemblePlan({
        policy: berlin,
        targets: [host('web-01')],
        findings: [finding('web-01', { firstSeen: '2026-10-21T00:00:00Z', publishedAt: '2026-10-21T00:00:00Z' })],
        now: new Date(at),
      }).entries[0]?.approval;
    expect(approval('2026-10-26T22:30:00Z')).toBe('pending'); // 23:30 on the 26th in Berlin (7 × 24 h had passed)
    expect(approval('2026-10-26T23:00:00Z')).toBe('approved'); // 00:00 on the 27th
  });

  it("sends a host's out-of-band packages before the monthly approval, and keeps its monthly packages for after it", () => {
    // 2026-11-18: the day after the cycle (2026-11-17); monthly work is approved 2 days after it.
    const at = new Date('2026-11-18T12:00:00Z');
    const two = { ...policy, scope: {}, windows: [] };
    const p = assemblePlan({
      policy: two,
      targets: [host('h1'), host('h2')],
      findings: [
        finding('h1', { package: 'kernel', fixed: '0:6.6.70.1-1.azl3', advisoryId: 'K-1', severity: 'critical', publishedAt: '2026-11-18T00:00:00Z' }),
        finding('h1', { package: 'glibc', fixed: '0:2.38-9.azl3', advisoryId: 'M-1' }),
        finding('h2', { package: 'glibc', fixed: '0:2.38-9.azl3', advisoryId: 'M-1' }),
      ],
      now: at,
    });
    const h1 = p.entries.find((e) => e.target === 'h1');
    const h2 = p.entries.find((e) => e.target === 'h2');
    // h1: the kernel now; glibc waits for the approval as it does on h2.
    expect([h1?.approval, h1?.packages.map((x) => x.name), h1?.awaitingApproval]).toEqual(['approved', ['kernel'], ['M-1']]);
    expect([h2?.approval, h2?.packages.map((x) => x.name), h2?.awaitingApproval]).toEqual(['pending', ['glibc'], ['M-1']]);
    // Once the cycle is approved, glibc goes on both.
    const later = assemblePlan({
      policy: two,
      targets: [host('h2')],
      findings: [finding('h2', { package: 'glibc', fixed: '0:2.38-9.azl3', advisoryId: 'M-1' })],
      now: new Date('2026-11-19T23:30:00Z'),
    });
    expect(later.entries[0]?.approval).toBe('approved');
  });

  it("shows an emergency's later rings when the run starts them: after the shortened soak, not the policy's full one", () => {
    // A critical advisory published at `now` (24 h deadline); a 48 h soak would put the rest past it.
    const p48 = {
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
      advisoryId: 'K-9',
      severity: 'critical' as const,
      publishedAt: now.toISOString(),
      firstSeen: now.toISOString(),
    };
    const p = assemblePlan({ policy: p48, targets: [host('web-01'), host('app-0')], findings: [finding('web-01', crit), finding('app-0', crit)], now });
    // The run (scheduler.ts) gets soakFor's 12 h: 24 h left, shared by one gap and the last ring.
    expect(soakFor(p.entries, 48, now.getTime())).toBe(12);
    expect(p.entries.map((e) => [e.ring, e.start, e.after ?? null, e.predictedBreach ?? null])).toEqual([
      ['canary', '2026-11-24T12:00:00.000Z', null, null],
      ['rest', '2026-11-25T00:00:00.000Z', { ring: 'canary', soakHours: 12 }, null],
    ]);
    expect(p.warnings).toEqual([]);
  });

  it('warns of predicted breaches: a ring that starts after its deadline, a window that ends after it', () => {
    // 2026-12-08: monthly deadline 2026-12-14T23:00Z (Patch Tuesday + 7, Berlin midnight). Canary Sat
    // 12-12, early Sun 12-13, the rest a day after that, so the next weekend: 12-19, after it.
    const at = new Date('2026-12-08T12:00:00Z');
    const fleet = [host('web-01'), ...Array.from({ length: 9 }, (_, i) => host(`app-${String(i)}`))];
    // app-1 also has regreSSHion (72 h, not an emergency), due during the canary's window.
    const fs = [
      ...fleet.map((t) => finding(t.id, {})),
      finding('web-01', { package: 'openssh', fixed: '0:9.8p1-3.azl3', advisoryId: 'S-1', cves: ['CVE-2024-6387'], publishedAt: '2026-12-09T03:00:00Z' }),
    ];
    const p = assemblePlan({ policy, targets: fleet, findings: fs, now: at });
    const w = p.entries.find((e) => e.target === 'web-01');
    expect(w).toMatchObject({
      start: '2026-12-12T01:00:00.000Z',
      windowEnd: '2026-12-12T05:00:00.000Z',
      deadline: '2026-12-12T03:00:00.000Z',
      predictedBreach: 'finish',
    });
    const rest = p.entries.filter((e) => e.ring === 'rest');
    expect(rest.length).toBeGreaterThan(0);
    for (const e of rest)
      expect(e).toMatchObject({
        start: '2026-12-19T01:00:00.000Z',
        deadline: '2026-12-14T23:00:00.000Z',
        predictedBreach: 'start',
        after: { ring: 'early', soakHours: 24 },
      });
    expect(p.entries.filter((e) => e.ring === 'early').every((e) => e.predictedBreach === undefined)).toBe(true);
    expect(p.warnings?.map((x) => [x.kind, x.ring, x.targets.length])).toEqual([
      ['may-finish-after-deadline', 'canary', 1],
      ['starts-after-deadline', 'rest', rest.length],
    ]);
    expect(p.warnings?.[1]?.message).toBe(
      `ring rest: ${String(rest.length)} hosts start after their deadline (the first due 2026-12-14T23:00:00.000Z, the ring starts 2026-12-19T01:00:00.000Z)`,
    );
    // A deadline already passed is a breach, not a prediction.
    const later = assemblePlan({ policy, targets: fleet, findings: fs, now: new Date('2026-12-16T12:00:00Z') });
    expect(later.entries.some((e) => e.predictedBreach !== undefined)).toBe(false);
    expect(later.breaches.length).toBeGreaterThan(0);
  });

  it("counts the soak from where the previous ring's runs ended, and holds the next ring while that ring is still being patched", () => {
    const noWindows = {
      ...policy,
      scope: {},
      windows: [],
      rollout: {
        ...policy.rollout,
        rings: [
          { name: 'canary', hosts: ['web-01'] },
          { name: 'rest', percent: 100 },
        ],
      },
    };
    const at = (h: Map<number, { ended: string | null; open: boolean }>) =>
      assemblePlan({ policy: noWindows, targets: [host('app-0')], findings: [finding('app-0', {})], now, ringHistory: h }).entries[0];
    // The canary began two days ago and ended 20 h ago: the rest goes 4 h from now, not at once.
    expect(at(new Map([[0, { ended: '2026-11-23T16:00:00.000Z', open: false }]]))).toMatchObject({
      ring: 'rest',
      start: '2026-11-24T16:00:00.000Z',
      after: { ring: 'canary', soakHours: 24 },
    });
    // The canary is still in a run (or halted): it ends no earlier than now.
    expect(at(new Map([[0, { ended: '2026-11-22T12:00:00.000Z', open: true }]]))).toMatchObject({
      start: '2026-11-25T12:00:00.000Z',
      after: { ring: 'canary', soakHours: 24, unfinished: true },
    });
    // Long soaked: at once, waiting for nobody.
    const done = at(new Map([[0, { ended: '2026-11-01T00:00:00.000Z', open: false }]]));
    expect([done?.start, done?.after]).toEqual(['2026-11-24T12:00:00.000Z', undefined]);
    // No soak: the rest still goes only once the canary has ended (a run takes its rings in turn),
    // and not while the canary is unfinished in a run (a halted canary holds the rest).
    const noSoak = { ...noWindows, rollout: { ...noWindows.rollout, soakHours: 0 } };
    const held = assemblePlan({
      policy: noSoak,
      targets: [host('app-0')],
      findings: [finding('app-0', {})],
      now,
      ringHistory: new Map([[0, { ended: null, open: true }]]),
    }).entries[0];
    expect([held?.start, held?.after]).toEqual(['2026-11-24T12:00:00.000Z', { ring: 'canary', soakHours: 0, unfinished: true }]);
    const both = assemblePlan({
      policy: noSoak,
      targets: [host('web-01'), host('app-0')],
      findings: [finding('web-01', {}), finding('app-0', {})],
      now,
    }).entries;
    expect(both.map((e) => [e.ring, e.start, e.after ?? null])).toEqual([
      ['canary', '2026-11-24T12:00:00.000Z', null],
      ['rest', '2026-11-24T12:00:00.000Z', { ring: 'canary', soakHours: 0 }],
    ]);
  });

  it('warns loudly of a ring naming a host that does not exist: the canary would be lost', () => {
    const typo = {
      ...policy,
      rollout: {
        ...policy.rollout,
        rings: [
          { name: 'canary', hosts: ['web-1'] },
          { name: 'rest', percent: 100 },
        ],
      },
    };
    const p = assemblePlan({ policy: typo, targets, findings, now });
    expect(p.warnings).toContainEqual({
      kind: 'unknown-ring-host',
      ring: 'canary',
      targets: ['web-1'],
      message: 'ring canary names "web-1": no such host; the ring has no host, so the rings after it go without it',
    });
  });

  it('leaves targets with no address (imported inventories) out of runs, and says so', () => {
    const imported = [{ ...host('imp-1'), reachable: false }, { ...host('imp-2'), reachable: false }, host('web-01')];
    const f = ['imp-1', 'imp-2', 'web-01'].map((t) => finding(t, { severity: 'critical', publishedAt: '2026-11-20T00:00:00Z' }));
    const p = assemblePlan({ policy, targets: imported, findings: f, now });
    expect(p.entries.map((e) => e.target)).toEqual(['web-01']);
    expect(p.warnings).toContainEqual({
      kind: 'unreachable-target',
      ring: '',
      targets: ['imp-1', 'imp-2'],
      message:
        '2 targets have no address Bulwark reaches them by (imported inventories), so no run patches them; left out of the rings: imp-1, imp-2 (`bulwark hosts add NAME --address … --replace`, or enroll an agent)',
    });
    expect(assemblePlan({ policy, targets: [host('web-01')], findings: f, now }).warnings?.some((w) => w.kind === 'unreachable-target')).toBe(false);
  });

  it('marks a finding past its deadline on a target no run reaches as unreachable, not plan work (issue #17)', () => {
    const old = { severity: 'critical' as const, publishedAt: '2024-10-01T00:00:00Z', firstSeen: '2024-10-01T00:00:00Z' };
    const p = assemblePlan({
      policy,
      targets: [{ ...host('imp-1'), reachable: false }, host('web-01')],
      findings: ['imp-1', 'web-01'].map((t) => finding(t, old)),
      now,
    });
    expect(p.breaches.map((b) => [b.target, b.unreachable])).toEqual([
      ['imp-1', true],
      ['web-01', undefined],
    ]);
  });

  it('says when a breach was first seen: an advisory published long before the host was scanned is overdue from its first scan', () => {
    const old = finding('app-0', {
      package: 'kernel',
      fixed: '0:6.6.70.1-1.azl3',
      advisoryId: 'K-1',
      severity: 'critical',
      publishedAt: '2024-10-01T00:00:00Z',
      firstSeen: '2026-11-24T11:00:00Z',
    });
    const p = assemblePlan({ policy, targets: [host('app-0')], findings: [old], now });
    expect(p.breaches).toEqual([
      {
        target: 'app-0',
        advisory: 'K-1',
        package: 'kernel',
        deadline: '2024-10-02T00:00:00.000Z',
        overdueHours: 18_804,
        firstSeen: '2026-11-24T11:00:00Z',
        publishedAt: '2024-10-01T00:00:00Z',
      },
    ]);
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
