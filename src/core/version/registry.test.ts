import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPackageFamily, versionScheme, versionSchemes } from './registry.js';

describe('version scheme registry', () => {
  it('lists one scheme per module in this folder, and each names its reference', () => {
    const modules = readdirSync(import.meta.dirname)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'registry.ts')
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(Object.keys(versionSchemes).sort()).toEqual(modules);
    for (const s of Object.values(versionSchemes)) expect(s.reference).toMatch(/\.c /);
  });

  it.each([
    ['rpm', '1:1.0-1', '2.0-1', 1],
    ['deb', '1:1.0-1', '2.0-1', 1],
    ['rpm', '1.0-1.azl3', '1.0-2.azl3', -1],
    ['deb', '1.0~rc1', '1.0', -1],
  ] as const)('%s compares %j and %j', (family, a, b, want) => {
    expect(versionScheme(family).compare(a, b)).toBe(want);
  });

  it('checks input per scheme', () => {
    expect(versionScheme('rpm').check('')).toBe('empty EVR');
    expect(versionScheme('deb').check('1:')).toMatch(/nothing after colon/);
    expect(isPackageFamily('rpm')).toBe(true);
    expect(isPackageFamily('apk')).toBe(false);
  });
});
