/**
 * Real rpm version pairs for the version benches: the same package (name.arch) in the Azure Linux
 * 3.0 manifests of 2024-07-27 and 2026-04-29, and 2.0-2026-03-31 vs 3.0-2026-04-29
 * (../shared/data/azurelinux/manifests), each pair in both orders.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseRpmFileName } from '../src/core/package/nevra.js';

function manifest(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const t = line.trim();
      if (!t.endsWith('.rpm')) continue; // macro_packages.txt lists bare names
      const p = parseRpmFileName(t);
      m.set(`${p.name}.${p.arch}`, `${p.epoch === null ? '' : `${p.epoch}:`}${p.version}-${p.release}`);
    }
  }
  return m;
}

/** `[E:]V-R` pairs, as two parallel arrays. */
export function realRpmPairs(root: string): [string[], string[]] {
  const a: string[] = [];
  const b: string[] = [];
  const add = (x: Map<string, string>, y: Map<string, string>): void => {
    for (const [k, v] of x) {
      const w = y.get(k);
      if (w !== undefined) {
        a.push(v, w);
        b.push(w, v);
      }
    }
  };
  const new3 = manifest(join(root, '3.0-2026-04-29'));
  add(manifest(join(root, '3.0-2024-07-27')), new3);
  add(manifest(join(root, '2.0-2026-03-31')), new3);
  return [a, b];
}
