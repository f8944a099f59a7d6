import { EOL_DATE, OSV_DUMPS } from '../urls.js';
import { RED_HAT_SEVERITY } from '../rhel/index.js';
import { lifecycleTable, type DistroDescriptor } from '../types.js';

/** Rocky Linux, a RHEL rebuild: one release per major, Red Hat's severity words and dist tags. */
export const rocky: DistroDescriptor = {
  id: 'rocky',
  displayName: 'Rocky Linux',
  urls: ['https://wiki.rockylinux.org/rocky/version/', 'https://errata.rockylinux.org/'],
  family: 'rpm',
  osRelease: { ids: ['rocky'], version: 'major' },
  lifecycle: lifecycleTable(
    [`${EOL_DATE}/rocky-linux.md`],
    [
      ['rocky:8', 'Rocky Linux 8', '2021-05-01', '2024-05-31', '2029-05-31', null],
      ['rocky:9', 'Rocky Linux 9', '2022-07-14', '2027-05-31', '2032-05-31', null],
      ['rocky:10', 'Rocky Linux 10', '2025-06-11', '2030-05-31', '2035-05-31', null],
    ],
  ),
  packageManager: () => 'dnf',
  image: { rpmDbSysimageSinceMajor: 10 },
  elFamily: true,
  feeds: [
    {
      id: 'rocky-osv',
      format: 'osv',
      distribution: 'rocky',
      location: `${OSV_DUMPS}/Rocky%20Linux/all.zip`,
      release: null,
      description: 'Rocky Linux advisories (OSV)',
      license: 'see Rocky Linux errata terms',
    },
  ],
  severity: { formats: ['osv', 'updateinfo'], words: RED_HAT_SEVERITY },
  updateinfoRelease: /^Rocky Linux (\d+)/i,
  osv: { ecosystem: /^Rocky Linux:(\d+)$/, packageKind: 'binary' },
};
