import { BulwarkError } from '../core/errors.js';
import { parseSourceRpm } from '../core/package/nevra.js';
import type { InstalledPackage } from '../core/target.js';

/**
 * The `rpm -qa --queryformat` Bulwark asks hosts for, and accepts as an import: one package per
 * line, six tab-separated fields (DESIGN.md conventions: fixed formats parsed by field count).
 * `%{EPOCHNUM}` prints 0 for "no epoch", which rpm compares equal to a missing epoch; `%{EPOCH}`
 * (which prints `(none)`) is accepted too.
 */
export const RPM_QA_QUERYFORMAT = '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n';

/** The argv that produces it (never a shell string). */
export const RPM_QA_ARGV: readonly string[] = ['rpm', '-qa', '--queryformat', RPM_QA_QUERYFORMAT.replaceAll('\\t', '\t').replaceAll('\\n', '\n')];

const MAX_FIELD = 4096;

/**
 * SOURCERPM → source name, remembered across calls (issue #14): a fleet's hosts repeat the same
 * few thousand source rpms, and parsing each again was a tenth of a bulk import. Only valid
 * names are kept (a bad one throws before it is stored); bounded, forgotten wholesale when full.
 */
const SOURCE_NAMES = new Map<string, string | null>();
const MAX_REMEMBERED = 50_000;

/**
 * Parses `rpm -qa` output in RPM_QA_QUERYFORMAT. Blank lines and lines starting with `#` are
 * skipped (for hand-written imports). Any other malformed line is an error that names the
 * file and line: half an inventory would silently hide vulnerable packages.
 *
 * @example parseRpmQa('bash\t0\t5.2.15\t3.azl3\tx86_64\tbash-5.2.15-3.azl3.src.rpm\n')
 */
export function parseRpmQa(text: string, file = '<input>'): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fail = (why: string): BulwarkError => new BulwarkError('input.invalid', `${file}:${String(i + 1)}: ${why}`, { file, line: i + 1 });
    const f = line.split('\t');
    if (f.length !== 6) throw fail(`expected 6 tab-separated fields (${RPM_QA_QUERYFORMAT}), got ${String(f.length)}`);
    const [name, epochText, version, release, arch, sourceRpm] = f as [string, string, string, string, string, string];
    for (const [what, v] of [
      ['name', name],
      ['version', version],
      ['release', release],
      ['arch', arch],
    ] as const) {
      if (v === '') throw fail(`empty ${what}`);
      if (v.length > MAX_FIELD || /[\s\0]/.test(v)) throw fail(`${what} is too long or contains whitespace`);
    }
    let epoch: number | null;
    if (epochText === '(none)' || epochText === '') epoch = null;
    else if (/^[0-9]{1,10}$/.test(epochText) && Number(epochText) <= 0xffff_ffff) epoch = Number(epochText);
    else throw fail(`epoch "${epochText}" is not a number`);
    let sourceName = SOURCE_NAMES.get(sourceRpm);
    if (sourceName === undefined) {
      try {
        sourceName = parseSourceRpm(sourceRpm)?.name ?? null;
      } catch (err) {
        throw fail(`SOURCERPM: ${(err as Error).message}`);
      }
      if (SOURCE_NAMES.size >= MAX_REMEMBERED) SOURCE_NAMES.clear();
      SOURCE_NAMES.set(sourceRpm, sourceName);
    }
    out.push({ family: 'rpm', name, epoch, version, release, arch, sourceName, sourceVersion: null });
  }
  return out;
}
