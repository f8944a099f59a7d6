import { BulwarkError } from '../../core/errors.js';
import { parseRpmFileName } from '../../core/package/nevra.js';
import type { InstalledPackage } from '../../core/target.js';

/**
 * An Azure Linux manifest list: one binary rpm file name per line
 * (`name-version-release.arch.rpm`). Every line must be one.
 * @example parseManifest('bash-5.2.15-3.azl3.x86_64.rpm\n', 'pkgs.txt')
 */
export function parseManifest(text: string, file: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (why: string): BulwarkError => new BulwarkError('input.invalid', `${file}:${String(i + 1)}: ${why}`, { file, line: i + 1 });
    // Every line of a manifest is a package (issue #13): skipping `garbage line here` or a bare
    // name would scan less than the file lists and say nothing.
    if (!line.endsWith('.rpm')) throw fail(`"${line.length > 120 ? `${line.slice(0, 120)}…` : line}" is not an rpm file name (name-version-release.arch.rpm)`);
    try {
      const p = parseRpmFileName(line);
      // A source rpm is not installed anywhere: taken as a binary it became an installed
      // package named like its source (arch "src"), found the source's advisories on a package
      // that may not exist, and hid which binaries it builds.
      if (p.arch === 'src' || p.arch === 'nosrc') throw new Error(`"${line}" is a source rpm, not an installed package; list the binary rpms it builds`);
      // File names never show the epoch (data notes 2.1) nor the source package.
      out.push({ family: 'rpm', name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, sourceName: null, sourceVersion: null });
    } catch (err) {
      throw fail((err as Error).message);
    }
  });
  return out;
}
