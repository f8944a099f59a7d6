import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** True when the real command answers `--version` (tests that need it skip otherwise). */
export function hasTool(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface DummyRpm {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch?: string;
}

/**
 * Builds empty rpms with exact NEVRAs with the real rpmbuild (../shared/testbed recipe 1) into
 * `dir`/rpms and returns the file paths.
 */
export function buildDummyRpms(dir: string, pkgs: readonly DummyRpm[]): string[] {
  const specs = join(dir, 'specs');
  mkdirSync(specs, { recursive: true });
  for (const p of pkgs) {
    const spec = [
      `Name: ${p.name}`,
      `Version: ${p.version}`,
      `Release: ${p.release}`,
      ...(p.epoch !== undefined ? [`Epoch: ${String(p.epoch)}`] : []),
      'Summary: dummy',
      'License: MIT',
      ...(p.arch === undefined || p.arch === 'noarch' ? ['BuildArch: noarch'] : []),
      '%description',
      'dummy',
      '%files',
      '',
    ].join('\n');
    const file = join(specs, `${p.name}-${p.version}-${p.release}.spec`);
    writeFileSync(file, spec);
    const target = p.arch !== undefined && p.arch !== 'noarch' ? ['--target', p.arch] : [];
    execFileSync('rpmbuild', ['-bb', ...target, '--define', `_topdir ${join(dir, 'build')}`, '--define', `_rpmdir ${join(dir, 'rpms')}`, '--quiet', file], { stdio: 'pipe' });
  }
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.rpm')) out.push(join(d, e.name));
    }
  };
  walk(join(dir, 'rpms'));
  return out.sort();
}
