import { z } from 'zod';

/**
 * The parts of an OSV record (https://ossf.github.io/osv-schema/, 1.0–1.7) Bulwark reads. Lenient:
 * unknown fields are allowed, and an affected entry or event that does not fit is skipped with a
 * warning by the parser rather than failing the record.
 */
const str = z.string().max(1 << 20);

export const OsvEvent = z.object({
  introduced: str.optional(),
  fixed: str.optional(),
  last_affected: str.optional(),
  limit: str.optional(),
});
export type OsvEvent = z.infer<typeof OsvEvent>;

export const OsvRange = z.object({
  type: str,
  events: z.array(z.unknown()).max(10_000),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvRange = z.infer<typeof OsvRange>;

export const OsvAffected = z.object({
  package: z.object({ ecosystem: str, name: str, purl: str.optional() }),
  ranges: z.array(z.unknown()).max(10_000).optional(),
  versions: z.array(str).max(1_000_000).optional(),
  ecosystem_specific: z.record(z.string(), z.unknown()).optional(),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvAffected = z.infer<typeof OsvAffected>;

export const OsvRecord = z.object({
  id: z.string().min(1).max(256),
  summary: str.optional(),
  details: str.optional(),
  aliases: z.array(str).max(10_000).nullish(),
  related: z.array(str).max(10_000).nullish(),
  upstream: z.array(str).max(10_000).nullish(),
  published: str.optional(),
  modified: str.optional(),
  withdrawn: str.optional(),
  severity: z
    .array(z.object({ type: str, score: str }))
    .max(100)
    .nullish(),
  affected: z.array(z.unknown()).max(1_000_000).nullish(),
  references: z
    .array(z.object({ type: str, url: str }))
    .max(100_000)
    .nullish(),
  database_specific: z.record(z.string(), z.unknown()).optional(),
});
export type OsvRecord = z.infer<typeof OsvRecord>;
