import type { StreamedFinding } from '../storage/index.js';

/**
 * The pieces of the streamed findings order (services/report-stream.ts): a row's place in the
 * base order (severity, first seen, host name, package, pk) and in a risk order (its group, then
 * the base order).
 */

/** A row as it waits in the sorter: the stored finding, its host name's place and its group's in the order. */
export type Pending = StreamedFinding & { nameRank: number; riskRank: number };

/** A target as the rows name it, with its name's rank in the order. */
export interface Target {
  name: string;
  release: string | null;
  rank: number;
}

/** A value per (advisory pk, severity): risks and risk ranks, without a string key built per row. */
export class PerSeverity<V> {
  private readonly m = new Map<number, Map<string, V>>();
  get(pk: number, severity: string): V | undefined {
    return this.m.get(pk)?.get(severity);
  }
  set(pk: number, severity: string, v: V): void {
    let s = this.m.get(pk);
    if (s === undefined) this.m.set(pk, (s = new Map<string, V>()));
    s.set(severity, v);
  }
}

export const collator = new Intl.Collator();

export function compareBase(a: Pending, b: Pending): number {
  return (
    b.severityRank - a.severityRank ||
    (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0) ||
    a.nameRank - b.nameRank ||
    (a.package === b.package ? 0 : collator.compare(a.package, b.package)) ||
    a.pk - b.pk
  );
}

export function compareRisk(a: Pending, b: Pending): number {
  return a.riskRank - b.riskRank || compareBase(a, b);
}
