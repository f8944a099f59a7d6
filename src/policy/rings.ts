import type { Policy } from './schema.js';
import { editDistance } from '../core/edit-distance.js';

/**
 * Rings: which ring each host is in. Named hosts and tags first, then percentages of the fleet by
 * a stable hash. A host's place in the hash space is its name's alone, so it stays in its ring
 * when other hosts are patched, added or removed (each percent ring takes its share of the space,
 * in order).
 */
type Ring = Policy['rollout']['rings'][number];

/** FNV-1a, for a stable spread of hosts over percentage rings. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The ring index of each host (given by its name and tags).
 * @example assignRings(policy.rollout.rings, targets, (t) => t) // Map { web-01 → 0, app-3 → 2, … }
 */
export function assignRings<T>(rings: readonly Ring[], hosts: readonly T[], hostOf: (x: T) => { name: string; tags: readonly string[] }): Map<T, number> {
  const ringOf = new Map<T, number>();
  for (const [i, r] of rings.entries())
    for (const x of hosts) {
      const h = hostOf(x);
      if (!ringOf.has(x) && (r.hosts?.includes(h.name) === true || r.tags?.some((t) => h.tags.includes(t)) === true)) ringOf.set(x, i);
    }
  const bucket = (x: T): number => (fnv1a(hostOf(x).name) / 0x1_0000_0000) * 100;
  const bounds: [ring: number, upTo: number][] = [];
  let cumulative = 0;
  for (const [i, r] of rings.entries()) {
    if (r.percent === undefined) continue;
    cumulative = Math.min(100, cumulative + r.percent);
    bounds.push([i, cumulative]);
  }
  const rest = hosts.filter((x) => !ringOf.has(x)).sort((a, b) => bucket(a) - bucket(b) || hostOf(a).name.localeCompare(hostOf(b).name));
  for (const x of rest) ringOf.set(x, bounds.find(([, upTo]) => bucket(x) < upTo)?.[0] ?? rings.length - 1);
  // A small fleet may leave an early percent ring (a canary) empty by chance: it then takes the
  // first host, by hash, of the rings after it, so a rollout never skips its early rings.
  for (const [k, [ring]] of bounds.entries()) {
    if (k === bounds.length - 1 || rest.some((x) => ringOf.get(x) === ring)) continue;
    const later = new Set(bounds.slice(k + 1).map(([r]) => r));
    const first = rest.find((x) => later.has(ringOf.get(x) ?? -1));
    if (first !== undefined) ringOf.set(first, ring);
  }
  return ringOf;
}

/**
 * The hosts a policy's rings name that are not among `hosts`, each with its place in the file
 * and the closest known name (a typo of one or two characters), for `policy apply` to refuse.
 * @example unknownRingHosts(policy, ['web-01', 'web-02']) // [{ ring: 0, index: 0, host: 'web-1', suggestion: 'web-01' }]
 */
export function unknownRingHosts(policy: Policy, hosts: readonly string[]): { ring: number; index: number; host: string; suggestion: string | null }[] {
  const known = new Set(hosts);
  const out: { ring: number; index: number; host: string; suggestion: string | null }[] = [];
  for (const [ring, r] of policy.rollout.rings.entries())
    for (const [index, host] of (r.hosts ?? []).entries()) {
      if (known.has(host)) continue;
      let suggestion: string | null = null;
      let best = Math.min(2, Math.floor(host.length / 3)) + 1;
      for (const h of hosts) {
        const d = editDistance(host, h, best);
        if (d < best) [best, suggestion] = [d, h];
      }
      out.push({ ring, index, host, suggestion });
    }
  return out;
}
