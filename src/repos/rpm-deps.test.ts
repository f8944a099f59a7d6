import { describe, expect, it } from 'vitest';
import type { PrimaryDep } from './rpmmd.js';
import { resolveAdditions, satisfies, type DepPackage } from './rpm-deps.js';

const dep = (name: string, flags: PrimaryDep['flags'] = null, evr = ''): PrimaryDep => {
  const m = /^(?:(\d+):)?([^-]+)(?:-(.+))?$/.exec(evr);
  return { name, flags, epoch: m?.[1] ?? null, version: flags === null ? null : (m?.[2] ?? null), release: m?.[3] ?? null };
};
const pkg = (name: string, evr: string, requires: PrimaryDep[] = [], extra: PrimaryDep[] = []): DepPackage => {
  const [e = '0', vr = ''] = evr.split(':');
  const [version = '', release = ''] = vr.split('-');
  return { name, epoch: Number(e), version, release, arch: 'noarch', requires, provides: [dep(name, 'EQ', evr), ...extra] };
};

describe('rpm dependency ranges (rpmdsCompare)', () => {
  it('matches versions, releases only when both sides give one, a missing epoch as 0', () => {
    expect(satisfies(dep('a', 'EQ', '1:2.0-3'), dep('a', 'GE', '1:2.0-3'))).toBe(true);
    expect(satisfies(dep('a', 'EQ', '1:2.0-3'), dep('a', 'GE', '2.0'))).toBe(true);
    expect(satisfies(dep('a', 'EQ', '0:2.0-3'), dep('a', 'GT', '2.0'))).toBe(false);
    expect(satisfies(dep('a', 'EQ', '0:2.0-3'), dep('a', 'LT', '2.0-4'))).toBe(true);
    expect(satisfies(dep('a', 'EQ', '0:2.0-3'), dep('a', 'EQ', '2.0'))).toBe(true);
    expect(satisfies(dep('a'), dep('a', 'GE', '9'))).toBe(true);
    expect(satisfies(dep('b', 'EQ', '1'), dep('a'))).toBe(false);
  });

  it('prefers what is there, else the newest provider, and follows its requirements', () => {
    const libs1 = pkg('libs', '0:1.0-1');
    const libs2 = pkg('libs', '0:2.0-1', [dep('/bin/sh')]);
    const libs3 = pkg('libs', '0:3.0-1', [dep('/bin/sh')]);
    const sh = pkg('bash', '0:5.2-1', [], [dep('/bin/sh')]);
    const app = pkg('app', '0:2.0-1', [dep('libs', 'GE', '2.0')]);
    const got = resolveAdditions([app], [libs1], [libs1, libs2, libs3, sh, app]);
    expect(got.map((x) => `${x.package.name}-${x.package.version}`)).toEqual(['app-2.0', 'libs-3.0', 'bash-5.2']);
    // Already satisfied: nothing pulled.
    expect(resolveAdditions([app], [libs2, sh], [libs1, libs2, libs3, sh, app]).map((x) => x.package.name)).toEqual(['app']);
    expect(() => resolveAdditions([pkg('x', '0:1-1', [dep('nothing', 'GE', '1')])], [], [])).toThrow(/requires "nothing >= 1"/);
    // A package kept that needs exactly the old libs: the update would break it.
    const tool = pkg('tool', '0:1.0-1', [dep('libs', 'EQ', '1.0')]);
    expect(() => resolveAdditions([app], [libs1, tool, sh], [libs1, libs2, libs3, sh, app, tool])).toThrow(
      /tool-0:1.0-1.noarch requires "libs = 1.0", which the added builds take away \(libs-0:3.0-1.noarch\)/,
    );
  });
});
