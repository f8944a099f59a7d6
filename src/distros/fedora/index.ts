import { EOL_DATE } from '../urls.js';
import { lifecycleTable, type DistroDescriptor } from '../types.js';

/** Fedora: a release per major, about 13 months of updates each; dnf (dnf5 since 41). */
export const fedora: DistroDescriptor = {
  id: 'fedora',
  displayName: 'Fedora',
  urls: ['https://docs.fedoraproject.org/en-US/releases/lifecycle/'],
  family: 'rpm',
  osRelease: { ids: ['fedora'], version: 'as-is' },
  lifecycle: lifecycleTable(
    [`${EOL_DATE}/fedora.md`],
    [
      ['fedora:41', 'Fedora 41', '2024-10-29', null, '2025-12-15', null],
      ['fedora:42', 'Fedora 42', '2025-04-15', null, '2026-05-27', null],
      ['fedora:43', 'Fedora 43', '2025-10-28', null, '2026-12-09', null],
      ['fedora:44', 'Fedora 44', '2026-04-28', null, '2027-06-02', null],
    ],
  ),
  // Fedora 41 replaced dnf 4 with dnf5.
  packageManager: (version) => (Number.parseInt(version, 10) >= 41 ? 'dnf5' : 'dnf'),
  // rpm 4.16 moved the database to /usr/lib/sysimage/rpm in Fedora 36.
  image: { rpmDbSysimageSinceMajor: 36 },
  feeds: [],
  // Bodhi's updateinfo says "urgent" for its highest severity.
  severity: { formats: ['updateinfo'], words: { urgent: 'critical' } },
  updateinfoRelease: /^Fedora (\d+)/i,
};
