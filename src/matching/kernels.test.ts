import { describe, expect, it } from 'vitest';
import type { InstalledPackage } from '../core/target.js';
import { packagesToJudge } from './kernels.js';

const k = (name: string, version: string, release: string): InstalledPackage => ({
  family: 'rpm',
  name,
  epoch: null,
  version,
  release,
  arch: 'x86_64',
  sourceName: 'kernel',
  sourceVersion: null,
});

describe('installonly kernels', () => {
  const pkgs = [k('kernel', '6.6.64.2', '1.azl3'), k('kernel', '6.6.70.1', '1.azl3'), k('kernel-headers', '6.6.70.1', '1.azl3'), k('bash', '5.2.15', '3.azl3')];
  it('judges only the running build of each kernel package', () => {
    expect(packagesToJudge(pkgs, '6.6.64.2-1.azl3').map((p) => `${p.name}-${p.version}`)).toEqual([
      'kernel-6.6.64.2',
      'kernel-headers-6.6.70.1',
      'bash-5.2.15',
    ]);
    expect(packagesToJudge(pkgs, '6.11.4-301.fc41.x86_64')).toHaveLength(4);
    expect(packagesToJudge(pkgs, null)).toHaveLength(4);
    expect(packagesToJudge([k('kernel', '6.11.4', '301.fc41'), k('kernel', '6.10.1', '200.fc41')], '6.11.4-301.fc41.x86_64').map((p) => p.version)).toEqual([
      '6.11.4',
    ]);
  });
});
