import { describe, expect, it } from 'vitest';
import { debScheme, rpmScheme } from '../core/version/registry.js';
import type { PlanFinding } from './plan-types.js';
import type { Policy } from './schema.js';
import { holdEnd, packageRules, selectVersion, type PackageRules } from './select-version.js';

const finding = (over: Partial<PlanFinding>): PlanFinding => ({
  targetId: 'h',
  advisorySource: 's',
  advisoryId: 'A-1',
  package: 'curl',
  installed: '0:8.8.0-1.azl3',
  fixed: '0:8.11.1-4.azl3',
  severity: 'medium',
  cvssScore: null,
  cves: [],
  publishedAt: null,
  firstSeen: '2026-11-20T00:00:00Z',
  status: 'open',
  ...over,
});
const policy = (over: Partial<Policy>): Policy =>
  ({ holds: [], exclude: [], pins: {}, cadence: { monthly: { weekday: 'tuesday', week: 2, offsetDays: 0 }, timezone: 'UTC' }, ...over }) as Policy;
const now = Date.parse('2026-11-24T12:00:00Z');

describe('version selection', () => {
  it("holds first, then exclusions, then pins; a planned package goes to the advisory's fixed version", () => {
    const rules = packageRules(
      policy({ holds: [{ advisory: 'A-1', reason: 'vendor', until: '2099-01-01' }], exclude: ['kernel-devel*'], pins: { 'open*': '3.3.*' } }),
      {},
      now,
    );
    expect(selectVersion(finding({ package: 'kernel-devel' }), rules, rpmScheme)).toMatchObject({ kind: 'held' });
    expect(selectVersion(finding({ advisoryId: 'A-2', package: 'kernel-devel' }), rules, rpmScheme)).toEqual({
      kind: 'excluded',
      why: 'excluded by "kernel-devel*"',
      once: 'per-package',
    });
    // The pin is a glob on V-R: the epoch is left out.
    expect(selectVersion(finding({ advisoryId: 'A-2', package: 'openssl', fixed: '1:3.4.0-1.azl3' }), rules, rpmScheme)).toEqual({
      kind: 'excluded',
      why: 'pinned to 3.3.*',
      once: 'per-package',
    });
    expect(selectVersion(finding({ advisoryId: 'A-2', package: 'openssl', fixed: '1:3.3.5-1.azl3' }), rules, rpmScheme)).toEqual({
      kind: 'planned',
      fixed: '1:3.3.5-1.azl3',
      to: '1:3.3.5-1.azl3',
      pin: '3.3.*',
    });
    expect(selectVersion(finding({ advisoryId: 'A-2' }), rules, rpmScheme)).toEqual({ kind: 'planned', fixed: '0:8.11.1-4.azl3', to: '0:8.11.1-4.azl3' });
    expect(selectVersion(finding({ advisoryId: 'A-2', fixed: null }), rules, rpmScheme)).toBeNull();
  });

  it("drops holds that have ended, the policy's and an operator's", () => {
    const rules = packageRules(
      policy({ holds: [{ advisory: 'OLD', reason: 'r', until: '2026-11-23' }] }),
      {
        holds: [
          { advisory: 'OPS', reason: 'freeze', until: '2026-11-24T13:00:00Z' },
          { advisory: 'GONE', reason: 'r', until: '2026-11-24T11:00:00Z' },
        ],
      },
      now,
    );
    expect(rules.holds.map((h) => h.advisory)).toEqual(['OPS']);
  });

  it("a hold until a date lasts to the end of that day in the policy's time zone", () => {
    expect(new Date(holdEnd('2026-09-10', 'America/Los_Angeles')).toISOString()).toBe('2026-09-11T07:00:00.000Z');
    expect(new Date(holdEnd('2026-09-10', 'UTC')).toISOString()).toBe('2026-09-11T00:00:00.000Z');
    expect(new Date(holdEnd('2026-09-10T10:00:00+02:00', 'UTC')).toISOString()).toBe('2026-09-10T08:00:00.000Z');
  });

  it('from a content view: the lowest published build that fixes and that the pin allows, else excluded per reason', () => {
    const available = new Map([
      ['curl', ['0:8.12.0-1.azl3', '0:8.11.1-3.azl3', '0:8.11.1-5.azl3', '1:7.0-1.azl3']],
      ['openssl', ['0:3.4.2-1.azl3', '0:3.3.9-1.azl3']],
    ]);
    const rules: PackageRules = packageRules(policy({ pins: { openssl: '3.3.*' }, source: { view: 'v', environment: 'prod' } }), { available }, now);
    expect(selectVersion(finding({}), rules, rpmScheme)).toMatchObject({ kind: 'planned', to: '0:8.11.1-5.azl3' });
    expect(selectVersion(finding({ package: 'openssl', fixed: '0:3.3.5-1.azl3' }), rules, rpmScheme)).toMatchObject({
      kind: 'planned',
      to: '0:3.3.9-1.azl3',
      pin: '3.3.*',
    });
    expect(selectVersion(finding({ package: 'zlib', fixed: '0:1.3.1-1.azl3' }), rules, rpmScheme)).toEqual({
      kind: 'excluded',
      why: 'no build of 0:1.3.1-1.azl3 or later in v/prod',
      once: 'per-reason',
    });
  });

  it("compares a Debian binary by its source's version, as the fix is written", () => {
    const available = new Map([
      [
        'libldb2',
        [
          { build: '2:2.10.0+samba4.21.0-1', source: '2:4.21.0-1' },
          { build: '2:2.10.1+samba4.21.3-1', source: '2:4.21.3-1' },
        ],
      ],
    ]);
    const rules = packageRules(policy({ source: { view: 'v', environment: 'prod' } }), { available }, now);
    expect(selectVersion(finding({ package: 'libldb2', installed: '2:2.9.0+samba4.20.0-1', fixed: '2:4.21.2-1' }), rules, debScheme)).toMatchObject({
      kind: 'planned',
      to: '2:2.10.1+samba4.21.3-1',
    });
  });
});
