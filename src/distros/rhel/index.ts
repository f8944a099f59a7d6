import type { SeverityVocabulary } from '../../core/severity.js';
import { EOL_DATE, OSV_DUMPS } from '../urls.js';
import { lifecycleTable, type DistroDescriptor } from '../types.js';

/**
 * Red Hat's severity words (https://access.redhat.com/security/updates/classification), which
 * its rebuilds (AlmaLinux, Rocky) copy into their own advisories.
 */
export const RED_HAT_SEVERITY: SeverityVocabulary = { critical: 'critical', important: 'high', moderate: 'medium', low: 'low' };

/**
 * The RHEL release of a CSAF product stream: from its id (`BaseOS-9.3.0.Z.MAIN` → 9,
 * `AppStream-9.2.0.Z.MAIN.EUS` / `…9.0.0.Z.EUS` → 9.2 / 9.0, the extended-support streams being
 * releases of their own) or its CPE (`cpe:/o:redhat:enterprise_linux:8` → 8,
 * `cpe:/o:redhat:rhel_aus:7.6::server` → 7.6). Null: not a RHEL stream (Satellite, JBoss,
 * OpenShift…).
 * @example csafStreamVersion('AppStream-9.3.0.Z.MAIN', 'cpe:/a:redhat:enterprise_linux:9::appstream') // '9'
 */
export function csafStreamVersion(productId: string, cpe: string | null): string | null {
  const byId = /^[A-Za-z]+-(\d+)\.(\d+)\.\d+\.Z\.(MAIN(?:\.EUS)?|EUS|AUS|TUS|E4S)$/.exec(productId);
  if (byId?.[1] !== undefined && byId[2] !== undefined && cpe !== null && /:redhat:(enterprise_linux|rhel_[a-z0-9]+):/.test(cpe))
    return byId[3] === 'MAIN' ? byId[1] : `${byId[1]}.${byId[2]}`;
  if (cpe === null) return null;
  const main = /^cpe:\/[ao]:redhat:enterprise_linux:(\d+)(?:$|[:.])/.exec(cpe);
  if (main?.[1] !== undefined) return main[1];
  const ext = /^cpe:\/[ao]:redhat:rhel_(?:eus|aus|tus|e4s|els|extras)[a-z_]*:(\d+(?:\.\d+)?)(?:$|:)/.exec(cpe);
  if (ext?.[1] !== undefined) return ext[1];
  return null;
}

/**
 * Red Hat Enterprise Linux: one release per major for matching (`rhel:9.4` is `rhel:9`; the EUS
 * streams of the CSAF feed aside).
 */
export const rhel: DistroDescriptor = {
  id: 'rhel',
  displayName: 'Red Hat Enterprise Linux',
  urls: ['https://access.redhat.com/support/policy/updates/errata', 'https://security.access.redhat.com/data/'],
  family: 'rpm',
  osRelease: { ids: ['rhel'], version: 'major' },
  lifecycle: lifecycleTable(
    [`${EOL_DATE}/rhel.md`, 'https://access.redhat.com/support/policy/updates/errata'],
    [
      ['rhel:8', 'Red Hat Enterprise Linux 8', '2019-05-07', '2024-05-31', '2029-05-31', '2033-05-31'],
      ['rhel:9', 'Red Hat Enterprise Linux 9', '2022-05-18', '2027-05-31', '2032-05-31', '2036-05-31'],
      ['rhel:10', 'Red Hat Enterprise Linux 10', '2025-05-20', '2030-05-31', '2035-05-31', '2039-05-31'],
    ],
  ),
  packageManager: () => 'dnf',
  image: { rpmDbSysimageSinceMajor: 10 },
  purlVendor: 'redhat',
  elFamily: true,
  feeds: [
    {
      id: 'redhat-osv',
      format: 'osv',
      distribution: 'rhel',
      location: `${OSV_DUMPS}/Red%20Hat/all.zip`,
      release: null,
      description: 'Red Hat advisories (OSV)',
      license: 'CC BY 4.0 (Red Hat)',
    },
    {
      id: 'redhat-csaf-vex',
      format: 'csaf-vex',
      location: 'https://security.access.redhat.com/data/csaf/v2/vex/archive_latest.txt',
      release: null,
      distribution: 'rhel',
      description: 'Red Hat CSAF VEX, one document per CVE (the whole archive, several GB uncompressed)',
      license: 'CC BY 4.0 (Red Hat)',
      resolve: 'redhat-archive-latest',
    },
  ],
  severity: { formats: ['csaf-vex', 'oval', 'osv', 'updateinfo'], words: RED_HAT_SEVERITY },
  updateinfoRelease: /^Red Hat Enterprise Linux (\d+)/i,
  oval: {
    namespace: /^com\.redhat\.(?:rhsa|rhba|rhea|cve|unaffected)$/,
    advisoryReferenceSources: ['RHSA'],
    generator: /^Red Hat\b/i,
    // Red Hat's criteria say "Red Hat Enterprise Linux 9 is installed".
    versionFromPlatformComment: (comment) => /^Red Hat Enterprise Linux (\d+) is installed$/.exec(comment.trim())?.[1] ?? null,
  },
  // "Red Hat:enterprise_linux:9::appstream", "Red Hat:rhel_eus:8.6::baseos".
  osv: { ecosystem: /^Red Hat:(?:enterprise_linux|rhel_[a-z0-9]+):(\d+(?:\.\d+)?)(?::|$)/, packageKind: 'binary' },
  csaf: { publisherDomains: ['redhat.com'], streamVersion: csafStreamVersion },
};
