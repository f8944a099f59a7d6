import type { InstalledPackage } from '../core/target.js';
import { parseRpmQa } from '../inventory/rpm-qa.js';
import { nameBucket, packageKey } from '../storage/index.js';

/**
 * A package line of an agent report as the difference reads it (agent-report-delta.ts): its build
 * (its source name marked given, as resolveSourceNames marks it; the key is the same), its digest
 * bucket, its packageKey and what makes it the same installed package as another (identity).
 */
export interface Line {
  p: InstalledPackage;
  bucket: number;
  key: string;
  id: string;
  /** The line's text, a copy of its own (not a slice of the report it came in). */
  text: string;
}

/** What makes two builds the same installed package (the key parseInventory's onceEach merges on). */
export const identity = (p: InstalledPackage): string => `${p.name}\u0000${String(p.epoch ?? '')}\u0000${p.version}\u0000${p.release ?? ''}\u0000${p.arch}`;

/**
 * Lines read before, by their text (issue #14): a fleet's hosts repeat the same few thousand
 * package lines, and a host the server does not remember has every line read again
 * (agent-report-store.ts). Bounded; the oldest forgotten first. The texts kept are copies: the
 * slices split returns keep the whole report they came from alive.
 */
const LINES = new Map<string, Line>();
export const MAX_LINES_KEPT = 50_000;

/**
 * One line as parseRpmQa reads it alone: null for a line that is no package (a blank one),
 * undefined when the difference cannot take it (an error, which the whole report then names
 * with its line; a source name not given, which is resolved; a name without a digest bucket; a
 * key holding a NUL, which has no digest).
 */
export function parseLine(line: string): Line | null | undefined {
  const known = LINES.get(line);
  if (known !== undefined) return known;
  let ps: InstalledPackage[];
  try {
    ps = parseRpmQa(line);
  } catch {
    return undefined;
  }
  const p = ps[0];
  if (p === undefined) return null;
  const bucket = nameBucket(p.name);
  if (ps.length > 1 || p.sourceName === null || bucket === null) return undefined;
  const given: InstalledPackage = { ...p, sourceOrigin: 'given' };
  const key = packageKey(given);
  if (key.includes('\u0000')) return undefined;
  const made = { p: given, bucket, key, id: identity(given), text: copyOf(line) };
  // Only a package parseRpmQa keeps (frozen: its fields are copies, not slices of the report).
  if (Object.isFrozen(p)) {
    if (LINES.size >= MAX_LINES_KEPT) for (const k of LINES.keys()) if (LINES.size >= MAX_LINES_KEPT * 0.9) LINES.delete(k);
    LINES.set(made.text, made);
  }
  return made;
}

const copyOf = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/**
 * The lines a remembered report keeps beside what each parsed to (agent-report-delta.ts): the
 * texts of those that are no package (a blank one), as copies, by index; a package line's text
 * is its Line's (one copy, shared by every host that holds the build). A slice of the report
 * keeps the whole report alive: remembered, every report outlived the young generation and was
 * collected again with the old one, a third of the server's CPU per report in collector threads
 * (issue #14).
 */
export function otherLines(lines: readonly string[], entries: readonly (Line | null | undefined)[]): Map<number, string> {
  const others = new Map<number, string>();
  for (let i = 0; i < lines.length; i++) if (entries[i] === null || entries[i] === undefined) others.set(i, copyOf(lines[i] as string));
  return others;
}
