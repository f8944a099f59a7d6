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
  /** Its Summary (default "dummy"): two builds of one NEVRA with different summaries are different files. */
  summary?: string;
  /** Requires: lines, e.g. `bw-libs >= 2.0`. */
  requires?: string[];
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
      `Summary: ${p.summary ?? 'dummy'}`,
      'License: MIT',
      ...(p.requires ?? []).map((r) => `Requires: ${r}`),
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

/**
 * An rpm database under `root` (rpm --root … --initdb) holding exactly `pkgs` (noarch, no
 * files), built fast: one spec per round whose subpackages carry their own Epoch/Version/
 * Release (rpm allows those tags per %package), installed with `--justdb`. Several versions of
 * one name (installonly kernels) go into separate rounds. Returns the root.
 */
export function buildRpmRoot(dir: string, root: string, pkgs: readonly DummyRpm[], opts: { ownSource?: boolean } = {}): string {
  mkdirSync(root, { recursive: true });
  execFileSync('rpm', ['--root', root, '--initdb']);
  const rounds: DummyRpm[][] = [];
  for (const p of pkgs) {
    let r = opts.ownSource === true ? undefined : rounds.find((x) => !x.some((q) => q.name === p.name));
    if (r === undefined) rounds.push((r = []));
    r.push(p);
  }
  rounds.forEach((round, i) => {
    const specDir = join(dir, `round${String(i)}`);
    mkdirSync(specDir, { recursive: true });
    const own = opts.ownSource === true ? round[0] : undefined;
    if (own !== undefined) {
      // One package, its own source rpm: %{SOURCERPM} is <name>-<version>-<release>.src.rpm.
      const lines = [`Name: ${own.name}`, `Version: ${own.version}`, `Release: ${own.release}`, ...(own.epoch !== undefined ? [`Epoch: ${String(own.epoch)}`] : []), 'Summary: dummy', 'License: MIT', 'BuildArch: noarch', '%description', 'dummy', '%files'];
      const spec = join(specDir, 'own.spec');
      writeFileSync(spec, lines.join('\n') + '\n');
      execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${join(specDir, 'build')}`, '--define', `_rpmdir ${join(specDir, 'rpms')}`, '--quiet', spec], { stdio: 'pipe' });
      const rpms = readdirSync(join(specDir, 'rpms', 'noarch')).map((f) => join(specDir, 'rpms', 'noarch', f));
      execFileSync('rpm', ['--root', root, '-i', '--justdb', '--nodeps', '--noscripts', '--notriggers', '--nosignature', '--nodigest', '--oldpackage', ...rpms], { stdio: 'pipe' });
      return;
    }
    const lines = ['Name: bulwark-test-root', 'Version: 1', 'Release: 1', 'Summary: dummy', 'License: MIT', 'BuildArch: noarch', '%description', 'dummy'];
    for (const p of round) {
      lines.push(`%package -n ${p.name}`, `Version: ${p.version}`, `Release: ${p.release}`, ...(p.epoch !== undefined ? [`Epoch: ${String(p.epoch)}`] : []), 'Summary: dummy', `%description -n ${p.name}`, 'dummy');
    }
    for (const p of round) lines.push(`%files -n ${p.name}`);
    const spec = join(specDir, 'root.spec');
    writeFileSync(spec, lines.join('\n') + '\n');
    execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${join(specDir, 'build')}`, '--define', `_rpmdir ${join(specDir, 'rpms')}`, '--quiet', spec], { stdio: 'pipe' });
    const rpms = readdirSync(join(specDir, 'rpms', 'noarch')).map((f) => join(specDir, 'rpms', 'noarch', f));
    // --oldpackage: a second, older version of a name is installed beside the first (installonly style).
    execFileSync('rpm', ['--root', root, '-i', '--justdb', '--nodeps', '--noscripts', '--notriggers', '--nosignature', '--nodigest', '--oldpackage', ...rpms], { stdio: 'pipe' });
  });
  return root;
}
