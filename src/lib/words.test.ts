import { describe, expect, it } from 'vitest';
import { closestName, didYouMean, plural } from './words.js';

describe('plural', () => {
  it.each([
    [0, 'finding', undefined, '0 findings'],
    [1, 'finding', undefined, '1 finding'],
    [2, 'target', undefined, '2 targets'],
    [1, 'advisory', 'advisories', '1 advisory'],
    [3, 'advisory', 'advisories', '3 advisories'],
  ])('%i %s', (n, one, many, want) => {
    expect(plural(n, one, many)).toBe(want);
  });
});

describe('closestName', () => {
  it.each([
    ['web-1', ['web-01', 'db-01'], 'web-01'],
    ['azurelinux-3.0-oaval', ['azurelinux-3.0-oval', 'mariner-2.0-oval'], 'azurelinux-3.0-oval'],
    ['WEB-01', ['web-01'], 'web-01'],
    ['nope', ['azurelinux-3.0-oval', 'rocky-osv'], null],
    ['x', ['y'], null],
    ['ab', ['ac'], 'ac'],
  ] as const)('%s among %j → %s', (name, known, want) => {
    expect(closestName(name, known)).toBe(want);
  });

  it('phrases a suggestion, or nothing', () => {
    expect(didYouMean('web-1', ['web-01'])).toBe(' (did you mean "web-01"?)');
    expect(didYouMean('zzz', ['web-01'])).toBe('');
  });
});
