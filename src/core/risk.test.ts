import { describe, expect, it } from 'vitest';
import { assessRisk, formatEpss, sortByRisk, withRisk, type CveSignal, type RiskFacts } from './risk.js';

const signals = new Map<string, CveSignal>([
  [
    'CVE-2026-1001',
    { kev: { dateAdded: '2026-03-02', dueDate: '2026-03-23', ransomware: true }, epss: { score: 0.94372, percentile: 0.99912, date: '2026-12-01' } },
  ],
  [
    'CVE-2026-1002',
    { kev: { dateAdded: '2026-05-14', dueDate: '2026-06-04', ransomware: false }, epss: { score: 0.0812, percentile: 0.92044, date: '2026-12-01' } },
  ],
  ['CVE-2026-2001', { kev: null, epss: { score: 0.02011, percentile: 0.45233, date: '2026-12-01' } }],
  ['CVE-2026-2002', { kev: null, epss: { score: 0.00043, percentile: 0.12001, date: '2026-12-01' } }],
  ['CVE-2026-3001', { kev: null, epss: { score: 0.6, percentile: 0.981, date: '2026-12-01' } }],
]);
const of = (c: string): CveSignal | undefined => signals.get(c);

describe('risk order', () => {
  it.each([
    [
      'KEV with ransomware use',
      { severity: 'critical', cvssScore: 9.8, cves: ['CVE-2026-1001'] },
      99.2,
      'KEV since 2026-03-02 (due 2026-03-23, known ransomware use), EPSS 0.94 (99th percentile), CVSS 9.8, critical',
    ],
    [
      'KEV',
      { severity: 'high', cvssScore: 7.8, cves: ['CVE-2026-1002'] },
      91.2,
      'KEV since 2026-05-14 (due 2026-06-04), EPSS 0.08 (92nd percentile), CVSS 7.8, high',
    ],
    ['EPSS only', { severity: 'critical', cvssScore: 10, cves: ['CVE-2026-2001'] }, 41.2, 'EPSS 0.02 (45th percentile), CVSS 10.0, critical'],
    ['a tiny EPSS', { severity: 'low', cvssScore: null, cves: ['CVE-2026-2002'] }, 12, 'EPSS 0.0004 (12th percentile), low'],
    ['no signal, no CVSS', { severity: 'unknown', cvssScore: null, cves: [] }, 20, 'no EPSS score, unknown'],
    [
      'several CVEs: the most threatening, named',
      { severity: 'high', cvssScore: 8.1, cves: ['CVE-2026-2001', 'CVE-2026-1002', 'CVE-2026-3001'] },
      92.4,
      'KEV since 2026-05-14 (due 2026-06-04) for CVE-2026-1002, EPSS 0.60 (98th percentile) for CVE-2026-3001, CVSS 8.1, high',
    ],
  ] as const)('%s', (_what, facts, score, reason) => {
    const r = assessRisk(facts, of);
    expect(r.score).toBe(score);
    expect(r.reason).toBe(reason);
  });

  it('puts a KEV-listed critical above a higher-CVSS non-KEV one, and EPSS decides among the rest', () => {
    const rows: (RiskFacts & { id: string })[] = [
      { id: 'cvss10-no-kev', severity: 'critical', cvssScore: 10, cves: ['CVE-2026-2001'] },
      { id: 'low-epss-high', severity: 'low', cvssScore: 3.1, cves: ['CVE-2026-3001'] },
      { id: 'kev-critical', severity: 'critical', cvssScore: 9.1, cves: ['CVE-2026-1002'] },
      { id: 'kev-ransomware-medium', severity: 'medium', cvssScore: 5.0, cves: ['CVE-2026-1001'] },
      { id: 'nothing', severity: 'high', cvssScore: null, cves: ['CVE-2099-0001'] },
    ];
    const ranked = withRisk(rows, of);
    expect(sortByRisk(ranked, 'risk').map((r) => r.id)).toEqual(['kev-ransomware-medium', 'kev-critical', 'low-epss-high', 'cvss10-no-kev', 'nothing']);
    expect(sortByRisk(ranked, 'epss').map((r) => r.id)).toEqual(['kev-ransomware-medium', 'low-epss-high', 'kev-critical', 'cvss10-no-kev', 'nothing']);
    expect(sortByRisk(ranked, 'kev').map((r) => r.id)).toEqual(['kev-ransomware-medium', 'kev-critical', 'low-epss-high', 'cvss10-no-kev', 'nothing']);
    expect(sortByRisk(ranked, 'severity').map((r) => r.id)).toEqual(['cvss10-no-kev', 'kev-critical', 'nothing', 'kev-ransomware-medium', 'low-epss-high']);
    // Reproducible: the same input gives the same order, whatever order it came in.
    expect(sortByRisk([...ranked].reverse(), 'risk').map((r) => r.id)).toEqual([
      'kev-ransomware-medium',
      'kev-critical',
      'low-epss-high',
      'cvss10-no-kev',
      'nothing',
    ]);
  });

  it('uses the CVSS v3 score when there is one, else the v4.0 score, and says which', () => {
    expect(assessRisk({ severity: 'high', cvssScore: 7.5, cvssV4Score: 9.3, cves: ['CVE-2026-2001'] }, of)).toMatchObject({
      score: 31.2,
      reason: 'EPSS 0.02 (45th percentile), CVSS 7.5, high',
    });
    expect(assessRisk({ severity: 'high', cvssScore: null, cvssV4Score: 9.3, cves: ['CVE-2026-2001'] }, of)).toMatchObject({
      score: 38.4,
      reason: 'EPSS 0.02 (45th percentile), CVSS 4.0 9.3, high',
    });
    const rows: (RiskFacts & { id: string })[] = [
      { id: 'v3-only', severity: 'high', cvssScore: 7.0, cves: [] },
      { id: 'v4-only', severity: 'high', cvssScore: null, cvssV4Score: 8.7, cves: [] },
      { id: 'v3-and-v4', severity: 'high', cvssScore: 6.0, cvssV4Score: 10, cves: [] },
      { id: 'neither', severity: 'high', cvssScore: null, cves: [] },
    ];
    // Same CVEs and severity: the risk cache must not confuse rows that differ only in their v4 score.
    expect(sortByRisk(withRisk(rows, of), 'risk').map((r) => r.id)).toEqual(['v4-only', 'neither', 'v3-only', 'v3-and-v4']);
  });

  it('formats EPSS probabilities as people read them', () => {
    expect([formatEpss(0.94372), formatEpss(0.01), formatEpss(0.00043), formatEpss(0)]).toEqual(['0.94', '0.01', '0.0004', '0.00']);
  });
});
