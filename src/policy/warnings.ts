import type { PlanEntry, PlanWarning } from './plan-types.js';
import type { Policy } from './schema.js';

/**
 * What an operator must see in a plan, ring by ring: predicted breaches of deadlines still ahead
 * (a ring starting, or its window ending, after them), rings naming hosts that do not exist, and
 * targets no run can reach (left out of the rings).
 * @example planWarnings(policy.rollout.rings, plan.entries, new Set(['web-01']))
 */
export function planWarnings(
  rings: Policy['rollout']['rings'],
  entries: readonly PlanEntry[],
  known: ReadonlySet<string>,
  unreachable: readonly string[] = [],
  notRollbackable: readonly string[] = [],
): PlanWarning[] {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const warnings: PlanWarning[] = [];
  // Targets with work that no run can reach: left out of the rings, named so they are not forgotten.
  if (unreachable.length > 0) {
    const names = [...unreachable].sort();
    warnings.push({
      kind: 'unreachable-target',
      ring: '',
      targets: names,
      message: `${names.length === 1 ? '1 target has no address Bulwark reaches it by (an imported inventory), so no run patches it' : `${String(names.length)} targets have no address Bulwark reaches them by (imported inventories), so no run patches them`}; left out of the rings: ${names.join(', ')} (\`bulwark hosts add NAME --address … --replace\`, or enroll an agent)`,
    });
  }
  // Hosts the policy says must be rolled back on failure, reached a way that cannot undo an update.
  if (notRollbackable.length > 0) {
    const names = [...notRollbackable].sort();
    warnings.push({
      kind: 'not-rollbackable',
      ring: '',
      targets: names,
      message: `the policy says rollback: on-failure, and ${names.length === 1 ? '1 host is reached through its agent, which cannot undo an update' : `${String(names.length)} hosts are reached through their agents, which cannot undo an update`} (it runs no history undo nor downgrade), so no run patches ${names.length === 1 ? 'it' : 'them'}; left out of the rings: ${names.join(', ')} (reach ${names.length === 1 ? 'it' : 'them'} over SSH with \`bulwark hosts add NAME --address … --replace\`, or patch ${names.length === 1 ? 'it' : 'them'} under a policy with rollback: never)`,
    });
  }
  for (const [i, r] of rings.entries()) {
    const late = (k: 'start' | 'finish'): PlanEntry[] => entries.filter((e) => e.ringIndex === i && e.predictedBreach === k);
    const starts = late('start');
    if (starts.length > 0) {
      const first = Math.min(...starts.map((e) => Date.parse(e.deadline)));
      warnings.push({
        kind: 'starts-after-deadline',
        ring: r.name,
        targets: starts.map((e) => e.target),
        message: `ring ${r.name}: ${plural(starts.length, 'host')} start after their deadline (the first due ${iso(first)}, the ring starts ${starts[0]?.start ?? '?'})`,
      });
    }
    const finishes = late('finish');
    if (finishes.length > 0) {
      const first = Math.min(...finishes.map((e) => Date.parse(e.deadline)));
      warnings.push({
        kind: 'may-finish-after-deadline',
        ring: r.name,
        targets: finishes.map((e) => e.target),
        message: `ring ${r.name}: ${plural(finishes.length, 'host')} may begin after their deadline (the first due ${iso(first)}; the window ends ${finishes[0]?.windowEnd ?? '?'})`,
      });
    }
    // A ring naming a host that does not exist (a typo, a host removed): its canary role is
    // silently lost, and the rings after it go without it. Refused at apply; shown here for a
    // host removed since.
    const unknown = (r.hosts ?? []).filter((h) => !known.has(h));
    if (unknown.length > 0) {
      const empty = !(r.hosts ?? []).some((h) => known.has(h)) && r.tags === undefined && r.percent === undefined;
      warnings.push({
        kind: 'unknown-ring-host',
        ring: r.name,
        targets: unknown,
        message: `ring ${r.name} names ${unknown.map((h) => `"${h}"`).join(', ')}: no such host${empty ? `; the ring has no host, so ${i === rings.length - 1 ? 'it patches nothing' : 'the rings after it go without it'}` : ''}`,
      });
    }
  }
  return warnings;
}

const plural = (n: number, word: string): string => `${String(n)} ${word}${n === 1 ? '' : 's'}`;
