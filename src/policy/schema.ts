import { z } from 'zod';
import { EXAMPLE_RELEASE } from '../distros/registry.js';

/**
 * A patch policy (issue #5), written as YAML and validated strictly (DESIGN.md: configuration
 * is strict). `bulwark policy schema` prints the JSON Schema for editors.
 */
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-"');
const severity = z.enum(['critical', 'high', 'medium', 'low', 'none', 'unknown']);
const weekday = z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day such as 02:30');
const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'an IANA time zone such as Europe/Berlin or UTC' },
);

export const PolicyScope = z.strictObject({
  /** Release ids, e.g. azurelinux:3.0; absent: every release. */
  releases: z.array(z.string().regex(/^[a-z][a-z0-9-]*:[0-9A-Za-z._-]+$/, `a release id such as ${EXAMPLE_RELEASE}`)).optional(),
  /** Every one of these tags. */
  tags: z.array(z.string().min(1)).optional(),
  hosts: z.array(z.string().min(1)).optional(),
});

export const Cadence = z.strictObject({
  /** The monthly cycle: the `week`-th `weekday` of the month (Patch Tuesday: 2nd Tuesday), plus `offsetDays`. */
  monthly: z.strictObject({
    weekday,
    week: z.number().int().min(1).max(4),
    offsetDays: z.number().int().min(0).max(27).default(0),
  }),
  timezone: timezone.default('UTC'),
});

export const OutOfBandRule = z.strictObject({
  name,
  match: z
    .strictObject({
      severity: z.array(severity).min(1).optional(),
      minCvss: z.number().min(0).max(10).optional(),
      cves: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/)).optional(),
      /** A CVE CISA lists as known exploited (the KEV feed, issue #16). */
      knownExploited: z.boolean().optional(),
      /** A CVE whose KEV entry says it is known to be used in ransomware campaigns. */
      ransomware: z.boolean().optional(),
      /** A CVE whose EPSS probability is above this (the EPSS feed). */
      epssAbove: z.number().min(0).max(1).optional(),
    })
    .refine((m) => Object.keys(m).length > 0, 'a rule needs at least one condition'),
  /** Deadline counted from the advisory's publication. */
  deadlineHours: z
    .number()
    .positive()
    .max(24 * 365),
  /**
   * `kevDueDate`: the deadline is the end (UTC) of the KEV entry's dueDate when the finding's CVE
   * has one (the earliest, for several), else `deadlineHours` from publication.
   */
  deadlineFrom: z.enum(['published', 'kevDueDate']).optional(),
  /** May patch outside maintenance windows. */
  emergency: z.boolean().default(false),
  approval: z.enum(['auto', 'manual']).default('auto'),
});

export const Hold = z.strictObject({
  advisory: z.string().min(1),
  reason: z.string().min(1),
  until: z.iso.date().or(z.iso.datetime({ offset: true })),
});

export const Window = z.strictObject({
  name,
  /** Day(s) of the week the window opens. */
  days: z.array(weekday).min(1),
  start: timeOfDay,
  durationHours: z
    .number()
    .positive()
    .max(24 * 7),
  timezone: timezone.default('UTC'),
});

export const Ring = z.strictObject({
  name,
  /** Hosts named here, or carrying one of these tags, are in this ring first. */
  hosts: z.array(z.string().min(1)).optional(),
  tags: z.array(z.string().min(1)).optional(),
  /** Then this share of the (remaining) fleet, by a stable hash of the host name. */
  percent: z.number().min(0).max(100).optional(),
});

export const Policy = z.strictObject({
  apiVersion: z.literal('bulwark/v1'),
  kind: z.literal('Policy'),
  name,
  description: z.string().max(4096).optional(),
  scope: PolicyScope.default({}),
  cadence: Cadence,
  outOfBand: z.array(OutOfBandRule).default([]),
  approval: z.strictObject({ autoApproveAfterDays: z.number().int().min(0).max(365) }).default({ autoApproveAfterDays: 0 }),
  /** Package name globs never updated. */
  exclude: z.array(z.string().min(1)).default([]),
  /** Package name → version glob the package may be updated to. */
  pins: z.record(z.string().min(1), z.string().min(1)).default({}),
  holds: z.array(Hold).default([]),
  windows: z.array(Window).default([]),
  rollout: z
    .strictObject({
      rings: z.array(Ring).min(1),
      soakHours: z
        .number()
        .min(0)
        .max(24 * 90)
        .default(0),
      maxConcurrency: z.number().int().min(1).max(10_000).default(10),
      /** Share of a ring's hosts failing that halts the rollout (0.1 = 10 %). */
      failureThreshold: z.number().min(0).max(1).default(0.1),
    })
    .default({ rings: [{ name: 'all', percent: 100 }], soakHours: 0, maxConcurrency: 10, failureThreshold: 0.1 }),
  reboot: z.enum(['never', 'when-required', 'always']).default('when-required'),
  /**
   * Patch from a content view (issue #7): targets are builds the view's environment publishes
   * (the lowest one that fixes), and a fix the view does not carry waits, named in the plan.
   * With `repoId` (the id hosts know the view's repository by), dnf and tdnf runs use that
   * repository only.
   */
  source: z
    .strictObject({
      view: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
      environment: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
      repoId: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'a repository id such as bulwark-azl3-prod')
        .optional(),
    })
    .optional(),
});
export type Policy = z.infer<typeof Policy>;
