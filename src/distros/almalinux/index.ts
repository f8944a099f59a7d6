import { EOL_DATE, OSV_DUMPS } from '../urls.js';
import { RED_HAT_SEVERITY } from '../rhel/index.js';
import { lifecycleTable, type DistroDescriptor } from '../types.js';

/** AlmaLinux, a RHEL rebuild: one release per major, Red Hat's severity words and dist tags. */
export const almalinux: DistroDescriptor = {
  id: 'almalinux',
  displayName: 'AlmaLinux',
  urls: ['https://wiki.almalinux.org/release-notes/', 'https://errata.almalinux.org/'],
  family: 'rpm',
  osRelease: { ids: ['almalinux'], version: 'major' },
  lifecycle: lifecycleTable(
    [`${EOL_DATE}/almalinux.md`],
    [
      ['almalinux:8', 'AlmaLinux 8', '2021-03-30', '2024-05-31', '2029-05-31', null],
      ['almalinux:9', 'AlmaLinux 9', '2022-05-26', '2027-05-31', '2032-05-31', null],
      ['almalinux:10', 'AlmaLinux 10', '2025-05-27', '2030-05-31', '2035-05-31', null],
    ],
  ),
  packageManager: () => 'dnf',
  image: { rpmDbSysimageSinceMajor: 10 },
  elFamily: true,
  feeds: [
    {
      id: 'almalinux-osv',
      format: 'osv',
      distribution: 'almalinux',
      location: `${OSV_DUMPS}/AlmaLinux/all.zip`,
      release: null,
      description: 'AlmaLinux 8/9/10 advisories (OSV)',
      license: 'MIT (AlmaLinux OS)',
    },
  ],
  // AlmaLinux puts Red Hat's rating in the OSV summary: "Important: openssh security update".
  severity: { formats: ['osv', 'updateinfo'], words: RED_HAT_SEVERITY },
  updateinfoRelease: /^AlmaLinux (\d+)/i,
  osv: { ecosystem: /^AlmaLinux:(\d+)$/, packageKind: 'binary' },
  // AlmaLinux's OVAL references its errata as source="ALSA".
  oval: { advisoryReferenceSources: ['ALSA'] },
};
