import { CVSS_RATINGS } from '../../core/severity.js';
import { EOL_DATE, OSV_DUMPS } from '../urls.js';
import { lifecycleTable, type DistroDescriptor } from '../types.js';
import { PRO_CHANNELS, proChannelOfPurl } from './pro.js';

const OVAL = 'https://security-metadata.canonical.com/oval';

/** Ubuntu codenames (https://wiki.ubuntu.com/Releases), as Canonical's OVAL ids carry them. */
const CODENAMES: Readonly<Record<string, string>> = {
  trusty: '14.04',
  xenial: '16.04',
  bionic: '18.04',
  focal: '20.04',
  jammy: '22.04',
  mantic: '23.10',
  noble: '24.04',
  oracular: '24.10',
  plucky: '25.04',
  questing: '25.10',
};

/** Ubuntu (LTS releases): Canonical's USN OVAL and OSV records, both naming source packages. */
export const ubuntu: DistroDescriptor = {
  id: 'ubuntu',
  displayName: 'Ubuntu',
  urls: ['https://ubuntu.com/about/release-cycle', 'https://ubuntu.com/security/oval'],
  family: 'deb',
  osRelease: { ids: ['ubuntu'], version: 'as-is' },
  lifecycle: lifecycleTable(
    [`${EOL_DATE}/ubuntu.md`, 'https://ubuntu.com/about/release-cycle'],
    [
      ['ubuntu:20.04', 'Ubuntu 20.04 LTS', '2020-04-23', '2022-10-01', '2025-05-31', '2030-04-02'],
      ['ubuntu:22.04', 'Ubuntu 22.04 LTS', '2022-04-21', '2024-09-30', '2027-04-01', '2032-04-09'],
      ['ubuntu:24.04', 'Ubuntu 24.04 LTS', '2024-04-25', '2029-05-31', '2029-05-31', '2036-05-31'],
      ['ubuntu:26.04', 'Ubuntu 26.04 LTS', '2026-04-23', '2031-04-30', '2031-04-30', '2036-04-30'],
    ],
  ),
  packageManager: () => 'apt',
  feeds: [
    {
      id: 'ubuntu-osv',
      format: 'osv',
      distribution: 'ubuntu',
      location: `${OSV_DUMPS}/Ubuntu/all.zip`,
      release: null,
      description: 'Ubuntu USNs and CVEs (OSV)',
      license: 'CC BY-SA 4.0 (Canonical)',
    },
    {
      id: 'ubuntu-24.04-oval',
      format: 'oval',
      location: `${OVAL}/com.ubuntu.noble.usn.oval.xml.bz2`,
      release: 'ubuntu:24.04',
      description: 'Ubuntu 24.04 LTS USN OVAL',
      license: 'CC BY-SA 4.0 (Canonical)',
    },
    {
      id: 'ubuntu-22.04-oval',
      format: 'oval',
      location: `${OVAL}/com.ubuntu.jammy.usn.oval.xml.bz2`,
      release: 'ubuntu:22.04',
      description: 'Ubuntu 22.04 LTS USN OVAL',
      license: 'CC BY-SA 4.0 (Canonical)',
    },
  ],
  // Canonical's priorities (https://ubuntu.com/security/cves/about#priority): CVSS's words and "negligible".
  severity: { formats: ['oval', 'osv'], words: { ...CVSS_RATINGS, negligible: 'low' } },
  oval: {
    namespace: /^com\.ubuntu\./,
    advisoryReferenceSources: ['USN'],
    generator: /^Canonical\b.*OVAL/i,
    versionFromId: (id) => {
      const m = /^oval:com\.ubuntu\.([a-z]+):/.exec(id);
      return m?.[1] === undefined ? null : (CODENAMES[m[1]] ?? null);
    },
  },
  osv: {
    ecosystem: /^Ubuntu:(\d+\.\d+)(?::LTS)?$/,
    packageKind: 'source',
    priorityKey: 'ubuntu_priority',
    // Ubuntu Pro's ESM fixes ("Ubuntu:Pro:20.04:LTS"): kept, marked with their channel, and
    // matched as installable only on hosts with that channel enabled (pro.ts).
    channelEcosystem: { ecosystem: /^Ubuntu:Pro:(\d+\.\d+)(?::LTS)?$/, channel: proChannelOfPurl },
    // FIPS and real-time kernel streams are other package sets, not an update channel of the release.
    refused: [{ ecosystem: /^Ubuntu:(Pro|FIPS)/, why: (e) => `Ubuntu Pro ecosystem "${e}" (FIPS or real-time kernel) is not matched` }],
  },
  channels: PRO_CHANNELS,
};
