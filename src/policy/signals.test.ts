import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load.js';
import { assemblePlan, signalsNamed, type PlanFinding, type PlanSignals, type PlanTarget } from './plan.js';

const policy = (rules: string): ReturnType<typeof parsePolicy> =>
  parsePolicy(
    `apiVersion: bulwark/v1
kind: Policy
name: p
cadence: { monthly: { weekday: tuesday, week: 2 } }
outOfBand:
${rules}
windows:
  - { name: weekend, days: [saturday], start: "02:00", durationHours: 4 }
`,
    'p.yaml',
  );

const targets: PlanTarget[] = [{ id: 't1', name: 'h1', release: 'azurelinux:3.0', tags: [], rebootRequired: false }];
const finding = (id: string, pkg: string, cves: string[]): PlanFinding => ({
  targetId: 't1',
  advisorySource: 's',
  advisoryId: id,
  package: pkg,
  installed: '0:1-1',
  fixed: '0:2-1',
  severity: 'medium',
  cvssScore: 5,
  cves,
  publishedAt: '2026-11-20T00:00:00Z',
  firstSeen: '2026-11-20T00:00:00Z',
  status: 'open',
});
const findings = [
  finding('A-KEV-R', 'openssh', ['CVE-2026-1001']),
  finding('A-KEV', 'kernel-tools', ['CVE-2026-1002']),
  finding('A-EPSS', 'curl', ['CVE-2026-3001']),
  finding('A-NONE', 'bash', ['CVE-2026-2002']),
];
const signals: PlanSignals = {
  kev: new Map([
    ['CVE-2026-1001', { dueDate: '2026-11-30', ransomware: true }],
    ['CVE-2026-1002', { dueDate: '2026-12-11', ransomware: false }],
  ]),
  epss: new Map([
    ['CVE-2026-1001', 0.94],
    ['CVE-2026-3001', 0.6],
    ['CVE-2026-2002', 0.0004],
  ]),
  synced: { kev: true, epss: true },
};
const now = new Date('2026-11-24T12:00:00Z');
const urgent = (rules: string, s: PlanSignals = signals) => {
  const plan = assemblePlan({ policy: policy(rules), targets, findings, now, signals: s });
  return {
    plan,
    names: (plan.entries[0]?.packages ?? [])
      .filter((p) => p.emergency)
      .map((p) => p.name)
      .sort(),
  };
};

describe('policy rules on exploitation signals', () => {
  it.each([
    [
      'knownExploited: the KEV-listed findings exactly',
      '  - { name: r, match: { knownExploited: true }, deadlineHours: 48, emergency: true }',
      ['kernel-tools', 'openssh'],
    ],
    ['ransomware: KEV entries with known ransomware use', '  - { name: r, match: { ransomware: true }, deadlineHours: 48, emergency: true }', ['openssh']],
    ['epssAbove: EPSS strictly above', '  - { name: r, match: { epssAbove: 0.5 }, deadlineHours: 48, emergency: true }', ['curl', 'openssh']],
    ['conditions together', '  - { name: r, match: { knownExploited: true, epssAbove: 0.5 }, deadlineHours: 48, emergency: true }', ['openssh']],
  ])('%s', (_what, rules, expected) => {
    expect(urgent(rules).names).toEqual(expected);
  });

  it('takes the deadline from KEV dueDate (end of that day, UTC), else deadlineHours from publication', () => {
    const { plan } = urgent('  - { name: kev, match: { knownExploited: true }, deadlineHours: 720, deadlineFrom: kevDueDate, emergency: true }');
    // openssh is due 2026-11-30 (end of day), earlier than 720 h after 2026-11-20.
    expect(plan.entries[0]?.deadline).toBe('2026-12-01T00:00:00.000Z');
    const { plan: p2 } = urgent('  - { name: e, match: { epssAbove: 0.5 }, deadlineHours: 24, deadlineFrom: kevDueDate, emergency: true }');
    // curl has no KEV entry: 24 h from publication (a breach by now).
    expect(p2.breaches.find((b) => b.package === 'curl')?.deadline).toBe('2026-11-21T00:00:00.000Z');
  });

  it('warns in every plan when a rule names a signal never synced, and such a rule matches nothing', () => {
    const rules =
      '  - { name: kev-now, match: { knownExploited: true }, deadlineHours: 48, emergency: true }\n  - { name: likely, match: { epssAbove: 0.1 }, deadlineHours: 48 }';
    expect(signalsNamed(policy(rules)).map((n) => [n.name, n.signal, n.what])).toEqual([
      ['kev-now', 'kev', 'match.knownExploited'],
      ['likely', 'epss', 'match.epssAbove'],
    ]);
    const never: PlanSignals = { kev: new Map(), epss: new Map(), synced: { kev: false, epss: false } };
    const { plan, names } = urgent(rules, never);
    expect(names).toEqual([]);
    expect(plan.warnings?.filter((w) => w.kind === 'signal-never-synced').map((w) => w.message)).toEqual([
      'rule kev-now (match.knownExploited) needs the CISA KEV feed, which was never synced: it matches nothing (bulwark feeds sync --source cisa-kev)',
      'rule likely (match.epssAbove) needs the FIRST EPSS feed, which was never synced: it matches nothing (bulwark feeds sync --source first-epss)',
    ]);
    expect(urgent(rules).plan.warnings?.filter((w) => w.kind === 'signal-never-synced')).toEqual([]);
  });
});
