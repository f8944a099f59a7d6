import { describe, expect, it } from 'vitest';
import { autoApproveFrom, splitForApproval } from './approval.js';
import type { PlannedPackage } from './plan-types.js';

const pkg = (name: string, ...advisories: string[]): PlannedPackage => ({ name, from: '0:1-1', to: '0:2-1', advisories, emergency: false });

describe('approval', () => {
  it('approves the cycle N calendar days after it, at local midnight across a DST change; never before a first cycle', () => {
    // Cycle 2026-10-20 in Berlin (22:00Z the day before); clocks go back on the 25th.
    expect(new Date(autoApproveFrom(Date.parse('2026-10-19T22:00:00Z'), 7, 'Europe/Berlin')).toISOString()).toBe('2026-10-26T23:00:00.000Z');
    expect(new Date(autoApproveFrom(Date.parse('2026-10-19T22:00:00Z'), 0, 'Europe/Berlin')).toISOString()).toBe('2026-10-19T22:00:00.000Z');
    expect(autoApproveFrom(-Infinity, 7, 'UTC')).toBe(-Infinity);
  });

  it('before the approval, a host with both kinds of work gets its out-of-band packages and keeps its monthly ones', () => {
    const all = [pkg('glibc', 'M-1'), pkg('kernel', 'K-1')];
    expect(splitForApproval(all, new Set(['kernel']), new Set(), new Set(), false)).toEqual({ packages: [all[1]], waitingNow: [], awaiting: ['M-1'] });
    // Monthly work only: the entry carries it and waits.
    expect(splitForApproval([all[0]!], new Set(), new Set(), new Set(), false)).toEqual({ packages: [all[0]], waitingNow: ['M-1'], awaiting: ['M-1'] });
    // Once the cycle is approved, or an operator approved the advisory, nothing waits.
    expect(splitForApproval(all, new Set(['kernel']), new Set(), new Set(), true)).toEqual({ packages: all, waitingNow: [], awaiting: [] });
    expect(splitForApproval(all, new Set(['kernel']), new Set(), new Set(['M-1']), false)).toEqual({ packages: all, waitingNow: [], awaiting: [] });
  });

  it('manual rules wait for an operator whatever the cycle, and only their own advisories', () => {
    const all = [pkg('kernel', 'K-1', 'K-2'), pkg('curl', 'C-1')];
    expect(splitForApproval(all, new Set(['kernel']), new Set(['K-2', 'K-1']), new Set(['K-1']), true)).toEqual({
      packages: all,
      waitingNow: ['K-2'],
      awaiting: ['K-2'],
    });
    // Out-of-band kernel waits for K-2, monthly curl for the cycle: the entry carries only the kernel.
    expect(splitForApproval(all, new Set(['kernel']), new Set(['K-2']), new Set(), false)).toEqual({
      packages: [all[0]],
      waitingNow: ['K-2'],
      awaiting: ['C-1', 'K-2'],
    });
  });
});
