import { BulwarkError } from '../../core/errors.js';
import { parseDpkgQueryLine } from '../../core/package/deb.js';
import type { InstalledPackage } from '../../core/target.js';

/** `${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n` */
export const DPKG_QUERY_FORMAT = '${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\n';

/**
 * `dpkg-query -W` output in DPKG_QUERY_FORMAT: 5 fields, or 6 with the status (`${db:Status-Abbrev}`);
 * removed packages (`rc`) are left out. A malformed line refuses the file, naming the line.
 * @example parseDpkg('libc6\t2.36-9\tamd64\tglibc\t2.36-9\n', 'h.tsv')
 */
export function parseDpkg(text: string, file: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const fields = line.split('\t');
    try {
      const r = parseDpkgQueryLine(fields.length === 5 ? `${line}\tii ` : line);
      if (!r.installed) return; // "rc": removed, configuration files only
      out.push({
        family: 'deb',
        name: r.name,
        epoch: null,
        version: r.version,
        release: null,
        arch: r.arch,
        sourceName: r.sourceName,
        sourceVersion: r.sourceVersion,
      });
    } catch (err) {
      throw new BulwarkError('input.invalid', `${file}:${String(i + 1)}: ${(err as Error).message}`, { file, line: i + 1 });
    }
  });
  return out;
}
