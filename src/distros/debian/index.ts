import { EOL_DATE, OSV_DUMPS } from '../urls.js';
import { lifecycleTable, type DistroDescriptor } from '../types.js';

/** Debian: the security tracker's OSV records (DSA, DLA, DTSA) name source packages. */
export const debian: DistroDescriptor = {
  id: 'debian',
  displayName: 'Debian',
  urls: ['https://wiki.debian.org/LTS', 'https://security-tracker.debian.org/'],
  family: 'deb',
  osRelease: { ids: ['debian'], version: 'as-is' },
  lifecycle: lifecycleTable(
    [`${EOL_DATE}/debian.md`, 'https://wiki.debian.org/LTS'],
    [
      ['debian:11', 'Debian 11 (bullseye)', '2021-08-14', null, '2024-08-14', '2026-08-31'],
      ['debian:12', 'Debian 12 (bookworm)', '2023-06-10', null, '2026-07-11', '2028-06-30'],
      ['debian:13', 'Debian 13 (trixie)', '2025-08-09', null, '2028-08-09', '2030-06-30'],
    ],
  ),
  packageManager: () => 'apt',
  feeds: [
    {
      id: 'debian-osv',
      format: 'osv',
      distribution: 'debian',
      location: `${OSV_DUMPS}/Debian/all.zip`,
      release: null,
      description: 'Debian security tracker (OSV: DSA, DLA, DTSA)',
      license: 'see Debian security tracker',
    },
  ],
  oval: { namespace: /^org\.debian/ },
  osv: { ecosystem: /^Debian:(\d+)$/, packageKind: 'source' },
};
