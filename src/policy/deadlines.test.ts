import { describe, expect, it } from 'vitest';
import { findingDeadline, monthlyCycle, nextCycleAfter, predictedBreach } from './deadlines.js';
import type { PlanFinding } from './plan-types.js';
import type { Policy } from './schema.js';

const f = (over: Partial<PlanFinding>): PlanFinding => ({
  targetId: 'h',
  advisorySource: 's',
  advisoryId: 'A-1',
  package: 'curl',
  installed: '0:1-1',
  fixed: '0:2-1',
  severity: 'medium',
  cvssScore: null,
  cves: [],
  publishedAt: '2026-11-20T00:00:00Z',
  firstSeen: '2026-11-21T00:00:00Z',
  status: 'open',
  ...over,
});
const rule = (over: Partial<Policy['outOfBand'][number]>): Policy['outOfBand'][number] => ({
  name: 'r',
  match: { severity: ['critical'] },
  deadlineHours: 24,
  emergency: false,
  approval: 'auto',
  ...over,
});
const cycle = monthlyCycle({ cadence: { monthly: { weekday: 'tuesday', week: 2, offsetDays: 7 }, timezone: 'Europe/Berlin' } } as Policy);
const next = nextCycleAfter(cycle);
const iso = (ms: number) => new Date(ms).toISOString();

describe('deadlines', () => {
  it('the next monthly cycle after first seen, at local midnight (Patch Tuesday + 7 in Berlin)', () => {
    expect(findingDeadline(f({}), [], new Set(), next)).toEqual({
      deadline: Date.parse('2026-12-14T23:00:00Z'),
      reason: 'monthly',
      outOfBand: false,
      emergency: false,
      manual: false,
    });
    expect(iso(next('2026-11-16T22:59:00Z'))).toBe('2026-11-16T23:00:00.000Z');
    expect(iso(next('2026-11-16T23:00:00Z'))).toBe('2026-12-14T23:00:00.000Z');
  });

  it('minCvss reads CVSS v3 and minCvssV4 reads v4.0: one never stands in for the other', () => {
    const rules = [rule({ name: 'v3', match: { minCvss: 9 }, deadlineHours: 72 }), rule({ name: 'v4', match: { minCvssV4: 9 }, deadlineHours: 48 })];
    expect(findingDeadline(f({ cvssScore: null, cvssV4Score: 9.3 }), rules, new Set(), next).reason).toBe('v4');
    expect(findingDeadline(f({ cvssScore: 9.8, cvssV4Score: null }), rules, new Set(), next).reason).toBe('v3');
    expect(findingDeadline(f({ cvssScore: 5.0, cvssV4Score: 8.9 }), rules, new Set(), next)).toMatchObject({ reason: 'monthly', outOfBand: false });
  });

  it('a rule matches only when every condition it has holds; the earliest deadline names the reason', () => {
    const rules = [
      rule({ name: 'crit-kev', match: { severity: ['critical'], knownExploited: true }, deadlineHours: 12, emergency: true }),
      rule({ name: 'cvss9', match: { minCvss: 9 }, deadlineHours: 72, approval: 'manual' }),
      rule({ name: 'cve', match: { cves: ['CVE-2024-6387'] }, deadlineHours: 48 }),
    ];
    const crit = f({ severity: 'critical', cvssScore: 9.8, cves: ['CVE-2026-1'] });
    // Not known exploited: crit-kev does not match; cvss9 does (manual, not an emergency).
    expect(findingDeadline(crit, rules, new Set(), next)).toEqual({
      deadline: Date.parse('2026-11-23T00:00:00Z'),
      reason: 'cvss9',
      outOfBand: true,
      emergency: false,
      manual: true,
    });
    expect(findingDeadline(crit, rules, new Set(['CVE-2026-1']), next)).toMatchObject({
      deadline: Date.parse('2026-11-20T12:00:00Z'),
      reason: 'crit-kev',
      emergency: true,
      manual: true,
    });
    // No CVSS score never meets a minimum; without a publication date the deadline counts from first seen.
    expect(findingDeadline(f({ cvssScore: null, cves: ['CVE-2024-6387'], publishedAt: null }), rules, new Set(), next)).toMatchObject({
      deadline: Date.parse('2026-11-23T00:00:00Z'),
      reason: 'cve',
      manual: false,
    });
  });

  it('a rule whose deadline falls after the next cycle still makes the finding out-of-band, but the cycle is the deadline', () => {
    expect(findingDeadline(f({ severity: 'critical' }), [rule({ deadlineHours: 24 * 60 })], new Set(), next)).toEqual({
      deadline: Date.parse('2026-12-14T23:00:00Z'),
      reason: 'monthly',
      outOfBand: true,
      emergency: false,
      manual: false,
    });
  });

  it.each([
    ['deadline passed: a breach, no prediction', '2026-11-24T11:00:00Z', '2026-11-25T00:00:00Z', null, undefined],
    ['starts after it', '2026-11-24T20:00:00Z', '2026-11-25T00:00:00Z', null, 'start'],
    ['its window ends after it', '2026-11-24T20:00:00Z', '2026-11-24T18:00:00Z', '2026-11-24T22:00:00Z', 'finish'],
    ['in time', '2026-11-25T20:00:00Z', '2026-11-24T18:00:00Z', '2026-11-24T22:00:00Z', undefined],
  ])('predicted breach: %s', (_, deadline, start, end, want) => {
    expect(
      predictedBreach(Date.parse(deadline), { start: Date.parse(start), end: end === null ? null : Date.parse(end) }, Date.parse('2026-11-24T12:00:00Z')),
    ).toBe(want);
  });
});
