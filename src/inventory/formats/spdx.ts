import { BulwarkError } from '../../core/errors.js';
import { sourceNameOf } from './purl.js';
import { isRec, str, type Rec, type SbomWalk } from './sbom-record.js';

/**
 * Every installed package of an SPDX 2.x JSON document, in document order: not the document's
 * subject (the image) nor source packages, each with the source it was built from.
 * @example walkSpdx(JSON.parse(text), walk)
 */
export function walkSpdx(doc: Rec, w: SbomWalk): void {
  const { file } = w;
  const pkgs = doc['packages'];
  if (pkgs !== undefined && !Array.isArray(pkgs)) throw new BulwarkError('input.invalid', `${file}: packages is not an array`, { file });
  const list = (pkgs ?? []) as unknown[];
  // SPDX 2.3 §11: `A GENERATED_FROM B` (or `B GENERATES A`) says binary A was built from B.
  const byId = new Map<string, Rec>();
  for (const p of list) if (isRec(p) && str(p['SPDXID']) !== null) byId.set(str(p['SPDXID']) ?? '', p);
  const builtFrom = new Map<string, Rec>();
  const rels = doc['relationships'];
  if (Array.isArray(rels))
    for (const r of rels as unknown[]) {
      if (!isRec(r)) continue;
      const a = str(r['spdxElementId']);
      const b = str(r['relatedSpdxElement']);
      const type = str(r['relationshipType']);
      if (a === null || b === null) continue;
      if (type === 'GENERATED_FROM' && byId.has(b)) builtFrom.set(a, byId.get(b) as Rec);
      if (type === 'GENERATES' && byId.has(a)) builtFrom.set(b, byId.get(a) as Rec);
    }
  const described = new Set<string>();
  if (Array.isArray(rels))
    for (const r of rels as unknown[])
      if (isRec(r) && r['relationshipType'] === 'DESCRIBES' && str(r['relatedSpdxElement']) !== null) described.add(str(r['relatedSpdxElement']) ?? '');
  const sources = new Set([...builtFrom.values()]);
  list.forEach((p: unknown, i) => {
    const where = `packages[${String(i)}]`;
    if (!isRec(p)) throw new BulwarkError('input.invalid', `${file}: ${where} is not an object`, { file });
    const here = w.at(p, where);
    // The document's subject (the image) and source packages are not installed packages.
    if (described.has(str(p['SPDXID']) ?? '\u0000') || sources.has(p)) return;
    const refs = Array.isArray(p['externalRefs']) ? (p['externalRefs'] as unknown[]).filter(isRec) : [];
    const purl = refs.find((r) => r['referenceType'] === 'purl' && typeof r['referenceLocator'] === 'string')?.['referenceLocator'] as string | undefined;
    let source: string | null = null;
    const from = builtFrom.get(str(p['SPDXID']) ?? '');
    try {
      if (from !== undefined) source = sourceNameOf(str(from['name']) ?? '');
      // Bulwark's own SPDX says `built from <source rpm>` (SPDX 2.3 §7.19 sourceInfo).
      const info = /^built from (?:source package )?(\S+)$/.exec(str(p['sourceInfo']) ?? '');
      if (source === null && info?.[1] !== undefined) source = sourceNameOf(info[1]);
    } catch (err) {
      throw new BulwarkError('input.invalid', `${here}: its source package: ${(err as Error).message}`, { file });
    }
    w.take(purl ?? null, here, source);
  });
}
