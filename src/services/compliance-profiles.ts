import { z } from 'zod';
import { BulwarkError } from '../core/errors.js';
import { deleteProfile, listStoredProfiles, saveProfile } from '../storage/index.js';
import { actorLabel, recordAudit, type Actor } from './audit.js';
import { systemClock, type Clock, type Db } from './store.js';

/**
 * Deadline profiles of compliance reports (issue #18 item 3): days from a finding's first sight
 * by which each severity must be remediated, as a regime states them. Built in:
 * - `fedramp`: FedRAMP's continuous-monitoring deadlines — critical and high 30 days, moderate
 *   (medium) 90, low 180 — and a KEV-listed CVE by CISA's due date when that is earlier
 *   (BOD 22-01, which FedRAMP systems follow);
 * - `pci-dss`: PCI DSS v4.0 requirement 6.3.3 — critical within one month (30 days); the other
 *   severities "within an appropriate time frame", which the standard leaves to the entity, so
 *   they carry no deadline unless an operator sets one.
 * An operator edits a built-in profile (`bulwark compliance profile set`) or adds one; the edit
 * is stored and audited, and `profile reset` brings the built-in one back.
 */
const days = z.number().int().min(1).max(3650);
export const DeadlineProfile = z.strictObject({
  description: z.string().max(500).default(''),
  days: z
    .strictObject({
      critical: days.optional(),
      high: days.optional(),
      medium: days.optional(),
      low: days.optional(),
      none: days.optional(),
      unknown: days.optional(),
    })
    .describe('Days from first sight per severity; a severity left out has no deadline.'),
  kevDueDate: z.boolean().default(false).describe("A KEV-listed CVE is due by CISA's due date when that is earlier."),
});
export type DeadlineProfile = z.infer<typeof DeadlineProfile>;

export const BUILTIN_PROFILES: Readonly<Record<string, DeadlineProfile>> = {
  fedramp: {
    description: 'FedRAMP continuous monitoring: critical and high 30 days, moderate 90, low 180; KEV by its due date',
    days: { critical: 30, high: 30, medium: 90, low: 180 },
    kevDueDate: true,
  },
  'pci-dss': { description: 'PCI DSS v4.0 6.3.3: critical within one month (30 days)', days: { critical: 30 }, kevDueDate: false },
};

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface ProfileInfo extends DeadlineProfile {
  name: string;
  builtin: boolean;
  /** Who edited it last and when; null for a built-in one nobody edited. */
  edited: { at: string; by: string } | null;
}

export async function listProfiles(db: Db): Promise<ProfileInfo[]> {
  const stored = new Map((await listStoredProfiles(db)).map((p) => [p.name, p]));
  const names = [...new Set([...Object.keys(BUILTIN_PROFILES), ...stored.keys()])].sort();
  return names.map((name) => {
    const s = stored.get(name);
    const doc = s !== undefined ? DeadlineProfile.parse(s.document) : (BUILTIN_PROFILES[name] as DeadlineProfile);
    return { name, ...doc, builtin: name in BUILTIN_PROFILES, edited: s === undefined ? null : { at: s.updatedAt, by: s.updatedBy } };
  });
}

/** A profile by name; a name nobody knows is a usage error naming the known ones. */
export async function getProfile(db: Db, name: string): Promise<ProfileInfo> {
  const all = await listProfiles(db);
  const p = all.find((x) => x.name === name);
  if (p === undefined)
    throw new BulwarkError(
      'usage',
      `no deadline profile named "${name}" (known: ${all.map((x) => x.name).join(', ')}, or "policy" for the policies' own deadlines)`,
    );
  return p;
}

/**
 * Sets (adds or edits) a profile; the whole profile is given, validated strictly.
 * @example await setProfile(db, 'fedramp', { days: { critical: 15, high: 30, medium: 90, low: 180 }, kevDueDate: true }, actor)
 */
export async function setProfile(db: Db, name: string, doc: unknown, actor: Actor, clock: Clock = systemClock): Promise<ProfileInfo> {
  if (!NAME.test(name) || name === 'policy')
    throw new BulwarkError('usage', `"${name}" is not a profile name (lower-case letters, digits, ".", "_", "-"; not "policy")`);
  const r = DeadlineProfile.safeParse(doc);
  if (!r.success)
    throw new BulwarkError('usage', `profile ${name}: ${r.error.issues.map((i) => `${i.path.join('.') || '(profile)'}: ${i.message}`).join('; ')}`);
  const now = clock().toISOString();
  await saveProfile(db, { name, document: r.data, now, actor: actorLabel(actor) });
  await recordAudit(db, actor, 'compliance.profile-set', name, { ...r.data }, clock);
  return getProfile(db, name);
}

/** Removes an operator's profile, or brings a built-in one back to its defaults. */
export async function resetProfile(db: Db, name: string, actor: Actor, clock: Clock = systemClock): Promise<void> {
  if (!(await deleteProfile(db, name))) throw new BulwarkError('usage', `profile ${name} was not edited nor added: nothing to reset`);
  await recordAudit(db, actor, 'compliance.profile-reset', name, {}, clock);
}
