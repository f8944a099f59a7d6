import { z } from 'zod';

/**
 * CISA's Known Exploited Vulnerabilities catalog, as its published JSON schema defines it
 * (https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities_schema.json):
 * the envelope strictly (a document of another shape fails loudly), each entry leniently (a
 * bad entry is skipped and named). Field names are the schema's own.
 */
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

export const KevEnvelope = z.object({
  title: z.string(),
  catalogVersion: z.string().min(1),
  dateReleased: z.string().min(1),
  count: z.number().int().min(0),
  vulnerabilities: z.array(z.unknown()),
});
export type KevEnvelope = z.infer<typeof KevEnvelope>;

export const KevVulnerability = z.object({
  cveID: z.string().regex(/^CVE-\d{4}-\d{4,}$/, 'a CVE id'),
  vendorProject: z.string(),
  product: z.string(),
  vulnerabilityName: z.string(),
  dateAdded: date,
  shortDescription: z.string(),
  requiredAction: z.string(),
  dueDate: date,
  knownRansomwareCampaignUse: z.enum(['Known', 'Unknown']).optional(),
  notes: z.string().optional(),
  cwes: z.array(z.string()).optional(),
});
export type KevVulnerability = z.infer<typeof KevVulnerability>;
