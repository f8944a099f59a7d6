import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Advisory, Fix } from '../src/core/advisory.js';
import type { OvalCriteria } from '../src/core/oval.js';
import type { InstalledPackage } from '../src/core/target.js';
import { parseOval } from '../src/feeds/oval/parser.js';
import { feedDocuments } from '../src/lib/archive.js';
import { matchPackages } from '../src/matching/match.js';
import { evaluateCriteria, indexByName } from '../src/matching/oval-strict.js';
import { sharedData } from './shared-data.js';
import { rng } from './random.js';

/**
 * Issue #4, "Done when": without --oval-strict, every difference from the literal (OpenSCAP-
 * equal, see oval-oscap.test.ts) verdict is one of the documented corrections:
 *  1. binary → source: Microsoft's definitions name source packages; an installed binary built
 *     from that source (`perl-Carp` from `perl`) is matched through its %{SOURCERPM};
 *  2. epoch: the feed writes `0:` for packages that have an epoch; version-release is compared;
 *  3. Not Applicable definitions are "not affected", whatever the version;
 *  4. definitions whose version is garbage (`0:null.cm2`, comma lists, leading spaces) derive
 *     no fix (skipped with a warning at ingestion).
 * Inventories are random, with versions just below, at and above each boundary.
 */
const ovalDir = sharedData('azurelinux', 'oval');
const FEEDS = [
  ['azurelinux-3.0-oval.2025-02-24.xml.xz', 'azurelinux:3.0'],
  ['cbl-mariner-2.0-oval.2024-01-22.xml.xz', 'mariner:2.0'],
  ['cbl-mariner-1.0-oval.2024-03-29.xml.xz', 'mariner:1.0'],
] as const;

function boundaries(advisories: readonly Advisory[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (n: OvalCriteria): void => {
    if (n.kind === 'criteria') n.children.forEach(walk);
    else if (n.kind === 'criterion')
      for (const s of n.test.states)
        for (const f of s)
          if (f.field === 'evr')
            for (const name of n.test.names) {
              let l = out.get(name);
              if (l === undefined) out.set(name, (l = []));
              l.push(f.value);
            }
  };
  for (const a of advisories) if (a.oval !== undefined) walk(a.oval);
  return out;
}

function near(evr: string, where: number): { version: string; release: string } | null {
  const m = /^\d+:([^-\s,]+)(?:-([^-\s,]+))?$/.exec(evr);
  if (!m?.[1]) return null;
  const version = m[1];
  const release = m[2] ?? '1';
  if (where === 0) return { version, release };
  if (where === 1) return { version, release: `${release}.1` };
  const r = /^(\d+)(.*)$/.exec(release);
  if (r?.[1] !== undefined && Number(r[1]) > 0) return { version, release: `${String(Number(r[1]) - 1)}${r[2] ?? ''}` };
  return { version: `0.${version}`, release };
}

async function parseFeed(path: string): Promise<Advisory[]> {
  const out: Advisory[] = [];
  for await (const doc of feedDocuments(createReadStream(path), path, { maxDocumentBytes: 1 << 30, maxTotalBytes: 1 << 30 }))
    for await (const a of parseOval(doc.bytes, { source: 'cmp', name: doc.name, warn: () => undefined })) out.push(a);
  return out;
}

describe.skipIf(ovalDir === null)('normal matching differs from literal OVAL only by the documented corrections', () => {
  it.each(FEEDS)('%s', async (file, release) => {
    const advisories = await parseFeed(join(ovalDir!, file));
    const bounds = boundaries(advisories);
    const seed = Number(process.env['BULWARK_CMP_SEED'] ?? Date.now() % 100000);
    const counts = { corrections: { binary: 0, epoch: 0, notApplicable: 0, garbage: 0 }, same: 0 };
    for (let n = 0; n < 20; n++) {
      const rand = rng(seed + n);
      const packages: InstalledPackage[] = [];
      for (const [name, evrs] of bounds) {
        if (rand() < 0.4) continue;
        const v = near(evrs[Math.floor(rand() * evrs.length)] ?? '', Math.floor(rand() * 3));
        if (v === null) continue;
        const epoch = rand() < 0.1 ? 1 + Math.floor(rand() * 4) : 0;
        // Most binaries carry their source's name; some are sub-packages with names of their own.
        const binary = rand() < 0.25 ? `${name}-libs` : name;
        packages.push({ family: 'rpm', name: binary, epoch, version: v.version, release: v.release, arch: 'x86_64', sourceName: name, sourceVersion: null });
      }
      // The literal reading of three inventories: as installed; with every binary renamed to
      // its source (correction 1); and renamed with epochs dropped (corrections 1 and 2).
      const literal = (pkgs: InstalledPackage[]): ((a: Advisory) => boolean) => {
        const inv = { family: 'rpm' as const, runningKernel: null, packages: pkgs };
        const index = indexByName(inv);
        return (a) => a.oval !== undefined && evaluateCriteria(a.oval, inv, index) === 'true';
      };
      const asInstalled = literal(packages);
      const renamed = packages.map((p) => ({ ...p, name: p.sourceName ?? p.name }));
      const bySource = literal(renamed);
      const byVersionRelease = literal(renamed.map((p) => ({ ...p, epoch: 0 })));
      const matches = matchPackages({ family: 'rpm', release, packages, advisories });
      const found = new Set(matches.map((m) => m.advisoryId));
      const unexplained: string[] = [];
      for (const a of advisories) {
        if (a.oval === undefined) continue;
        const normal = found.has(a.id);
        const fixes: Fix[] = a.fixes;
        const notApplicable = fixes.length > 0 && fixes.every((f) => f.status === 'not-affected');
        const garbage = fixes.length === 0;
        // Bulwark's verdict is the literal verdict on the corrected inventory, except where
        // corrections 3 and 4 say "not affected" / "no usable fix".
        const expected = notApplicable || garbage ? false : byVersionRelease(a);
        if (normal !== expected) {
          unexplained.push(`${a.id}: Bulwark ${String(normal)}, literal-on-corrected ${String(expected)}`);
          continue;
        }
        const lit = asInstalled(a);
        if (normal === lit) counts.same++;
        else if (notApplicable) counts.corrections.notApplicable++;
        else if (garbage) counts.corrections.garbage++;
        else if (bySource(a) !== lit) counts.corrections.binary++;
        else counts.corrections.epoch++;
      }
      expect({ seed: seed + n, unexplained: unexplained.slice(0, 10) }).toEqual({ seed: seed + n, unexplained: [] });
    }
    if (process.env['BULWARK_CMP_VERBOSE'] !== undefined) console.log(release, JSON.stringify(counts));
    // The comparison must have exercised agreement and the corrections, not passed vacuously.
    expect(counts.same).toBeGreaterThan(1000);
    expect(counts.corrections.binary).toBeGreaterThan(0);
    expect(counts.corrections.epoch).toBeGreaterThan(0);
  });
});
