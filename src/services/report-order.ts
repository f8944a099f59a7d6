import { severityRank, type Severity } from '../core/advisory.js';
import type { FindingKeys, FindingRow, StreamedFinding } from '../storage/index.js';
import { interner } from './report-vex-parts.js';

/**
 * The base order of streamed findings (services/report-stream.ts) and what it compares: most
 * severe first, then oldest (first seen), then host name and package name as `localeCompare`
 * orders them, then as recorded (pk); a risk order's group first.
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

/** Distinct strings an interner keeps at most (then it starts afresh): a fleet's packages, builds, hosts and scan times. */
const INTERNED = 50_000;

/**
 * The row's text fields made the strings of earlier rows with the same text (its own are then
 * garbage at once): a group of the order waits in memory until it is complete, tens of thousands
 * of rows whose hosts, packages, builds and first-seen times repeat across the fleet, and each
 * string of its own outlives young collections and is copied by them (issue #14: the young
 * collections of a streamed report cost as much as reading its rows). Returns the row.
 * @example const intern = rowInterner(); for (const r of page) sorter.add(intern(r));
 */
export function rowInterner(): <R extends StreamedFinding>(r: R) => R {
  const one = interner(INTERNED);
  const maybe = (s: string | null): string | null => (s === null ? s : one(s));
  return (r) => {
    r.targetId = one(r.targetId);
    r.package = one(r.package);
    r.arch = one(r.arch);
    r.installed = one(r.installed);
    r.fixed = maybe(r.fixed);
    r.severity = one(r.severity);
    r.status = one(r.status);
    r.reason = maybe(r.reason);
    r.firstSeen = one(r.firstSeen);
    r.lastSeen = one(r.lastSeen);
    return r;
  };
}

/** A row's keys alone, with its host name's place: what the base order compares (a Pending is one too). */
export type Keyed = FindingKeys & { nameRank: number };

export function compareBase(a: Keyed, b: Keyed): number {
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

/**
 * The targets by id, each with its name's rank as localeCompare orders them (equal names share a
 * rank); `byteOrdered`: their byte order is that order too (most fleets' names), so that the
 * database may order hosts by name itself (findingKeysFirst) and hand out a window's rows, not a
 * whole group's.
 * @example const { targets, byteOrdered } = rankedTargets(await targetNames(db));
 */
export function rankedTargets(list: { id: string; name: string; release: string | null }[]): { targets: Map<string, Target>; byteOrdered: boolean } {
  const names = [...list].sort((a, b) => collator.compare(a.name, b.name));
  const targets = new Map<string, Target>();
  let rank = 0;
  let byteOrdered = true;
  for (let i = 0; i < names.length; i++) {
    const t = names[i] as { id: string; name: string; release: string | null };
    const prev = names[i - 1];
    if (prev !== undefined && collator.compare(prev.name, t.name) !== 0) rank++;
    if (prev !== undefined && !(prev.name < t.name && collator.compare(prev.name, t.name) < 0)) byteOrdered = false;
    targets.set(t.id, { name: t.name, release: t.release, rank });
  }
  return { targets, byteOrdered };
}

/** Rows handed out together, with each row's group in the risk order (0 is first; all 0 without one). */
export interface RankedBatch {
  rows: FindingRow[];
  ranks: number[];
}

/** Whether a row counts for `--fail-on`: open or without a fix, and as severe as `min` or worse. */
export function overThresholdRow(r: FindingRow, min: Severity): boolean {
  return (r.status === 'open' || r.status === 'no-fix') && severityRank(r.severity) >= severityRank(min);
}
