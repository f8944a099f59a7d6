import { CVSS_NONE, CVSS_RATINGS } from '../../core/severity.js';
import { MICROSOFT_VULNERABILITY_DATA as AZL } from '../urls.js';
import type { DistroDescriptor } from '../types.js';
import { SOURCE_MAP as SOURCE_MAP_3 } from './source-map-3.0.js';
import { MSRC_CSAF } from './msrc-csaf.js';

/**
 * Azure Linux 3.0 and the Fedora-43-based 4.0 (dnf5, rpm database in /usr/lib/sysimage/rpm).
 * Microsoft's OVAL files name no release but glue the dist tag (`.azl3`) onto every version
 * (data notes 1.4-3).
 */
export const azurelinux: DistroDescriptor = {
  id: 'azurelinux',
  displayName: 'Azure Linux',
  urls: ['https://github.com/microsoft/azurelinux', 'https://github.com/microsoft/AzureLinuxVulnerabilityData'],
  family: 'rpm',
  osRelease: { ids: ['azurelinux'], version: 'as-is' },
  lifecycle: [
    {
      release: 'azurelinux:3.0',
      name: 'Azure Linux 3.0',
      ga: '2024-08-01',
      endOfStandardSupport: null,
      endOfSecuritySupport: '2027-08-31',
      endOfExtendedSupport: null,
      sources: ['https://github.com/endoflife-date/endoflife.date/pull/10427'],
      note: 'The end date is an estimate (three years after GA, as for 2.0); no dated Microsoft statement was found.',
    },
    {
      release: 'azurelinux:4.0',
      name: 'Azure Linux 4.0',
      ga: null,
      endOfStandardSupport: null,
      endOfSecuritySupport: null,
      endOfExtendedSupport: null,
      preview: true,
      sources: ['MicrosoftDocs/azure-management-docs articles/azure-linux/includes/azure-linux-4-preview.md'],
    },
  ],
  // Azure Linux 4.0 moved to dnf5; 2.0 and 3.0 ship tdnf.
  // 4.0 is built from Fedora 43 and ships dnf5; 2.0 and 3.0 ship tdnf.
  packageManager: (version) => (Number.parseInt(version, 10) >= 4 ? 'dnf5' : 'tdnf'),
  image: { rpmDbSysimageSinceMajor: 4 },
  distTags: [
    { tag: 'azl3', version: '3.0' },
    { tag: 'azl4', version: '4.0' },
  ],
  feeds: [
    {
      id: 'azurelinux-3.0-oval',
      format: 'oval',
      location: `${AZL}/azurelinux-3.0-oval.xml`,
      release: 'azurelinux:3.0',
      description: 'Microsoft Azure Linux 3.0 OVAL',
      license: 'MIT (Microsoft)',
    },
    {
      // Azure Linux 4.0 has no OVAL: MSRC's CSAF VEX (every Microsoft product, one document per CVE) is its feed.
      id: 'azurelinux-msrc-csaf-vex',
      format: 'csaf-vex',
      location: 'https://msrc.microsoft.com/csaf/provider-metadata.json',
      release: null,
      distribution: 'azurelinux',
      description: 'Microsoft MSRC CSAF VEX, one document per CVE; Azure Linux products read (documents changed since the last sync are fetched)',
      license: 'Microsoft Terms of Use',
      resolve: 'csaf-provider',
    },
  ],
  // Microsoft's OVAL severities are NVD's CVSS ratings, "None" included.
  severity: { formats: ['oval'], words: { ...CVSS_RATINGS, ...CVSS_NONE } },
  updateinfoRelease: /^Azure Linux (\d+\.\d+)/i,
  oval: {
    namespace: /^com\.microsoft\.azurelinux$/,
    generator: /^Azure Linux OVAL/i,
    // Microsoft's feeds name source packages (data notes 1.4-1) and write "0:" for every
    // package, whatever its epoch (data notes 1.4-2).
    idPrefix: 'oval:com.microsoft.',
    packageKind: 'source',
    epochUnreliable: true,
  },
  csaf: MSRC_CSAF,
  sourceMaps: { '3.0': { text: SOURCE_MAP_3.text, dist: /\.azl3$/ } },
};
