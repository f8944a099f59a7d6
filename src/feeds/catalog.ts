/**
 * The built-in catalog of real feed sources, so that `bulwark feeds sync` works on a connected
 * machine with no configuration. Any entry can be pointed at a local file or a mirror with
 * `bulwark feeds add ID --location PATH|URL` (same id, the stored entry wins), and new sources
 * are added the same way. Locations checked against the publishers' documentation on the date
 * in `checked`; OSV ecosystem dumps follow https://google.github.io/osv.dev/data/#data-dumps.
 */
export interface CatalogSource {
  id: string;
  /** A registered feed format id (src/feeds/api.ts). */
  format: string;
  /** http(s) URL or local path. */
  location: string;
  /** The release the feed is about when its documents do not say (OVAL without dist tags, updateinfo). */
  release: string | null;
  /**
   * For a source of several releases (release null): the distribution its documents must name
   * (as in release ids); a document of another one is refused (src/feeds/identity.ts).
   */
  distribution?: string;
  description: string;
  /** Licence of the published data, for the operator's records. */
  license: string;
  /**
   * How to find the real location: `redhat-archive-latest` reads a one-line text file naming
   * the newest complete archive next to it (Red Hat's CSAF `archive_latest.txt`).
   */
  resolve?: 'redhat-archive-latest';
}

const AZL = 'https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main';
const OSV = 'https://osv-vulnerabilities.storage.googleapis.com';
const UBUNTU_OVAL = 'https://security-metadata.canonical.com/oval';

export const catalog: readonly CatalogSource[] = [
  { id: 'azurelinux-3.0-oval', format: 'oval', location: `${AZL}/azurelinux-3.0-oval.xml`, release: 'azurelinux:3.0', description: 'Microsoft Azure Linux 3.0 OVAL', license: 'MIT (Microsoft)' },
  { id: 'mariner-2.0-oval', format: 'oval', location: `${AZL}/cbl-mariner-2.0-oval.xml`, release: 'mariner:2.0', description: 'CBL-Mariner 2.0 OVAL', license: 'MIT (Microsoft)' },
  { id: 'mariner-1.0-oval', format: 'oval', location: `${AZL}/cbl-mariner-1.0-oval.xml`, release: 'mariner:1.0', description: 'CBL-Mariner 1.0 OVAL (final; 1.0 is end of life)', license: 'MIT (Microsoft)' },
  { id: 'almalinux-osv', format: 'osv', distribution: 'almalinux', location: `${OSV}/AlmaLinux/all.zip`, release: null, description: 'AlmaLinux 8/9/10 advisories (OSV)', license: 'MIT (AlmaLinux OS)' },
  { id: 'rocky-osv', format: 'osv', distribution: 'rocky', location: `${OSV}/Rocky%20Linux/all.zip`, release: null, description: 'Rocky Linux advisories (OSV)', license: 'see Rocky Linux errata terms' },
  { id: 'ubuntu-osv', format: 'osv', distribution: 'ubuntu', location: `${OSV}/Ubuntu/all.zip`, release: null, description: 'Ubuntu USNs and CVEs (OSV)', license: 'CC BY-SA 4.0 (Canonical)' },
  { id: 'debian-osv', format: 'osv', distribution: 'debian', location: `${OSV}/Debian/all.zip`, release: null, description: 'Debian security tracker (OSV: DSA, DLA, DTSA)', license: 'see Debian security tracker' },
  { id: 'redhat-osv', format: 'osv', distribution: 'rhel', location: `${OSV}/Red%20Hat/all.zip`, release: null, description: 'Red Hat advisories (OSV)', license: 'CC BY 4.0 (Red Hat)' },
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
  { id: 'ubuntu-24.04-oval', format: 'oval', location: `${UBUNTU_OVAL}/com.ubuntu.noble.usn.oval.xml.bz2`, release: 'ubuntu:24.04', description: 'Ubuntu 24.04 LTS USN OVAL', license: 'CC BY-SA 4.0 (Canonical)' },
  // Exploitation signals (issue #16): no distribution; they rank and trigger, they match nothing.
  { id: 'cisa-kev', format: 'kev', location: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json', release: null, description: 'CISA Known Exploited Vulnerabilities catalog (dateAdded, dueDate, ransomware use)', license: 'CC0 1.0 (CISA)' },
  { id: 'first-epss', format: 'epss', location: 'https://epss.empiricalsecurity.com/epss_scores-current.csv.gz', release: null, description: 'FIRST EPSS daily scores: probability of exploitation in the next 30 days, with percentile', license: 'free use with attribution (FIRST EPSS)' },
  { id: 'ubuntu-22.04-oval', format: 'oval', location: `${UBUNTU_OVAL}/com.ubuntu.jammy.usn.oval.xml.bz2`, release: 'ubuntu:22.04', description: 'Ubuntu 22.04 LTS USN OVAL', license: 'CC BY-SA 4.0 (Canonical)' },
];
