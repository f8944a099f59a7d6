import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load.js';
import { assemblePlan, type AvailableBuild, type PlanFinding, type PlanInput, type PlanTarget, type RingHistory } from './plan.js';
import type { Policy } from './schema.js';

/**
 * Plans recorded before assemblePlan was split into its parts (issue #19), compared byte for byte
 * (JSON text, key order included) on every run: the split, and any later refactoring, must not
 * change a single plan. The cases cover every branch the unit tests do and more, over a made-up
 * fleet, at several moments of the monthly cycle and its windows.
 *
 * A deliberate change of behaviour re-records them:
 *   BULWARK_WRITE_GOLDEN=1 npx vitest run src/policy/plan-golden.test.ts
 * and the diff of __fixtures__/plans.golden.json is then reviewed with the change.
 */
const GOLDEN = join(import.meta.dirname, '__fixtures__', 'plans.golden.json');
const prod = parsePolicy(readFileSync(join(import.meta.dirname, '__fixtures__', 'prod.yaml'), 'utf8'), 'prod.yaml');

/** A small deterministic generator (mulberry32), so the fleet is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RPM_PACKAGES = [
  'curl',
  'openssl',
  'kernel',
  'kernel-core',
  'kernel-devel',
  'kernel-headers',
  'bash',
  'openssh',
  'glibc',
  'zlib',
  'vim',
  'sudo',
  'systemd',
];
const DEB_PACKAGES = ['libldb2', 'openssl', 'linux-image-6.1.0-28-amd64', 'linux-headers-6.1.0-28-amd64', 'bash', 'curl'];
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;
const PUBLISHED = [
  '2026-10-01T00:00:00Z',
  '2026-11-10T00:00:00Z',
  '2026-11-16T08:00:00Z',
  '2026-11-20T00:00:00Z',
  '2026-11-22T00:00:00Z',
  '2026-11-23T18:00:00Z',
  '2026-12-07T00:00:00Z',
  '2026-12-09T03:00:00Z',
  '2024-10-01T00:00:00Z',
];

function fleet(seed: number, n: number): { targets: PlanTarget[]; findings: PlanFinding[] } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const targets: PlanTarget[] = [];
  const findings: PlanFinding[] = [];
  for (let h = 0; h < n; h++) {
    const name = h === 0 ? 'web-01' : h === 1 ? 'web-02' : `${pick(['app', 'db', 'cache', 'edge'])}-${String(h).padStart(2, '0')}`;
    const release =
      h === 0
        ? 'azurelinux:3.0'
        : h % 6 === 5
          ? 'debian:12'
          : h % 13 === 7
            ? 'mariner:2.0'
            : h % 17 === 9
              ? null
              : h % 7 === 3
                ? 'fedora:43'
                : 'azurelinux:3.0';
    const tags = h === 0 ? ['prod'] : [pick(['prod', 'prod', 'prod', 'dev']), ...(r() < 0.15 ? ['canary'] : []), ...(r() < 0.2 ? ['edge'] : [])];
    targets.push({ id: `t-${String(h)}`, name, release, tags, rebootRequired: r() < 0.1 ? true : r() < 0.5 ? false : null });
    const deb = release === 'debian:12';
    const count = h === 0 ? 0 : Math.floor(r() * 7);
    for (let k = 0; k < count; k++) {
      const pkg = pick(deb ? DEB_PACKAGES : RPM_PACKAGES);
      const minor = Math.floor(r() * 4);
      const installed = deb ? `2:2.9.${String(minor)}-1` : `0:1.${String(minor)}.0-1.azl3`;
      const fixed =
        r() < 0.08
          ? null
          : deb
            ? `2:4.21.${String(minor + Math.floor(r() * 3))}-1`
            : `${r() < 0.2 ? '1:' : '0:'}1.${String(minor + 1)}.${String(Math.floor(r() * 3))}-${String(1 + Math.floor(r() * 3))}.azl3`;
      const published = pick(PUBLISHED);
      findings.push({
        targetId: `t-${String(h)}`,
        advisorySource: deb ? 'debian-12' : 'azurelinux-3.0-oval',
        advisoryId: r() < 0.07 ? 'HELD-1' : r() < 0.1 ? 'OPS-HOLD' : `ADV-${String(Math.floor(r() * 40))}`,
        package: pkg,
        installed,
        fixed,
        severity: pick(SEVERITIES),
        cvssScore: r() < 0.3 ? null : Math.round(r() * 100) / 10,
        cves: r() < 0.1 ? ['CVE-2024-6387'] : r() < 0.3 ? [`CVE-2026-${String(1000 + Math.floor(r() * 20))}`] : [],
        publishedAt: r() < 0.1 ? null : published,
        firstSeen: r() < 0.5 ? published : pick(['2026-11-01T00:00:00Z', '2026-11-18T06:00:00Z', '2026-11-24T11:00:00Z', '2026-12-10T00:00:00Z']),
        status: r() < 0.85 ? 'open' : pick(['fixed', 'no-fix', 'accepted', 'withdrawn'] as const),
      });
    }
  }
  // The unit tests' predicted breach: regreSSHion (72 h) published during the canary's window.
  findings.push({
    targetId: 't-0',
    advisorySource: 's',
    advisoryId: 'S-1',
    package: 'openssh',
    installed: '0:9.6p1-1.azl3',
    fixed: '0:9.8p1-3.azl3',
    severity: 'high',
    cvssScore: 8.1,
    cves: ['CVE-2024-6387'],
    publishedAt: '2026-12-09T03:00:00Z',
    firstSeen: '2026-12-09T03:00:00Z',
    status: 'open',
  });
  return { targets, findings };
}

/** The 64-findings-a-host fleet of bench/policy.bench.ts, small. */
function benchFleet(n: number): { targets: PlanTarget[]; findings: PlanFinding[] } {
  const severities = ['critical', 'high', 'medium', 'low'] as const;
  const targets: PlanTarget[] = [];
  const findings: PlanFinding[] = [];
  for (let h = 0; h < n; h++) {
    const name = `host-${String(h).padStart(5, '0')}`;
    targets.push({ id: name, name, release: 'azurelinux:3.0', tags: ['prod'], rebootRequired: h % 7 === 0 });
    for (let k = 0; k < 64; k++) {
      const p = (h * 31 + k * 17) % 200;
      findings.push({
        targetId: name,
        advisorySource: 'azurelinux-3.0-oval',
        advisoryId: `oval:com.microsoft.azurelinux:def:${String(40000 + p * 3 + (k % 3))}`,
        package: p === 0 ? 'kernel' : `pkg${String(p)}`,
        installed: `0:1.${String(p % 9)}.${String(k % 5)}-1.azl3`,
        fixed: `0:1.${String(p % 9)}.${String((k % 5) + 1)}-${String(1 + (k % 3))}.azl3`,
        severity: severities[(p + k) % 4] ?? 'medium',
        cvssScore: ((p * 7) % 100) / 10,
        cves: [`CVE-2025-${String(10000 + p)}`],
        publishedAt: '2026-11-10T00:00:00Z',
        firstSeen: '2026-11-12T00:00:00Z',
        status: 'open',
      });
    }
  }
  return { targets, findings };
}

