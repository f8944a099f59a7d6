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
    const raw = lines[i] ?? '';
    // A line read before is the same package: a fleet's hosts repeat a few thousand lines
    // (issue #14: 6 M lines, 7,300 distinct, in a 10,000-host import).
    const seen = PACKAGES.get(raw);
    if (seen !== undefined) {
      out.push(seen);
      continue;
    }
    // Most lines are well formed: one regular expression reads them (issue #14: an agent report
    // is 600 such lines); any other line takes the checks below, which name what is wrong.
    const m = WELL_FORMED.exec(raw);
    if (m !== null) {
      const name = m[1] as string;
      const epochText = m[2] as string;
      const version = m[3] as string;
      const release = m[4] as string;
      const arch = m[5] as string;
      const sourceRpm = m[6] as string;
      if (name.length <= MAX_FIELD && version.length <= MAX_FIELD && release.length <= MAX_FIELD && arch.length <= MAX_FIELD) {
        const epoch = epochText === '0' ? 0 : epochOf(epochText);
        if (epoch !== undefined) {
          const sourceName = SOURCE_NAMES.get(sourceRpm);
          if (sourceName !== undefined) {
            out.push(remember(raw, { family: 'rpm', name, epoch, version, release, arch, sourceName, sourceVersion: null }));
            continue;
          }
        }
      }
    }
    const p = parseLine(raw, i, file);
    if (p !== null) out.push(p);
  }
  return out;
}

/**
 * Well-formed line → its package, shared by every inventory that has the line: frozen, so no
 * caller can change one host's package under another's. Bounded, forgotten wholesale when full.
 */
const PACKAGES = new Map<string, Readonly<InstalledPackage>>();

function remember(line: string, p: InstalledPackage): InstalledPackage {
  if (PACKAGES.size >= MAX_REMEMBERED) PACKAGES.clear();
  // Copies of the line and its fields: the slices split and the expression return keep the whole
  // inventory text they came from alive for as long as the entry lives.
  const own = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
  const kept = Object.freeze({
    ...p,
    name: own(p.name),
    version: own(p.version),
    release: own(p.release ?? ''),
    arch: own(p.arch),
    sourceName: p.sourceName === null ? null : own(p.sourceName),
  });
  PACKAGES.set(own(line), kept);
  return kept;
}

/** A line of four fields without white space or NUL, an epoch, and a SOURCERPM, tab-separated (no \r, no seventh field). */
const WELL_FORMED = /^([^\s\0#][^\s\0]*)\t([^\t\r]*)\t([^\s\0]+)\t([^\s\0]+)\t([^\s\0]+)\t([^\t\r]*)$/;

/** An epoch as rpm prints it: null for none, undefined when it is not one. */
function epochOf(epochText: string): number | null | undefined {
  if (epochText === '(none)' || epochText === '') return null;
  if (/^[0-9]{1,10}$/.test(epochText) && Number(epochText) <= 0xffff_ffff) return Number(epochText);
  return undefined;
}

/** One line with every check (null: a line to skip); throws naming the file and line. */
function parseLine(raw: string, i: number, file: string): InstalledPackage | null {
  // rpm prints no white space at a line's end, and no field ends with a space: an edited file's.
  const line = raw.replace(/[ \r]+$/, '');
  if (line.trim() === '' || line.startsWith('#')) return null;
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
  const epoch = epochOf(epochText);
  if (epoch === undefined) throw fail(`epoch "${epochText}" is not a number`);
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
  return { family: 'rpm', name, epoch, version, release, arch, sourceName, sourceVersion: null };
}
