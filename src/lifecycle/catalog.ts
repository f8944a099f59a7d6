import { lifecycleFacts, type LifecycleFacts } from '../distros/registry.js';

/**
 * Release lifecycle facts (issue #4): general availability, end of standard support (full
 * updates), end of security support (the vendor's end of life), end of extended support (paid
 * or LTS programmes: RHEL ELS, Ubuntu ESM/Pro, Debian LTS, AKS extension). Dates are ISO
 * (YYYY-MM-DD), the last day covered; null when there is none or it is not announced. Checked
 * on 2026-11-24 against the sources given with each row (endoflife.date's product pages at
 * commit a70eca33, the vendors' documentation and statements, the distributions' own pages).
 */
export type { LifecycleFacts } from '../distros/registry.js';

/** Every known release's facts: each distribution's descriptor (src/distros/<id>/index.ts) holds its own. */
export const lifecycleCatalog: readonly LifecycleFacts[] = lifecycleFacts;

export type LifecycleState = 'preview' | 'supported' | 'security-only' | 'extended-only' | 'end-of-life' | 'unknown';

export interface LifecycleStatus {
  release: string;
  state: LifecycleState;
  facts: LifecycleFacts | null;
  /** Days until the end of security support (negative: since), or null. */
  daysLeft: number | null;
}

/**
 * Where a release stands on a day.
 * @example lifecycleStatus('mariner:2.0', new Date('2026-01-01')).state // 'end-of-life'
 */
export function lifecycleStatus(release: string, now: Date, catalog: readonly LifecycleFacts[] = lifecycleCatalog): LifecycleStatus {
  const facts = catalog.find((f) => f.release === release) ?? null;
  if (facts === null) return { release, state: 'unknown', facts, daysLeft: null };
  const day = now.toISOString().slice(0, 10);
  const after = (d: string | null): boolean => d !== null && day > d;
  const daysLeft =
    facts.endOfSecuritySupport === null ? null : Math.round((Date.parse(`${facts.endOfSecuritySupport}T23:59:59Z`) - now.getTime()) / 86_400_000);
  let state: LifecycleState;
  if (facts.preview === true || (facts.ga !== null && day < facts.ga)) state = 'preview';
  else if (after(facts.endOfSecuritySupport))
    state = after(facts.endOfExtendedSupport) || facts.endOfExtendedSupport === null ? 'end-of-life' : 'extended-only';
  else if (after(facts.endOfStandardSupport)) state = 'security-only';
  else state = 'supported';
  return { release, state, facts, daysLeft };
}