const rpmAvailable = new Map<string, AvailableBuild[]>(
  RPM_PACKAGES.filter((p) => p !== 'vim').map((p, i) => [
    p,
    ['0:1.1.0-1.azl3', '0:1.2.1-2.azl3', '0:1.3.0-1.azl3', '1:1.2.0-1.azl3', '0:1.4.2-3.azl3', `0:1.${String(2 + (i % 3))}.2-1.azl3`],
  ]),
);
const debAvailable = new Map<string, AvailableBuild[]>([
  [
    'libldb2',
    [
      { build: '2:2.10.0+samba4.21.0-1', source: '2:4.21.0-1' },
      { build: '2:2.10.1+samba4.21.3-1', source: '2:4.21.3-1' },
    ],
  ],
  ['openssl', ['2:4.21.1-1', '2:4.21.4-1']],
  ['bash', ['2:4.22.0-1']],
]);

const rings4 = [
  { name: 'canary', tags: ['canary'], hosts: ['web-01'] },
  { name: 'early', percent: 10 },
  { name: 'mid', percent: 40 },
  { name: 'rest', percent: 100 },
];
const policies: Record<string, Policy> = {
  prod,
  'anywhere-no-windows': { ...prod, scope: {}, windows: [] },
  'no-soak-reboot-always': { ...prod, scope: {}, reboot: 'always', rollout: { ...prod.rollout, soakHours: 0 } },
  'tag-rings-reboot-never': { ...prod, scope: { tags: ['prod'] }, reboot: 'never', rollout: { ...prod.rollout, rings: rings4, soakHours: 48 } },
  'content-view': {
    ...prod,
    pins: { curl: '1.*', 'kernel*': '1.4.*' },
    scope: { releases: ['azurelinux:3.0', 'fedora:43'] },
    source: { view: 'azl3-prod', environment: 'prod', repoId: 'bulwark-azl3' },
  },
  'los-angeles-manual': {
    ...prod,
    scope: {},
    cadence: { monthly: { weekday: 'wednesday', week: 1, offsetDays: 21 }, timezone: 'America/Los_Angeles' },
    approval: { autoApproveAfterDays: 7 },
    outOfBand: [
      { name: 'kev', match: { knownExploited: true }, deadlineHours: 48, emergency: true, approval: 'manual' },
      { name: 'cvss9', match: { minCvss: 9 }, deadlineHours: 120, emergency: false, approval: 'auto' },
      { name: 'high', match: { severity: ['high', 'critical'], minCvss: 7 }, deadlineHours: 240, emergency: false, approval: 'manual' },
    ],
    holds: [
      { advisory: 'ADV-3', reason: 'vendor asked', until: '2026-11-24' },
      { advisory: 'ADV-4', reason: 'later', until: '2026-12-20T10:00:00Z' },
    ],
    windows: [
      { name: 'weeknight', days: ['monday', 'tuesday', 'wednesday', 'thursday'], start: '22:00', durationHours: 3, timezone: 'America/Los_Angeles' },
      { name: 'sunday-utc', days: ['sunday'], start: '06:00', durationHours: 10, timezone: 'UTC' },
    ],
  },
  'typo-rings': {
    ...prod,
    scope: {},
    rollout: {
      ...prod.rollout,
      rings: [
        { name: 'canary', hosts: ['web-1', 'web-01'] },
        { name: 'ghost', hosts: ['nobody'] },
        { name: 'rest', percent: 100 },
        { name: 'last', hosts: ['gone'] },
      ],
    },
  },
  'debian-view': {
    ...prod,
    scope: { releases: ['debian:12'] },
    exclude: [],
    pins: { 'linux-*': '4.21.*' },
    source: { view: 'bookworm-prod', environment: 'prod' },
  },
};

