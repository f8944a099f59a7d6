import { BulwarkError } from '../../core/errors.js';
import type { InstalledPackage } from '../../core/target.js';
import { walkCycloneDx } from './cyclonedx.js';
import { fromPurl } from './purl.js';
import { isRec, label, str } from './sbom-record.js';
import { walkSpdx } from './spdx.js';

export interface ParsedSbom {
  packages: InstalledPackage[];
  warnings: string[];
  records: number;
  /** Why components were left out, counted by kind (`pkg:npm`, `without a purl`), for the error when none is left to judge. */
  leftOut: Map<string, number>;
}

/**
 * A CycloneDX or SPDX JSON SBOM: packages by purl (cyclonedx.ts, spdx.ts walk the documents).
 * Components that are not rpm or deb packages are left out with a warning naming them by
 * file:line and their place in the document; a malformed document refuses the file.
 * @example parseSbom(readFileSync('sbom.json', 'utf8'), 'sbom.json', 'cyclonedx')
 */
export function parseSbom(text: string, file: string, format: 'cyclonedx' | 'spdx'): ParsedSbom {
  // Records are named by file:line (as the line formats are) and by their place in the document.
  const newlines: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((newlines[mid] ?? 0) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const pos = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new BulwarkError('input.invalid', `${file}${pos === undefined ? '' : `:${String(lineAt(Number(pos)))}`}: not JSON: ${(err as Error).message}`, {
      file,
    });
  }
  if (!isRec(doc)) throw new BulwarkError('input.invalid', `${file}: not a JSON object`, { file });
  // A record's line: where its purl, bom-ref, SPDXID or name first appears after the previous
  // record's (records are walked in document order).
  let cursor = 0;
  const at = (rec: unknown, where: string): string => {
    if (isRec(rec))
      for (const key of ['SPDXID', 'bom-ref', 'purl', 'name']) {
        const v = str(rec[key]);
        if (v === null) continue;
        const needle = JSON.stringify(v);
        let i = text.indexOf(needle, cursor);
        if (i < 0) i = text.indexOf(needle);
        if (i < 0) continue;
        cursor = i;
        return `${file}:${String(lineAt(i))}: ${label(rec, where)}`;
      }
    return `${file}: ${isRec(rec) ? label(rec, where) : where}`;
  };
  const packages: InstalledPackage[] = [];
  const warnings: string[] = [];
  const leftOut = new Map<string, number>();
  let records = 0;
  const take = (purl: string | null, here: string, source: string | null, debSourceVersion: string | null = null): void => {
    records++;
    if (purl === null) {
      warnings.push(`${here}: no package URL (purl); not scanned`);
      leftOut.set('without a purl', (leftOut.get('without a purl') ?? 0) + 1);
      return;
    }
    const p = fromPurl(purl, here, file);
    if (typeof p === 'string') {
      warnings.push(`${here}: ${p}; not scanned`);
      const kind = /\(pkg:([^)]+)\)$/.exec(p)?.[1];
      const why = kind !== undefined ? `pkg:${kind}` : p.endsWith('has no version') ? 'without a version' : 'source packages';
      leftOut.set(why, (leftOut.get(why) ?? 0) + 1);
      return;
    }
    // The document's own statement of the source, when the purl has none; a deb package always
    // has one (dpkg: the binary's own name when it does not say).
    if (p.family === 'rpm') packages.push(p.sourceName === null && source !== null ? { ...p, sourceName: source } : p);
    else if (p.sourceName !== null) packages.push(p);
    else packages.push(source !== null ? { ...p, sourceName: source, sourceVersion: debSourceVersion } : { ...p, sourceName: p.name });
  };
  if (format === 'cyclonedx') walkCycloneDx(doc, { file, at, take });
  else walkSpdx(doc, { file, at, take });
  return { packages, warnings, records, leftOut };
}
