import { CVSS_NONE, CVSS_RATINGS } from '../../core/severity.js';
import { MICROSOFT_VULNERABILITY_DATA as AZL } from '../urls.js';
import type { DistroDescriptor } from '../types.js';
import { SOURCE_MAP as SOURCE_MAP_2 } from './source-map-2.0.js';

/**
 * CBL-Mariner 1.0 and 2.0 (2.0 also sold as Azure Linux 2.0), Azure Linux's predecessor: its
 * releases keep their own id, `mariner:<version>` (os-release `ID=mariner`; `cbl-mariner` is
 * accepted as the same). Microsoft's OVAL files behave as Azure Linux's (see ../azurelinux).
 */
export const mariner: DistroDescriptor = {
  id: 'mariner',
  displayName: 'CBL-Mariner',
  urls: ['https://github.com/microsoft/azurelinux/tree/2.0', 'https://github.com/microsoft/AzureLinuxVulnerabilityData'],
  aliases: ['cbl-mariner'],
  family: 'rpm',
  osRelease: { ids: ['mariner', 'cbl-mariner'], version: 'as-is' },
  lifecycle: [
    {
      release: 'mariner:1.0',
      name: 'CBL-Mariner 1.0',
      ga: '2020-09-16',
      endOfStandardSupport: null,
      endOfSecuritySupport: '2023-08-31',
      endOfExtendedSupport: null,
      sources: [
        'https://github.com/endoflife-date/endoflife.date/pull/10427',
        'https://github.com/microsoft/azurelinux/issues/6306',
        'https://github.com/dotnet/dotnet-docker/issues/4558',
      ],
    },
    {
      release: 'mariner:2.0',
      name: 'CBL-Mariner 2.0 / Azure Linux 2.0',
      ga: '2022-05-25',
      endOfStandardSupport: null,
      endOfSecuritySupport: '2025-07-31',
      endOfExtendedSupport: '2025-11-30',
      sources: [
        'https://github.com/Azure/azure-cli/pull/31533',
        'https://github.com/microsoft/azurelinux/issues/13555',
        'https://github.com/Azure/AKS/issues/4988',
        'MicrosoftDocs/azure-management-docs articles/azure-linux/includes/azure-linux-retirement.md',
      ],
      note: 'AKS node images received security updates until 2025-11-30; tags published after that are not support.',
    },
  ],
  // Every CBL-Mariner release ships tdnf.
  packageManager: () => 'tdnf',
  distTags: [
    { tag: 'cm2', version: '2.0' },
    { tag: 'cm1', version: '1.0' },
  ],
  feeds: [
    {
      id: 'mariner-2.0-oval',
      format: 'oval',
      location: `${AZL}/cbl-mariner-2.0-oval.xml`,
      release: 'mariner:2.0',
      description: 'CBL-Mariner 2.0 OVAL',
      license: 'MIT (Microsoft)',
    },
    {
      id: 'mariner-1.0-oval',
      format: 'oval',
      location: `${AZL}/cbl-mariner-1.0-oval.xml`,
      release: 'mariner:1.0',
      description: 'CBL-Mariner 1.0 OVAL (final; 1.0 is end of life)',
      license: 'MIT (Microsoft)',
    },
  ],
  // Microsoft's OVAL severities are NVD's CVSS ratings, "None" included.
  severity: { formats: ['oval'], words: { ...CVSS_RATINGS, ...CVSS_NONE } },
  updateinfoRelease: /^CBL-Mariner (\d+\.\d+)/i,
  oval: {
    namespace: /^com\.microsoft\.cbl-mariner$/,
    generator: /^CBL-Mariner OVAL/i,
    // Microsoft's feeds name source packages (data notes 1.4-1) and write "0:" for every
    // package, whatever its epoch (data notes 1.4-2).
    idPrefix: 'oval:com.microsoft.',
    packageKind: 'source',
    epochUnreliable: true,
  },
  sourceMaps: { '2.0': { text: SOURCE_MAP_2.text, dist: /\.cm2$/ } },
};
