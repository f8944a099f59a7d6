import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
  /**
   * buildRpmRoot only: the source package it is built from (its %{SOURCERPM} is
   * `<source>-…-….src.rpm`); default a shared `bulwark-test-root`.
   */
  source?: string;
  /** buildDummyRpms only: files the package installs, absolute path in the package → a file here whose bytes it carries. */
  files?: Readonly<Record<string, string>>;
  /** buildDummyRpms only: Provides: lines, e.g. `livepatch = 6.6.57.1-6.azl3`. */
  provides?: string[];
  /** buildDummyRpms only: its %description (default "dummy"). */
  description?: string;
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
      ...(p.provides ?? []).map((r) => `Provides: ${r}`),
      ...(p.arch === undefined || p.arch === 'noarch' ? ['BuildArch: noarch'] : []),
      // Files are copied as they are: no stripping, no debug package, no build-id links.
      ...(p.files !== undefined ? ['AutoReqProv: no', '%global debug_package %{nil}', '%global __os_install_post %{nil}', '%define _build_id_links none'] : []),
      '%description',
      p.description ?? 'dummy',
      ...(p.files !== undefined
        ? ['%install', ...Object.entries(p.files).flatMap(([to, from]) => [`mkdir -p %{buildroot}${dirname(to)}`, `cp ${from} %{buildroot}${to}`])]
        : []),
      '%files',
      ...Object.keys(p.files ?? {}),
      '',
    ].join('\n');
    const file = join(specs, `${p.name}-${p.version}-${p.release}.spec`);
    writeFileSync(file, spec);
    const target = p.arch !== undefined && p.arch !== 'noarch' ? ['--target', p.arch] : [];
    execFileSync('rpmbuild', ['-bb', ...target, '--define', `_topdir ${join(dir, 'build')}`, '--define', `_rpmdir ${join(dir, 'rpms')}`, '--quiet', file], {
      stdio: 'pipe',
    });
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
 * An rpm database under `root` (rpm --root … --initdb) holding exactly `pkgs` (no files), built
 * fast: one spec per round whose subpackages carry their own Epoch/Version/Release (rpm allows
 * those tags per %package), installed with `--justdb`. Several versions of one name (installonly
 * kernels) go into separate rounds, and so do packages of different `source`s (a round's main
 * package name is their %{SOURCERPM}) and of different machine arches (a round is built for one
 * `--target`; its noarch subpackages say `BuildArch: noarch`; a package named like its source is
 * the main package of a round of its own). Packages without an arch are noarch.
 * Returns the root.
 */
export function buildRpmRoot(dir: string, root: string, pkgs: readonly DummyRpm[], opts: { ownSource?: boolean } = {}): string {
  mkdirSync(root, { recursive: true });
  execFileSync('rpm', ['--root', root, '--initdb']);
  const machine = (p: DummyRpm): string | undefined => (p.arch === undefined || p.arch === 'noarch' ? undefined : p.arch);
  const rounds: DummyRpm[][] = [];
  for (const p of pkgs) {
    let r =
      opts.ownSource === true
        ? undefined
        : // The package named like its source is that spec's main package, alone in its round.
          p.name === p.source
          ? undefined
          : rounds.find(
              (x) =>
                !x.some((q) => q.name === p.name || q.name === q.source) &&
                x[0]?.source === p.source &&
                (machine(p) === undefined || x.every((q) => machine(q) === undefined || machine(q) === machine(p))),
            );
    if (r === undefined) rounds.push((r = []));
    r.push(p);
  }
  rounds.forEach((round, i) => {
    const specDir = join(dir, `round${String(i)}`);
    mkdirSync(specDir, { recursive: true });
    const own = opts.ownSource === true ? round[0] : undefined;
    if (own !== undefined) {
      // One package, its own source rpm: %{SOURCERPM} is <name>-<version>-<release>.src.rpm.
      const lines = [
        `Name: ${own.name}`,
        `Version: ${own.version}`,
        `Release: ${own.release}`,
        ...(own.epoch !== undefined ? [`Epoch: ${String(own.epoch)}`] : []),
        'Summary: dummy',
        'License: MIT',
        'BuildArch: noarch',
        '%description',
        'dummy',
        '%files',
      ];
      const spec = join(specDir, 'own.spec');
      writeFileSync(spec, lines.join('\n') + '\n');
      execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${join(specDir, 'build')}`, '--define', `_rpmdir ${join(specDir, 'rpms')}`, '--quiet', spec], {
        stdio: 'pipe',
      });
      const rpms = readdirSync(join(specDir, 'rpms', 'noarch')).map((f) => join(specDir, 'rpms', 'noarch', f));
      execFileSync(
        'rpm',
        ['--root', root, '-i', '--justdb', '--nodeps', '--noscripts', '--notriggers', '--nosignature', '--nodigest', '--oldpackage', ...rpms],
        { stdio: 'pipe' },
      );
      return;
    }
    const target = round.map(machine).find((a) => a !== undefined);
    const main = round[0]?.name === round[0]?.source ? round[0] : undefined;
    const lines = [
      `Name: ${round[0]?.source ?? 'bulwark-test-root'}`,
      ...(main === undefined
        ? ['Version: 1', 'Release: 1']
        : [`Version: ${main.version}`, `Release: ${main.release}`, ...(main.epoch !== undefined ? [`Epoch: ${String(main.epoch)}`] : [])]),
      'Summary: dummy',
      'License: MIT',
      ...(target === undefined ? ['BuildArch: noarch'] : []),
      '%description',
      'dummy',
      ...(main === undefined ? [] : ['%files']),
    ];
    for (const p of round) {
      if (p === main) continue;
      lines.push(
        `%package -n ${p.name}`,
        `Version: ${p.version}`,
        `Release: ${p.release}`,
        ...(p.epoch !== undefined ? [`Epoch: ${String(p.epoch)}`] : []),
        ...(target !== undefined && machine(p) === undefined ? ['BuildArch: noarch'] : []),
        'Summary: dummy',
        `%description -n ${p.name}`,
        'dummy',
      );
    }
    for (const p of round) if (p !== main) lines.push(`%files -n ${p.name}`);
    const spec = join(specDir, 'root.spec');
    writeFileSync(spec, lines.join('\n') + '\n');
    execFileSync(
      'rpmbuild',
      [
        '-bb',
        ...(target === undefined ? [] : ['--target', target]),
        '--define',
        `_topdir ${join(specDir, 'build')}`,
        '--define',
        `_rpmdir ${join(specDir, 'rpms')}`,
        '--quiet',
        spec,
      ],
      { stdio: 'pipe' },
    );
    const rpms: string[] = [];
    for (const a of readdirSync(join(specDir, 'rpms'))) for (const f of readdirSync(join(specDir, 'rpms', a))) rpms.push(join(specDir, 'rpms', a, f));
    // --oldpackage: a second, older version of a name is installed beside the first (installonly style);
    // --ignorearch: an x86_64 package goes into the database whatever this machine's rpm calls its arch.
    execFileSync(
      'rpm',
      [
        '--root',
        root,
        '-i',
        '--justdb',
        '--nodeps',
        '--noscripts',
        '--notriggers',
        '--nosignature',
        '--nodigest',
        '--oldpackage',
        ...(target === undefined ? [] : ['--ignorearch']),
        ...rpms,
      ],
      { stdio: 'pipe' },
    );
  });
  return root;
}
