import type { DistroDescriptor } from '../types.js';

/**
 * CentOS Stream: known as an rpm distribution of the RHEL family (os-release, updateinfo
 * `<release>`, `.elN` dist tags) so its hosts are inventoried and patched with dnf; Bulwark
 * ships no lifecycle dates or feeds for it.
 */
export const centos: DistroDescriptor = {
  id: 'centos',
  displayName: 'CentOS Stream',
  urls: ['https://www.centos.org/centos-stream/'],
  family: 'rpm',
  osRelease: { ids: ['centos'], version: 'major' },
  lifecycle: [],
  packageManager: () => 'dnf',
  elFamily: true,
  feeds: [],
  updateinfoRelease: /^CentOS Stream (\d+)/i,
};
