/**
 * Small helpers for what the CLI and reports print about things counted or named.
 */
import { editDistance } from '../core/edit-distance.js';

/**
 * A count with its noun, singular for one: `plural(1, 'finding')` → "1 finding".
 * @example plural(2, 'finding') // '2 findings'; plural(1, 'advisory', 'advisories') // '1 advisory'
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${String(n)} ${n === 1 ? one : many}`;
}

/**
 * The known name closest to a mistyped one (a typo of up to a third of its length, at most
 * three edits, and never every letter; case ignored), or null when none is that close.
 * @example closestName('web-1', ['web-01', 'db-01']) // 'web-01'
 */
export function closestName(name: string, known: Iterable<string>): string | null {
  const want = name.toLowerCase();
  let best: string | null = null;
  let cap = Math.min(3, Math.max(1, Math.floor(want.length / 3))) + 1;
  for (const k of known) {
    const d = editDistance(want, k.toLowerCase(), cap);
    // Never a name that shares nothing with it ("x" is not a typo of "y").
    if (d < cap && d < want.length) [cap, best] = [d, k];
  }
  return best;
}

/** ` (did you mean "web-01"?)` or nothing, for an error about an unknown name. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const s = closestName(name, known);
  return s === null ? '' : ` (did you mean "${s}"?)`;
}
