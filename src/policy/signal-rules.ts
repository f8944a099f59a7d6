import type { PlanWarning } from './plan-types.js';
import type { Policy } from './schema.js';

/**
 * Out-of-band rules that name an exploitation signal (issue #16): `kev` for knownExploited,
 * ransomware and `deadlineFrom: kevDueDate`; `epss` for epssAbove. A rule naming a signal never
 * synced would match nothing: refused at `policy apply`, warned in every plan.
 * @example signalsNamed(policy) // [{ rule: 0, name: 'kev-now', signal: 'kev', what: 'match.knownExploited' }]
 */
export function signalsNamed(policy: Policy): { rule: number; name: string; signal: 'kev' | 'epss'; what: string }[] {
  const out: { rule: number; name: string; signal: 'kev' | 'epss'; what: string }[] = [];
  policy.outOfBand.forEach((r, i) => {
    if (r.match.knownExploited === true) out.push({ rule: i, name: r.name, signal: 'kev', what: 'match.knownExploited' });
    if (r.match.ransomware === true) out.push({ rule: i, name: r.name, signal: 'kev', what: 'match.ransomware' });
    if (r.deadlineFrom === 'kevDueDate') out.push({ rule: i, name: r.name, signal: 'kev', what: 'deadlineFrom: kevDueDate' });
    if (r.match.epssAbove !== undefined) out.push({ rule: i, name: r.name, signal: 'epss', what: 'match.epssAbove' });
  });
  return out;
}

/** The plan's warnings for rules naming a signal never synced. */
export function signalWarnings(policy: Policy, synced: { kev: boolean; epss: boolean }): PlanWarning[] {
  return signalsNamed(policy)
    .filter((n) => !synced[n.signal])
    .map((n) => ({
      kind: 'signal-never-synced' as const,
      ring: '',
      targets: [],
      message: `rule ${n.name} (${n.what}) needs the ${n.signal === 'kev' ? 'CISA KEV' : 'FIRST EPSS'} feed, which was never synced: it ${n.what.startsWith('deadline') ? 'takes no deadline from it' : 'matches nothing'} (bulwark feeds sync --source ${n.signal === 'kev' ? 'cisa-kev' : 'first-epss'})`,
    }));
}
