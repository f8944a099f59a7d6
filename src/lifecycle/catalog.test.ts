import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../test/shared-data.js';
import { lifecycleCatalog, lifecycleStatus } from './catalog.js';

describe('lifecycle', () => {
  it.each([
    ['mariner:2.0', '2025-07-31', 'supported'],
    ['mariner:2.0', '2025-08-01', 'extended-only'],
    ['mariner:2.0', '2025-12-01', 'end-of-life'],
    ['rhel:8', '2026-11-24', 'security-only'],
    ['azurelinux:3.0', '2026-11-24', 'supported'],
    ['azurelinux:4.0', '2026-11-24', 'preview'],
    ['debian:12', '2026-11-24', 'extended-only'],
    ['fedora:41', '2026-11-24', 'end-of-life'],
    ['slackware:15', '2026-11-24', 'unknown'],
  ])('%s on %s is %s', (release, day, state) => {
    expect(lifecycleStatus(release, new Date(`${day}T12:00:00Z`)).state).toBe(state);
  });

  it('counts the days to the end of security support', () => {
    expect(lifecycleStatus('azurelinux:3.0', new Date('2027-08-30T12:00:00Z')).daysLeft).toBe(1);
  });

  it('every row names its sources', () => {
    for (const f of lifecycleCatalog) expect(f.sources.length).toBeGreaterThan(0);
  });
});

// The catalog states its own facts; the research table in ../shared/data/lifecycle.json was
// gathered independently from the same sources, so every date must agree with it.
const table = sharedData('lifecycle.json');
describe.skipIf(table === null)('the catalog agrees with ../shared/data/lifecycle.json', () => {
  const rows =
    table === null
      ? []
      : (
          JSON.parse(readFileSync(table, 'utf8')) as {
            releases: {
              distro: string;
              release: string;
              os_release_id?: string;
              ga: string | null;
              end_of_standard_support: string | null;
              eol: string | null;
              end_of_extended_support: string | null;
            }[];
          }
        ).releases;
  it.each(rows.map((r) => [`${(r.os_release_id ?? r.distro).replace(/\s*\(.*\)$/, '')}:${r.release}`, r] as const))('%s', (id, r) => {
    const f = lifecycleCatalog.find((x) => x.release === id);
    expect(f).toBeDefined();
    const isoOrNull = (d: string | null): string | null => (d !== null && /^\d{4}-\d{2}-\d{2}$/.test(d) ? d : null);
    expect([f?.ga, f?.endOfStandardSupport, f?.endOfSecuritySupport, f?.endOfExtendedSupport]).toEqual([
      isoOrNull(r.ga),
      r.end_of_standard_support,
      r.eol,
      r.end_of_extended_support,
    ]);
  });
});
