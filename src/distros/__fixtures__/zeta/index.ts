import type { DistroDescriptor } from '../../types.js';

/**
 * A made-up distribution for the test that adding one touches only its folder and the registry
 * line (made-up.test.ts): Zeta Linux, os-release `ID=zetaos`, one release per major, tdnf
 * before 8 and dnf since, its rpm database in /usr/lib/sysimage/rpm since 8, `.zt7` dist tags.
 * It is shaped like a real folder (src/distros/<id>/index.ts), only kept out of api.ts.
 */
export const zeta: DistroDescriptor = {
  id: 'zeta',
  displayName: 'Zeta Linux',
  urls: ['https://zeta.example/lifecycle'],
  family: 'rpm',
  osRelease: { ids: ['zeta', 'zetaos'], version: 'major' },
  lifecycle: [
    { release: 'zeta:7', name: 'Zeta Linux 7', ga: '2024-01-15', endOfStandardSupport: '2026-01-15', endOfSecuritySupport: '2028-01-15', endOfExtendedSupport: null, sources: ['https://zeta.example/lifecycle'] },
    { release: 'zeta:8', name: 'Zeta Linux 8', ga: '2026-03-01', endOfStandardSupport: null, endOfSecuritySupport: '2031-03-01', endOfExtendedSupport: null, sources: ['https://zeta.example/lifecycle'] },
  ],
  packageManager: (version) => (Number.parseInt(version, 10) >= 8 ? 'dnf' : 'tdnf'),
  image: { rpmDbSysimageSinceMajor: 8 },
  distTags: [{ tag: 'zt7', version: '7' }],
  feeds: [{ id: 'zeta-7-updateinfo', format: 'updateinfo', location: 'https://zeta.example/7/updateinfo.xml.gz', release: 'zeta:7', description: 'Zeta Linux 7 updates', license: 'CC0' }],
  severity: { formats: ['updateinfo'], words: { severe: 'critical' } },
  updateinfoRelease: /^Zeta Linux (\d+)/i,
};
