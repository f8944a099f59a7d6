import { feedCatalog, type CatalogSource } from '../distros/registry.js';

/**
 * The built-in catalog of real feed sources, so that `bulwark feeds sync` works on a connected
 * machine with no configuration. Any entry can be pointed at a local file or a mirror with
 * `bulwark feeds add ID --location PATH|URL` (same id, the stored entry wins), and new sources
 * are added the same way. Each distribution's descriptor (src/distros/<id>/index.ts) lists its
 * publisher's sources, checked against the publisher's documentation.
 */
export type { CatalogSource } from '../distros/registry.js';

/** Exploitation signals (issue #16): no distribution; they rank and trigger, they match nothing. */
const signalSources: readonly CatalogSource[] = [
  {
    id: 'cisa-kev',
    format: 'kev',
    location: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json',
    release: null,
    description: 'CISA Known Exploited Vulnerabilities catalog (dateAdded, dueDate, ransomware use)',
    license: 'CC0 1.0 (CISA)',
  },
  {
    id: 'first-epss',
    format: 'epss',
    location: 'https://epss.empiricalsecurity.com/epss_scores-current.csv.gz',
    release: null,
    description: 'FIRST EPSS daily scores: probability of exploitation in the next 30 days, with percentile',
    license: 'free use with attribution (FIRST EPSS)',
  },
];

export const catalog: readonly CatalogSource[] = [...feedCatalog, ...signalSources];
