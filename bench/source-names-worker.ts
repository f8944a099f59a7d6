/**
 * Issue #13: one scan of a manifest through the product's own path (scanFiles, what
 * `bulwark scan --inventory FILE --feed FILE` runs), in a fresh process so the shipped map is
 * loaded and parsed cold as a CLI run does. Prints JSON.
 * - `on` / `off`: the whole scan with or without source-name resolution, ms;
 * - `parts`: the resolution alone, cold (map parse included), then the scan without it, and the
 *   matching of the resolved against the unresolved packages: what resolving adds, measured
 *   inside one process, so the machine's load moves both alike.
 * Usage: node --import tsx bench/source-names-worker.ts MANIFEST FEED on|off|parts
 */
import { createReadStream, readFileSync } from 'node:fs';
import type { Advisory } from '../src/core/advisory.js';
import { feedParser } from '../src/feeds/api.js';
import { parseInventory } from '../src/inventory/imports.js';
import { resolveSourceNames } from '../src/inventory/source-names.js';
import { feedDocuments } from '../src/lib/archive.js';
import { matchPackages } from '../src/matching/match.js';
import { DEFAULT_LIMITS, detectFileFormat } from '../src/services/feeds.js';
import { scanFiles } from '../src/services/file-scan.js';

const [manifest, feed, mode] = process.argv.slice(2);
if (manifest === undefined || feed === undefined || (mode !== 'on' && mode !== 'off' && mode !== 'parts'))
  throw new Error('usage: source-names-worker MANIFEST FEED on|off|parts');
const release = 'azurelinux:3.0';
if (mode === 'parts') {
  const packages = parseInventory(readFileSync(manifest, 'utf8'), manifest).packages;
  let t = performance.now();
  const resolved = resolveSourceNames(packages, release).packages;
  const resolveMs = performance.now() - t;
  t = performance.now();
  await scanFiles({ inventory: manifest, feeds: [feed], release, resolveSources: false });
  const scanOffMs = performance.now() - t;
  const advisories: Advisory[] = [];
  const parser = feedParser(await detectFileFormat(feed));
  for await (const doc of feedDocuments(createReadStream(feed), feed, DEFAULT_LIMITS))
    for await (const a of parser.parse(doc.bytes, { source: 'bench', name: doc.name, release, warn: () => undefined })) advisories.push(a);
  const time = (ps: typeof packages): number => {
    const s = performance.now();
    for (let i = 0; i < 10; i++) matchPackages({ family: 'rpm', release, packages: ps, advisories });
    return (performance.now() - s) / 10;
  };
  time(packages);
  time(resolved);
  const matchOffMs = time(packages);
  const matchOnMs = time(resolved);
  console.log(JSON.stringify({ resolveMs, scanOffMs, matchOffMs, matchOnMs }));
} else {
  const t0 = performance.now();
  const r = await scanFiles({ inventory: manifest, feeds: [feed], release, resolveSources: mode === 'on' });
  console.log(JSON.stringify({ ms: performance.now() - t0, findings: r.findings.length }));
}
