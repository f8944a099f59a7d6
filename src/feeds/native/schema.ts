import { z } from 'zod';
import { cvss4FromFeed } from '../../core/cvss4.js';
import { EXAMPLE_RELEASE, EXAMPLE_SOURCE } from '../../distros/registry.js';

/**
 * Bulwark's own advisory format: `{ "source": "...", "advisories": [Advisory, ...] }`, the
 * normalised model of src/core/advisory.ts written as JSON. Used for the demo, hand-made feeds
 * and exports; the vendor formats live beside it (oval/, osv/, csaf-vex/, updateinfo/).
 */
const nonEmpty = z.string().min(1).max(4096);
const version = z.string().min(1).max(1024);

export const NativeFix = z.strictObject({
  release: z.string().regex(/^[a-z][a-z0-9-]*:[0-9A-Za-z][0-9A-Za-z._-]*$/, `a release id such as ${EXAMPLE_RELEASE}`),
  package: nonEmpty,
  packageKind: z.enum(['source', 'binary']),
  arch: nonEmpty.nullable(),
  status: z.enum(['fixed', 'no-fix-yet', 'will-not-fix', 'not-affected', 'under-investigation']),
  fixed: version.nullable(),
  lastAffected: version.nullable(),
  introduced: z.strictObject({ version, inclusive: z.boolean() }).nullable(),
});
export type NativeFix = z.infer<typeof NativeFix>;

export const NativeAdvisory = z
  .strictObject({
    id: nonEmpty,
    title: z.string().max(4096),
    description: z.string().max(1 << 20),
    severity: z.enum(['critical', 'high', 'medium', 'low', 'none', 'unknown']),
    cvssScore: z.number().min(0).max(10).nullable(),
    cvssVector: z.string().max(256).nullable(),
    /** CVSS v4.0 beside v3; the score must be the vector's by the specification's method. */
    cvssV4: z.strictObject({ vector: z.string().max(256), score: z.number().min(0).max(10) }).optional(),
    cves: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/)).max(10_000),
    references: z
      .array(
        z.strictObject({
          type: z.enum(['cve', 'advisory', 'bugzilla', 'web', 'package', 'other']),
          id: z.string().max(1024).nullable(),
          url: z.string().max(4096).nullable(),
        }),
      )
      .max(10_000),
    publishedAt: z.iso.datetime({ offset: true }).nullable(),
    updatedAt: z.iso.datetime({ offset: true }).nullable(),
    parser: nonEmpty,
    fixes: z.array(NativeFix).max(100_000),
  })
  .superRefine((a, ctx) => {
    if (a.cvssV4 !== undefined) {
      const { rating, problem } = cvss4FromFeed(a.cvssV4.vector, null);
      if (rating === null) ctx.addIssue({ code: 'custom', path: ['cvssV4', 'vector'], message: problem ?? 'invalid' });
      else if (rating.score !== a.cvssV4.score)
        ctx.addIssue({
          code: 'custom',
          path: ['cvssV4', 'score'],
          message: `${String(a.cvssV4.score)} is not the score of its vector (${rating.score.toFixed(1)})`,
        });
    }
    a.fixes.forEach((f, i) => {
      if (f.status === 'fixed' && f.fixed === null)
        ctx.addIssue({ code: 'custom', path: ['fixes', i, 'fixed'], message: 'a "fixed" fix needs the fixed version' });
      if (f.status !== 'fixed' && f.fixed !== null)
        ctx.addIssue({ code: 'custom', path: ['fixes', i, 'fixed'], message: `a "${f.status}" fix has no fixed version` });
    });
  });
export type NativeAdvisory = z.infer<typeof NativeAdvisory>;

export const NativeFeed = z.object({
  source: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, `a feed source id such as ${EXAMPLE_SOURCE}`),
  advisories: z.array(z.unknown()),
});
export type NativeFeed = z.infer<typeof NativeFeed>;
