import { z } from 'zod';
import { EXAMPLE_RELEASE } from '../distros/registry.js';
import { Safety } from './safety-schema.js';

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
  releases: z
    .array(z.string().regex(/^[a-z][a-z0-9-]*:[0-9A-Za-z._-]+$/, `a release id such as ${EXAMPLE_RELEASE}`))
    .optional()
    .describe(`Release ids the policy covers, such as ${EXAMPLE_RELEASE}; absent: every release.`),
  tags: z.array(z.string().min(1)).optional().describe('Hosts carrying every one of these tags; absent: any tags.'),
  hosts: z.array(z.string().min(1)).optional().describe('Only these hosts (by name); absent: every host.'),
});

export const Cadence = z.strictObject({
  monthly: z
    .strictObject({
      weekday: weekday.describe('The weekday of the monthly cycle (Patch Tuesday: tuesday).'),
      week: z.number().int().min(1).max(4).describe('Which such weekday of the month, 1 to 4 (Patch Tuesday: 2).'),
      offsetDays: z.number().int().min(0).max(27).default(0).describe('Days after that weekday the cycle starts (0 to 27).'),
    })
    .describe('The monthly cycle: the `week`-th `weekday` of the month (Patch Tuesday: 2nd Tuesday), plus `offsetDays`.'),
  timezone: timezone.default('UTC').describe('The IANA time zone the cycle is counted in, such as Europe/Berlin.'),
});

export const OutOfBandRule = z.strictObject({
  name: name.describe('The rule\'s name, shown in plans (lower-case letters, digits, ".", "_" and "-").'),
  match: z
    .strictObject({
      severity: z.array(severity).min(1).optional().describe('Findings of one of these severities.'),
      minCvss: z.number().min(0).max(10).optional().describe('Findings whose CVSS v3 base score is at least this (0 to 10).'),
      minCvssV4: z
        .number()
        .min(0)
        .max(10)
        .optional()
        .describe('Findings whose CVSS v4.0 base score is at least this (0 to 10); a separate scale, never compared with v3.'),
      cves: z
        .array(z.string().regex(/^CVE-\d{4}-\d{4,}$/))
        .optional()
        .describe('Findings of one of these CVEs, such as CVE-2024-6387.'),
      knownExploited: z.boolean().optional().describe('A CVE CISA lists as known exploited (the KEV feed).'),
      ransomware: z.boolean().optional().describe('A CVE whose KEV entry says it is known to be used in ransomware campaigns.'),
      epssAbove: z.number().min(0).max(1).optional().describe('A CVE whose EPSS probability is above this (0 to 1, the EPSS feed).'),
    })
    .refine((m) => Object.keys(m).length > 0, 'a rule needs at least one condition')
    .describe('Which findings the rule takes: all of these conditions (at least one).'),
  deadlineHours: z
    .number()
    .positive()
    .max(24 * 365)
    .describe("Hours from the advisory's publication by which a matching finding must be patched."),
  deadlineFrom: z
    .enum(['published', 'kevDueDate'])
    .optional()
    .describe(
      "`kevDueDate`: the deadline is the end (UTC) of the KEV entry's dueDate when the finding's CVE has one (the earliest, for several), else `deadlineHours` from publication.",
    ),
  emergency: z.boolean().default(false).describe('May patch outside maintenance windows, at once.'),
  approval: z.enum(['auto', 'manual']).default('auto').describe("`manual`: the rule's patches wait for `bulwark approve`."),
});

export const Hold = z.strictObject({
  advisory: z.string().min(1).describe('The advisory id held back, such as RHSA-2024:1234.'),
  reason: z.string().min(1).describe('Why it is held, shown in plans and the audit log.'),
  until: z.iso
    .date()
    .or(z.iso.datetime({ offset: true }))
    .describe("The day (held to its end in the policy's time zone) or instant the hold ends."),
});