const NOWS = ['2026-11-17T12:00:00Z', '2026-11-18T12:00:00Z', '2026-11-24T12:00:00Z', '2026-11-28T01:30:00Z', '2026-12-08T12:00:00Z', '2026-12-16T12:00:00Z'];
const histories: Record<string, ReadonlyMap<number, RingHistory> | undefined> = {
  none: undefined,
  'canary-ended': new Map([[0, { ended: '2026-11-23T16:00:00.000Z', open: false }]]),
  'canary-open': new Map([
    [0, { ended: '2026-11-22T12:00:00.000Z', open: true }],
    [1, { ended: null, open: true }],
  ]),
};

function cases(): [string, PlanInput][] {
  const out: [string, PlanInput][] = [];
  const { targets, findings } = fleet(19, 30);
  for (const [pname, policy] of Object.entries(policies))
    for (const at of NOWS)
      for (const [hname, ringHistory] of Object.entries(histories)) {
        // Every moment for the production policy; three (before approval, in a window, a predicted
        // breach) for its variants, and the ring histories at one.
        if (
          hname === 'none'
            ? pname !== 'prod' && !['2026-11-18T12:00:00Z', '2026-11-28T01:30:00Z', '2026-12-08T12:00:00Z'].includes(at)
            : at !== '2026-11-24T12:00:00Z'
        )
          continue;
        const input: PlanInput = {
          policy,
          targets,
          findings,
          now: new Date(at),
          knownExploited: new Set(['CVE-2026-1003', 'CVE-2026-1011', 'CVE-2024-6387']),
          approved: new Set(['ADV-1', 'ADV-7', 'ADV-12']),
          holds: [{ advisory: 'OPS-HOLD', reason: 'change freeze', until: '2026-11-30' }],
          ...(policy.source === undefined ? {} : { available: pname === 'debian-view' ? debAvailable : rpmAvailable }),
          ...(ringHistory === undefined ? {} : { ringHistory }),
        };
        out.push([`${pname} @ ${at} history=${hname}`, input]);
      }
  out.push(['bench-fleet @ 2026-11-24T12:00:00Z', { policy: prod, ...benchFleet(3), now: new Date('2026-11-24T12:00:00Z') }]);
  out.push(['empty fleet', { policy: prod, targets: [], findings: [], now: new Date('2026-11-24T12:00:00Z') }]);
  return out;
}

describe('assemblePlan gives the recorded plans', () => {
  const all = cases();
  const plans = Object.fromEntries(all.map(([name, input]) => [name, JSON.stringify(assemblePlan(input))]));
  if (process.env['BULWARK_WRITE_GOLDEN'] === '1')
    writeFileSync(
      GOLDEN,
      `${JSON.stringify(Object.fromEntries(Object.entries(plans).map(([k, v]) => [k, JSON.parse(v) as unknown])), null, 0).replace(/,"(?=[^"]+ @ |empty fleet)/g, ',\n"')}\n`,
    );
  const golden = existsSync(GOLDEN) ? (JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, unknown>) : {};

  it('records every case (none added or lost)', () => {
    const names = Object.keys(plans);
    expect([names.filter((n) => !(n in golden)), Object.keys(golden).filter((n) => !(n in plans))]).toEqual([[], []]);
    expect(all.length).toBeGreaterThan(40);
  });

  it('covers what plans can say', () => {
    const text = Object.values(plans).join('\n');
    const missing = [
      '"predictedBreach":"start"',
      '"predictedBreach":"finish"',
      '"unfinished":true',
      '"approval":"pending"',
      '"emergency":true',
      '"reboot":true',
      '"held":[{',
      '"why":"pinned to',
      '"why":"no build of',
      '"why":"excluded by',
      'unknown-ring-host',
      'starts-after-deadline',
      'may-finish-after-deadline',
      '"overdueHours":',
      'unknown release',
      'every fix is held or excluded',
      '"window":"weeknight"',
      '"pin":',
    ].filter((needle) => !text.includes(needle));
    expect(missing).toEqual([]);
  });

  it.each(all.map(([name]) => name))('%s', (name) => {
    // Compared as text (key order too), but shown as data when they differ: the diff is then readable.
    const got = plans[name] ?? '';
    if (got !== JSON.stringify(golden[name])) expect(JSON.parse(got)).toEqual(golden[name]);
    expect(got).toBe(JSON.stringify(golden[name]));
  });
});
