/**
 * Issue #4 matching figures, in a process of its own (peak RSS is its own). Prints JSON.
 * Usage: node --import tsx bench/match-worker.ts SHARED_DATA_DIR [HOSTS]
 *
 * Inventories come from the real Azure Linux 3.0 manifests (toolchain + pkggen_core, x86_64
 * and aarch64, snapshots 2024-07-27 and 2026-04-29) with binary → source names from the derived
 * spec table. A fleet host takes one snapshot and arch as its image, then drifts: each package
 * takes the other snapshot's build with probability 0.15 (patched or lagging hosts), 3 % of
 * packages are missing, and 1 host in 5 carries an extra kernel version.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Advisory } from '../src/core/advisory.js';
import type { InstalledPackage } from '../src/core/target.js';
import { parseOval } from '../src/feeds/oval/parser.js';
import { feedDocuments } from '../src/lib/archive.js';
import { affectedTargets, FleetIndex, matchFleet } from '../src/matching/fleet.js';
import { matchPackages } from '../src/matching/match.js';
import { rng } from '../test/random.js';

const [data, hostsArg] = process.argv.slice(2);
if (data === undefined) throw new Error('usage: match-worker SHARED_DATA_DIR [HOSTS]');
const HOSTS = Number(hostsArg ?? 10_000);

const source = new Map<string, string>();
for (const line of readFileSync(join(data, 'azurelinux', 'derived', 'azurelinux-3.0.20260429-source-packages.tsv'), 'utf8').split('\n')) {
  if (line.startsWith('#') || line.startsWith('spec_path') || line === '') continue;
  const f = line.split('\t');
  for (const b of (f[6] ?? '').split(',')) if (b !== '' && !source.has(b)) source.set(b, f[1] ?? b);
}

function manifest(snapshot: string, arch: string): InstalledPackage[] {
  const out = new Map<string, InstalledPackage>();
  for (const kind of ['toolchain', 'pkggen_core']) {
    for (const raw of readFileSync(join(data!, 'azurelinux', 'manifests', snapshot, `${kind}_${arch}.txt`), 'utf8').split('\n')) {
      const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(raw.trim());
      if (!m?.[1] || m[2] === undefined || m[3] === undefined || m[4] === undefined) continue;
      out.set(`${m[1]}.${m[4]}`, {
        family: 'rpm',
        name: m[1],
        epoch: null,
        version: m[2],
        release: m[3],
        arch: m[4],
        sourceName: source.get(m[1]) ?? null,
        sourceVersion: null,
      });
    }
  }
  return [...out.values()];
}

async function feed(): Promise<Advisory[]> {
  const path = join(data!, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
  const out: Advisory[] = [];
  for await (const doc of feedDocuments(createReadStream(path), path, { maxDocumentBytes: 1 << 30, maxTotalBytes: 1 << 30 }))
    for await (const a of parseOval(doc.bytes, { source: 'azurelinux-3.0-oval', name: doc.name, warn: () => undefined })) out.push(a);
  return out;
}

const t0 = performance.now();
const advisories = await feed();
const parseMs = performance.now() - t0;

// One host: the GA-era toolchain set.
const one = manifest('3.0-2024-07-27', 'x86_64');
let oneMs = Infinity;
let oneFindings = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  oneFindings = matchPackages({ family: 'rpm', release: 'azurelinux:3.0', packages: one, advisories }).length;
  oneMs = Math.min(oneMs, performance.now() - t);
}

// The fleet.
const images = [
  ['3.0-2024-07-27', 'x86_64'],
  ['3.0-2024-07-27', 'aarch64'],
  ['3.0-2026-04-29', 'x86_64'],
  ['3.0-2026-04-29', 'aarch64'],
].map(([s, a]) => manifest(s!, a!));
const byKey = images.map((img) => new Map(img.map((p) => [`${p.name}.${p.arch}`, p])));
const rand = rng(42);
const rssBefore = process.memoryUsage().rss;
const t1 = performance.now();
const index = new FleetIndex('azurelinux:3.0', 'rpm');
let packagesTotal = 0;
for (let h = 0; h < HOSTS; h++) {
  const i = Math.floor(rand() * 4);
  const other = byKey[i ^ 2];
  const pkgs: InstalledPackage[] = [];
  for (const p of images[i] ?? []) {
    if (rand() < 0.03) continue;
    const q = rand() < 0.15 ? (other?.get(`${p.name}.${p.arch}`) ?? p) : p;
    pkgs.push(q);
  }
  if (rand() < 0.2) {
    const k = pkgs.find((p) => p.name === 'kernel-headers');
    if (k !== undefined) pkgs.push({ ...k, release: `${k.release ?? '1'}.1` });
  }
  packagesTotal += pkgs.length;
  index.add(`host-${String(h)}`, pkgs);
}
const indexMs = performance.now() - t1;
const t2 = performance.now();
const { byTarget, distinctMatched } = matchFleet(index, advisories);
const fleetMs = performance.now() - t2;
let fleetFindings = 0;
for (const l of byTarget.values()) fleetFindings += l.length;
const rssAfter = process.memoryUsage().rss;

// A newly ingested advisory: the openssl definition with the most fixes, as if just published.
const newest = advisories.filter((a) => a.fixes.some((f) => f.package === 'openssl')).slice(0, 1);
let newMs = Infinity;
let newHosts = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  newHosts = affectedTargets(index, newest).size;
  newMs = Math.min(newMs, performance.now() - t);
}

console.log(
  JSON.stringify({
    parseMs,
    oneHost: { packages: one.length, findings: oneFindings, ms: oneMs },
    fleet: {
      hosts: HOSTS,
      packages: packagesTotal,
      distinctBuilds: index.builds.length,
      distinctMatched,
      indexMs,
      matchMs: fleetMs,
      findings: fleetFindings,
      rssDeltaMB: (rssAfter - rssBefore) / 1048576,
    },
    newAdvisory: { id: newest[0]?.id ?? null, hosts: newHosts, ms: newMs },
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  }),
);
