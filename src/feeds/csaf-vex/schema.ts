import { z } from 'zod';

/**
 * The parts of a CSAF 2.0 document (OASIS CSAF v2.0 §3.2) Bulwark reads: the document's
 * tracking and severity, the product tree (branches and relationships) and the vulnerabilities'
 * product status, remediations, scores and threats. Lenient: unknown fields are allowed.
 */
const str = z.string().max(1 << 20);
const ids = z.array(str).max(1_000_000);

export interface CsafBranch {
  category?: string | undefined;
  name?: string | undefined;
  product?:
    | { product_id: string; name?: string | undefined; product_identification_helper?: { cpe?: string | undefined; purl?: string | undefined } | undefined }
    | undefined;
  branches?: CsafBranch[] | undefined;
}

export const CsafBranch: z.ZodType<CsafBranch> = z.lazy(() =>
  z.object({
    category: str.optional(),
    name: str.optional(),
    product: z
      .object({
        product_id: str,
        name: str.optional(),
        product_identification_helper: z.object({ cpe: str.optional(), purl: str.optional() }).optional(),
      })
      .optional(),
    branches: z.array(CsafBranch).max(1_000_000).optional(),
  }),
);

export const CsafRelationship = z.object({
  category: str,
  product_reference: str,
  relates_to_product_reference: str,
  full_product_name: z.object({ product_id: str, name: str.optional() }),
});

export const CsafVulnerability = z.object({
  cve: str.optional(),
  title: str.optional(),
  discovery_date: str.optional(),
  release_date: str.optional(),
  ids: z.array(z.object({ system_name: str, text: str })).optional(),
  notes: z.array(z.object({ category: str, text: str, title: str.optional() })).optional(),
  product_status: z
    .object({
      fixed: ids.optional(),
      known_affected: ids.optional(),
      known_not_affected: ids.optional(),
      under_investigation: ids.optional(),
    })
    .optional(),
  remediations: z.array(z.object({ category: str, details: str.optional(), url: str.optional(), product_ids: ids.optional() })).optional(),
  scores: z
    .array(
      z.object({
        cvss_v3: z.object({ baseScore: z.number(), vectorString: str, baseSeverity: str.optional() }).optional(),
        // CSAF 2.1 (and publishers ahead of it): FIRST's CVSS v4.0 JSON, whose vector we score ourselves.
        cvss_v4: z.object({ baseScore: z.number(), vectorString: str }).optional(),
        products: ids.optional(),
      }),
    )
    .optional(),
  threats: z.array(z.object({ category: str, details: str, product_ids: ids.optional() })).optional(),
  references: z.array(z.object({ category: str.optional(), summary: str.optional(), url: str })).optional(),
});
export type CsafVulnerability = z.infer<typeof CsafVulnerability>;

export const CsafDocument = z.object({
  document: z.object({
    category: str,
    csaf_version: str,
    title: str.optional(),
    aggregate_severity: z.object({ text: str }).optional(),
    references: z.array(z.object({ category: str.optional(), summary: str.optional(), url: str })).optional(),
    tracking: z.object({ id: str, initial_release_date: str.optional(), current_release_date: str.optional() }),
    publisher: z.object({ name: str.optional(), namespace: str.optional() }).optional(),
  }),
  product_tree: z
    .object({
      branches: z.array(CsafBranch).optional(),
      relationships: z.array(CsafRelationship).optional(),
    })
    .optional(),
  vulnerabilities: z.array(z.unknown()).optional(),
});
export type CsafDocument = z.infer<typeof CsafDocument>;
