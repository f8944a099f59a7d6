import { describe, expect, it } from 'vitest';
import { editDistance } from '../core/edit-distance.js';
import { assignRings } from './rings.js';
import type { Policy } from './schema.js';

type Rings = Policy['rollout']['rings'];
const host = (name: string, ...tags: string[]) => ({ name, tags });
const names = (m: Map<{ name: string }, number>, ring: number) =>
  [...m]
    .filter(([, r]) => r === ring)
    .map(([h]) => h.name)
    .sort();

describe('rings', () => {
  it('named hosts and tags first (the first ring that names one wins), then percentages, the last ring taking the rest', () => {
    const rings: Rings = [
      { name: 'canary', hosts: ['web-01'], tags: ['canary'] },
      { name: 'db', tags: ['db', 'canary'] },
      { name: 'half', percent: 50 },
      { name: 'none' },
    ];
    const hosts = [host('web-01'), host('c1', 'canary'), host('d1', 'db'), ...Array.from({ length: 200 }, (_, i) => host(`n-${String(i)}`))];
    const m = assignRings(rings, hosts, (h) => h);
    expect(names(m, 0)).toEqual(['c1', 'web-01']);
    expect(names(m, 1)).toEqual(['d1']);
    expect(names(m, 2).length).toBeGreaterThan(80);
    expect(names(m, 2).length + names(m, 3).length).toBe(200);
  });

  it("a host's percent ring depends on its name alone", () => {
    const rings: Rings = [
      { name: 'a', percent: 10 },
      { name: 'b', percent: 30 },
      { name: 'c', percent: 100 },
    ];
    const fleet = Array.from({ length: 300 }, (_, i) => host(`h-${String(i)}`));
    const whole = new Map([...assignRings(rings, fleet, (h) => h)].map(([h, r]) => [h.name, r]));
    const part = assignRings(
      rings,
      fleet.filter((_, i) => i % 3 === 0),
      (h) => h,
    );
    for (const [h, r] of part) expect([h.name, r]).toEqual([h.name, whole.get(h.name)]);
  });

  it('an early percent ring left empty by chance takes the first host, by hash, of the rings after it', () => {
    const rings: Rings = [
      { name: 'canary', percent: 1 },
      { name: 'early', percent: 1 },
      { name: 'rest', percent: 100 },
    ];
    const m = assignRings(rings, [host('x'), host('y'), host('z')], (h) => h);
    expect([names(m, 0).length, names(m, 1).length, names(m, 2).length]).toEqual([1, 1, 1]);
  });

  it.each([
    ['web-1', 'web-01', 9, 1],
    ['kitten', 'sitting', 9, 3],
    ['abc', 'abc', 9, 0],
    ['kitten', 'sitting', 2, 2],
    ['a', 'abcdef', 3, 3],
  ])('edit distance %s → %s (cap %d): %d', (a, b, cap, d) => {
    expect(editDistance(a, b, cap)).toBe(d);
  });
});
