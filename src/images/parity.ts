import type { InstalledPackage } from '../core/target.js';

/**
 * Parity (issue #7): are an image, the hosts built from it and a developer's WSL image the same
 * bits? Each side is a package set; the report lists every package whose builds differ, side by
 * side, and per side how it stands against the reference (the first side, the image).
 */
export interface ParitySide {
  label: string;
  packages: readonly InstalledPackage[];
}

export interface ParityRow {
  package: string;
  /** Per side, in order: its builds (`E:V-R.arch`, several for installonly kernels) or null when absent. */
  builds: (string | null)[];
}

export interface ParitySummary {
  label: string;
  /** Packages with exactly the reference's builds. */
  same: number;
  /** Present on both, other builds. */
  different: number;
  /** In the reference, not here. */
  missing: number;
  /** Here, not in the reference. */
  extra: number;
}

export interface ParityReport {
  sides: string[];
  rows: ParityRow[];
  summary: ParitySummary[];
}

const buildOf = (p: InstalledPackage): string =>
  p.family === 'deb' ? `${p.version}.${p.arch}` : `${String(p.epoch ?? 0)}:${p.version}-${p.release ?? ''}.${p.arch}`;

function index(packages: readonly InstalledPackage[]): Map<string, string> {
  const m = new Map<string, string[]>();
  for (const p of packages) {
    const list = m.get(p.name) ?? [];
    list.push(buildOf(p));
    m.set(p.name, list);
  }
  return new Map([...m].map(([k, v]) => [k, [...new Set(v)].sort().join(', ')]));
}

/**
 * Compares package sets; the first side is the reference.
 * @example parity([{ label: 'image azl3-base@3', packages: imagePkgs }, { label: 'web-01', packages: hostPkgs }])
 */
export function parity(sides: readonly ParitySide[]): ParityReport {
  const idx = sides.map((s) => index(s.packages));
  const names = [...new Set(idx.flatMap((m) => [...m.keys()]))].sort();
  const rows: ParityRow[] = [];
  for (const name of names) {
    const builds = idx.map((m) => m.get(name) ?? null);
    if (builds.every((b) => b === builds[0])) continue;
    rows.push({ package: name, builds });
  }
  const ref = idx[0] ?? new Map<string, string>();
  const summary = sides.map((s, i) => {
    const m = idx[i] ?? new Map<string, string>();
    let same = 0;
    let different = 0;
    let missing = 0;
    for (const [name, b] of ref) {
      const here = m.get(name);
      if (here === undefined) missing++;
      else if (here === b) same++;
      else different++;
    }
    const extra = [...m.keys()].filter((k) => !ref.has(k)).length;
    return { label: s.label, same, different, missing, extra };
  });
  return { sides: sides.map((s) => s.label), rows, summary };
}