export const Window = z.strictObject({
  name: name.describe("The window's name, shown in plans."),
  days: z.array(weekday).min(1).describe('Day(s) of the week the window opens.'),
  start: timeOfDay.describe('The time of day the window opens, such as 02:30.'),
  durationHours: z
    .number()
    .positive()
    .max(24 * 7)
    .describe('How many hours the window stays open.'),
  timezone: timezone.default('UTC').describe('The IANA time zone of `start`, such as Europe/Berlin.'),
});

export const Ring = z.strictObject({
  name: name.describe("The ring's name, such as canary."),
  hosts: z.array(z.string().min(1)).optional().describe('Hosts named here are in this ring first (a name the store does not know is refused).'),
  tags: z.array(z.string().min(1)).optional().describe('Hosts carrying one of these tags are in this ring first.'),
  percent: z.number().min(0).max(100).optional().describe('Then this share of the (remaining) fleet, by a stable hash of the host name.'),
});

export const Policy = z.strictObject({
  apiVersion: z.literal('bulwark/v1').describe('Always bulwark/v1.'),
  kind: z.literal('Policy').describe('Always Policy.'),
  name: name.describe('The policy\'s name (lower-case letters, digits, ".", "_" and "-").'),
  description: z.string().max(4096).optional().describe('Free text for people: what the policy is for.'),
  scope: PolicyScope.default({}).describe('Which hosts the policy patches; absent: every host.'),
  cadence: Cadence.describe('When the monthly patch cycle starts, and in which time zone.'),
  outOfBand: z.array(OutOfBandRule).default([]).describe('Rules for findings patched before the monthly cycle, with their own deadlines.'),
  approval: z
    .strictObject({
      autoApproveAfterDays: z.number().int().min(0).max(365).describe('Days after the cycle starts that its patches are approved without `bulwark approve`.'),
    })
    .default({ autoApproveAfterDays: 0 })
    .describe('How the monthly cycle is approved.'),
  exclude: z.array(z.string().min(1)).default([]).describe('Package name globs never updated.'),
  pins: z.record(z.string().min(1), z.string().min(1)).default({}).describe('Package name → version glob the package may be updated to.'),
  holds: z.array(Hold).default([]).describe('Advisories held back until a date, with a reason.'),
  windows: z.array(Window).default([]).describe('Maintenance windows: when monthly patches may be installed; none: any time.'),
  rollout: z
    .strictObject({
      rings: z.array(Ring).min(1).describe('The rings in order: each is patched after the previous one soaked.'),
      soakHours: z
        .number()
        .min(0)
        .max(24 * 90)
        .default(0)
        .describe('Hours a ring runs patched before the next ring starts.'),
      maxConcurrency: z.number().int().min(1).max(10_000).default(10).describe('The most hosts patched at once.'),
      failureThreshold: z.number().min(0).max(1).default(0.1).describe("Share of a ring's hosts failing that halts the rollout (0.1 = 10 %)."),
    })
    .default({ rings: [{ name: 'all', percent: 100 }], soakHours: 0, maxConcurrency: 10, failureThreshold: 0.1 })
    .describe('How the fleet is patched in rings; absent: one ring of every host.'),
  reboot: z.enum(['never', 'when-required', 'always']).default('when-required').describe('When a patched host is rebooted.'),
  ...Safety,
  source: z
    .strictObject({
      view: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
        .describe("The content view's name."),
      environment: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/)
        .describe('The environment of the view whose published builds are the targets, such as prod.'),
      repoId: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'a repository id such as bulwark-azl3-prod')
        .optional()
        .describe("The id hosts know the view's repository by: dnf and tdnf runs then use that repository only."),
    })
    .optional()
    .describe(
      'Patch from a content view: targets are builds its environment publishes (the lowest that fixes), and a fix the view does not carry waits, named in the plan.',
    ),
});
export type Policy = z.infer<typeof Policy>;
