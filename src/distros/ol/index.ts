import type { DistroDescriptor } from '../types.js';

/**
 * Oracle Linux (os-release `ID=ol`): known as an rpm distribution of the RHEL family
 * (os-release, updateinfo `<release>`, `.elN` dist tags) so its hosts are inventoried and
 * patched with dnf; Bulwark ships no lifecycle dates or feeds for it.
 */
export const ol: DistroDescriptor = {
  id: 'ol',
  displayName: 'Oracle Linux',
  urls: ['https://www.oracle.com/a/ocom/docs/elsp-lifetime-069338.pdf'],
  family: 'rpm',
  osRelease: { ids: ['ol'], version: 'major' },
  lifecycle: [],
  packageManager: () => 'dnf',
  elFamily: true,
  feeds: [],
  updateinfoRelease: /^Oracle Linux (\d+)/i,
};
