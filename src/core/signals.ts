/**
 * Exploitation signals as Bulwark keeps them (issue #16): a CISA KEV catalog entry and a FIRST
 * EPSS score, as the feeds give them (src/feeds/kev, src/feeds/epss) and the store keeps them.
 */

/** One CISA KEV catalog entry, with the field names of CISA's published JSON schema. */
export interface KevEntry {
  cve: string;
  vendorProject: string;
  product: string;
  vulnerabilityName: string;
  /** YYYY-MM-DD: when CISA added the CVE to the catalog. */
  dateAdded: string;
  shortDescription: string;
  requiredAction: string;
  /** YYYY-MM-DD: the remediation due date CISA set for federal agencies. */
  dueDate: string;
  /** `knownRansomwareCampaignUse` is "Known" (true) or "Unknown" (false). */
  ransomware: boolean;
  notes: string;
  cwes: string[];
}

/** The catalog's own header. */
export interface KevCatalog {
  title: string;
  catalogVersion: string;
  /** ISO 8601 UTC. */
  dateReleased: string;
  count: number;
}

/** One FIRST EPSS row: the probability of exploitation activity in the next 30 days, and its percentile. */
export interface EpssScore {
  cve: string;
  epss: number;
  percentile: number;
}

/** The EPSS file's comment line: `#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000`. */
export interface EpssHeader {
  modelVersion: string;
  /** YYYY-MM-DD (the scores' day, UTC). */
  scoreDate: string;
}
