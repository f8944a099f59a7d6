/**
 * What the SBOM readers (cyclonedx.ts, spdx.ts) share: loose JSON records, and the context
 * sbom.ts gives them to name records and take packages.
 */
export type Rec = Record<string, unknown>;
export const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);
export const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);

/** How a record is named in a warning: its name and version, or its place in the document. */
export function label(rec: Rec, where: string): string {
  const name = str(rec['name']);
  const version = str(rec['version']) ?? str(rec['versionInfo']);
  return name === null ? where : `${where} (${name}${version === null ? '' : ` ${version}`})`;
}

export interface SbomWalk {
  file: string;
  /** `file:line: label` of a record (records are walked in document order). */
  at(rec: unknown, where: string): string;
  /**
   * Takes one record: its purl (null: none), where it is, and the source package the document
   * states for it besides the purl (and, for a Debian package, that source's version).
   */
  take(purl: string | null, here: string, source: string | null, debSourceVersion?: string | null): void;
}
