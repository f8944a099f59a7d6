import { integer, real, table, text, timestamp } from './columns.js';

// Exploitation signals (issue #16, migration 0034): CISA KEV entries, kept after CISA drops one
// (`removed_at`); each CVE's latest EPSS score with the last point of its trend (`noted_*`); the
// points where an EPSS score moved.

export const kevEntries = table({
  columns: {
    cve: text(),
    vendor_project: text(),
    product: text(),
    vulnerability_name: text(),
    /** YYYY-MM-DD */
    date_added: text(),
    short_description: text(),
    required_action: text(),
    /** YYYY-MM-DD */
    due_date: text(),
    /** knownRansomwareCampaignUse "Known": 1. */
    ransomware: integer(),
    notes: text(),
    /** JSON array of CWE ids. */
    cwes: text(),
    catalog_version: text(),
    first_seen_at: timestamp(),
    last_changed_at: timestamp(),
    removed_at: timestamp().orNull(),
  },
  primaryKey: ['cve'],
  indexes: [],
});

export const epssScores = table({
  columns: {
    cve: text(),
    epss: real(),
    percentile: real(),
    /** YYYY-MM-DD */
    score_date: text(),
    model_version: text(),
    /** The last point of the CVE's trend (its first score, or the last that moved). */
    noted_epss: real(),
    noted_percentile: real(),
    noted_date: text(),
  },
  primaryKey: ['cve'],
  indexes: [],
});

export const epssHistory = table({
  columns: {
    cve: text(),
    score_date: text(),
    epss: real(),
    percentile: real(),
  },
  primaryKey: ['cve', 'score_date'],
  indexes: [],
});
