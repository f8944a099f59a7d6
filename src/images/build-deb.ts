import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BulwarkError } from '../core/errors.js';
import { DPKG_QUERY_FORMAT } from '../core/package/deb.js';
import { parseInventory } from '../inventory/imports.js';
import type { RootBuild, RootBuildInput } from './build.js';

const run = promisify(execFile);

/**
 * The customize hook for a Debian image's `remove:`: apt purges the names (one per line in
 * BULWARK_IMAGE_REMOVE, validated package names, split on newlines only and never globbed) and
 * whatever depends on them, in the root ($1) through dpkg --root — the options mmdebstrap itself
 * gives apt in chrootless mode, which its hooks' APT_CONFIG does not carry. A name that is not
 * installed in the image fails the build, as a typo should (dpkg-query reads its status first:
 * apt-get purge only notes a package it knows that is not installed).
 */
const DEB_REMOVE_HOOK = `#!/bin/sh
set -eu
set -f
IFS='
'
# apt-get purge only notes a name that is known but not installed: the build stops instead.
missing=
for p in $BULWARK_IMAGE_REMOVE; do
  s=$(dpkg-query "--admindir=$1/var/lib/dpkg" -W -f='\${db:Status-Status}' -- "$p" 2>/dev/null) || s=
  if [ "$s" != installed ]; then missing="$missing $p"; fi
done
if [ -n "$missing" ]; then echo "remove:$missing not in the image" >&2; exit 1; fi
APT_CONFIG=$MMDEBSTRAP_APT_CONFIG
export APT_CONFIG
# shellcheck disable=SC2086
exec apt-get --yes --quiet \\
  -oDPkg::Options::=--force-not-root -oDPkg::Options::=--force-script-chrootless \\
  "-oDPkg::Options::=--root=$1" "-oDPkg::Options::=--log=$1/var/log/dpkg.log" \\
  purge $BULWARK_IMAGE_REMOVE
`;

/** Every name a package of the view's suite has or provides, from its Packages indexes. */
async function viewDebNames(repoDir: string, suite: string): Promise<Set<string>> {
  const names = new Set<string>();
  const dists = join(repoDir, 'dists', suite);
  for (const component of await readdir(dists, { withFileTypes: true })) {
    if (!component.isDirectory()) continue;
    for (const bin of await readdir(join(dists, component.name))) {
      const file = join(dists, component.name, bin, 'Packages');
      if (!bin.startsWith('binary-') || !existsSync(file)) continue;
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/^Package:[ \t]*(\S+)/gm)) names.add(m[1] ?? '');
      for (const m of text.matchAll(/^Provides:[ \t]*(.+)$/gm)) for (const p of (m[1] ?? '').split(',')) names.add(p.trim().split(/[\s(]/)[0] ?? '');
    }
  }
  return names;
}

/**
 * A Debian or Ubuntu root from a published apt view, with the real mmdebstrap in chrootless mode:
 * the packages asked for and what they depend on, unpacked and configured by this machine's
 * dpkg with --root, nothing else (the `custom` variant: no Essential set unless asked for).
 * The view's repository is read with copy:// (a local directory Bulwark published and whose
 * upstream files it verified, hence trusted=yes).
 */
export async function buildDebRoot(i: RootBuildInput): Promise<RootBuild> {
  if (i.packages.length === 0) throw new BulwarkError('usage', 'an image needs at least one package');
  const suites = existsSync(join(i.repoDir, 'dists')) ? await readdir(join(i.repoDir, 'dists')) : [];
  const suite = suites[0];
  if (suite === undefined || suites.length !== 1) throw new BulwarkError('usage', `${i.repoDir}: not an apt repository with one suite`);
  const release = await readFile(join(i.repoDir, 'dists', suite, 'Release'), 'utf8');
  const components = (/^Components:\s*(.+)$/m.exec(release)?.[1] ?? 'main').trim();
  // apt takes a name literally only when it has a package (or a provider) of that name; any other
  // it reads as a pattern (bw.perl is a regular expression) or with a last "+"/"-" as install/remove.
  const known = await viewDebNames(i.repoDir, suite);
  const unknown = [...new Set([...i.packages, ...i.remove])].filter((n) => !known.has(n.replace(/:[A-Za-z0-9-]+$/, '')));
  if (unknown.length > 0)
    throw new BulwarkError(
      'input.invalid',
      `${unknown.map((n) => `"${n}"`).join(', ')} not in the view (no package has or provides that name; apt would read it as a pattern, and a last "+" or "-" as install or remove)`,
    );
  const root = join(i.work, 'rootfs');
  const hook = join(i.work, 'remove-hook.sh');
  if (i.remove.length > 0) {
    await writeFile(hook, DEB_REMOVE_HOOK);
    await chmod(hook, 0o700);
  }
  const argv = [
    '--mode=chrootless',
    '--variant=custom',
    `--include=${i.packages.join(',')}`,
    '--format=directory',
    '--quiet',
    ...(i.docs ? [] : ['--dpkgopt=path-exclude=/usr/share/doc/*', '--dpkgopt=path-exclude=/usr/share/man/*']),
    // An executable path is exec'd by mmdebstrap with the root as $1: no shell string is built.
    ...(i.remove.length > 0 ? [`--customize-hook=${hook}`] : []),
    suite,
    root,
    `deb [trusted=yes] copy://${i.repoDir} ${suite} ${components}`,
  ];
  let log: string;
  try {
    const env = {
      ...process.env,
      BULWARK_IMAGE_REMOVE: i.remove.join('\n'),
      ...(i.sourceDateEpoch !== undefined ? { SOURCE_DATE_EPOCH: String(i.sourceDateEpoch) } : {}),
    };
    const r = await run('mmdebstrap', argv, { maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000, env });
    log = r.stdout + r.stderr;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT')
      throw new BulwarkError('config.invalid', 'mmdebstrap is not installed on this machine; Debian images are built with it', {}, { cause: err });
    throw new BulwarkError(
      'input.invalid',
      `mmdebstrap failed:\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n')}`,
      {},
      { cause: err },
    );
  }
  // The build's own source (copy://…) means nothing on a host: the image's apt starts without one.
  await writeFile(join(root, 'etc', 'apt', 'sources.list'), '# the sources this host uses: bulwark view repo-file VIEW --env ENV --url URL\n');
  const { stdout } = await run(
    'dpkg-query',
    [`--admindir=${join(root, 'var', 'lib', 'dpkg')}`, '-W', '-f', DPKG_QUERY_FORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const packages = parseInventory(stdout, `dpkg-query --admindir ${root}`, 'dpkg-query').packages.map((p) => ({ ...p, license: null, sourceRpm: null }));
  return { root, packages, log };
}
