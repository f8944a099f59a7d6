import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstalledPackage } from '../src/core/target.js';
import { rng } from './random.js';

/**
 * A fleet of Azure Linux 3.0 hosts from the real manifests in ../shared/data (issue #14), for the
 * product-path test and benches. Builds come from two real snapshots (2024-07-27, 2026-04-29)
 * and two arches, with binary → source names from the derived spec table. A host takes one
 * snapshot and arch as its image, then drifts as hosts do: per package, 12 % take the other
 * snapshot's build, 8 % a later rebuild of their own (release +1 … +4: patched at different
 * times), 3 % are missing; 1 host in 5 carries two kernel builds and says which one runs.
 * That is several builds per package, not two.
 */
export interface FleetHost {
  name: string;
  packages: InstalledPackage[];
  runningKernel: string | null;
}

const SNAPSHOTS = ['3.0-2024-07-27', '3.0-2026-04-29'] as const;
const ARCHES = ['x86_64', 'aarch64'] as const;

function sourceNames(data: string): Map<string, string> {
  const source = new Map<string, string>();
  for (const line of readFileSync(join(data, 'azurelinux', 'derived', 'azurelinux-3.0.20260429-source-packages.tsv'), 'utf8').split('\n')) {
    if (line.startsWith('#') || line.startsWith('spec_path') || line === '') continue;
    const f = line.split('\t');
    for (const b of (f[6] ?? '').split(',')) if (b !== '' && !source.has(b)) source.set(b, f[1] ?? b);
  }
  return source;
}

function manifest(data: string, snapshot: string, arch: string, source: Map<string, string>): InstalledPackage[] {
  const out = new Map<string, InstalledPackage>();
  for (const kind of ['toolchain', 'pkggen_core']) {
    for (const raw of readFileSync(join(data, 'azurelinux', 'manifests', snapshot, `${kind}_${arch}.txt`), 'utf8').split('\n')) {
      const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(raw.trim());
      if (!m?.[1] || m[2] === undefined || m[3] === undefined || m[4] === undefined) continue;
      out.set(`${m[1]}.${m[4]}`, {
        family: 'rpm',
        name: m[1],
        epoch: null,
        version: m[2],
        release: m[3],
        arch: m[4],
        sourceName: source.get(m[1]) ?? m[1],
        sourceVersion: null,
      });
    }
  }
  return [...out.values()];
}

/** `3.azl3` → `5.azl3`: a later rebuild of the same version. */
function bumped(p: InstalledPackage, by: number): InstalledPackage {
  const m = /^(\d+)(.*)$/.exec(p.release ?? '');
  if (m?.[1] === undefined) return p;
  return { ...p, release: `${String(Number(m[1]) + by)}${m[2] ?? ''}` };
}

/**
 * `hosts` hosts named `<prefix>-00001`…, the same for the same seed.
 * @example realFleet(sharedDataDir, 1000)
 */
export function realFleet(data: string, hosts: number, o: { seed?: number; prefix?: string } = {}): FleetHost[] {
  return [...realFleetHosts(data, hosts, o)];
}

/**
 * The hosts of realFleet one at a time (the same hosts for the same seed), so a bench of
 * 100,000 hosts never holds them all.
 * @example for (const h of realFleetHosts(sharedDataDir, 100_000)) seed(h)
 */
export function* realFleetHosts(data: string, hosts: number, o: { seed?: number; prefix?: string } = {}): Generator<FleetHost> {
  const source = sourceNames(data);
  const images = SNAPSHOTS.flatMap((s) => ARCHES.map((a) => manifest(data, s, a, source)));
  const byKey = images.map((img) => new Map(img.map((p) => [`${p.name}.${p.arch}`, p])));
  const rand = rng(o.seed ?? 42);
  for (let h = 0; h < hosts; h++) {
    const i = Math.floor(rand() * 4);
    const other = byKey[i ^ 2];
    const pkgs: InstalledPackage[] = [];
    for (const p of images[i] ?? []) {
      const r = rand();
      if (r < 0.03) continue;
      if (r < 0.15) pkgs.push(other?.get(`${p.name}.${p.arch}`) ?? p);
      else if (r < 0.23) pkgs.push(bumped(p, 1 + Math.floor(rand() * 4)));
      else pkgs.push(p);
    }
    let runningKernel: string | null = null;
    if (rand() < 0.2) {
      // The manifests list kernel-headers only: its version stands for the kernel's (an
      // installonly package, two builds installed, one running).
      const h = pkgs.find((p) => p.name === 'kernel-headers');
      if (h !== undefined) {
        const k: InstalledPackage = { ...h, name: 'kernel', arch: ARCHES[i % 2] ?? 'x86_64', sourceName: 'kernel' };
        const newer = bumped(k, 1);
        pkgs.push(k, newer);
        runningKernel = `${k.version}-${(rand() < 0.5 ? k : newer).release ?? ''}`;
      }
    }
    yield { name: `${o.prefix ?? 'host'}-${String(h).padStart(5, '0')}`, packages: pkgs, runningKernel };
  }
}

/** A host's packages as `rpm -qa --queryformat` prints them for Bulwark (tab-separated, with the source rpm). */
export function rpmQaText(pkgs: FleetHost['packages']): string {
  return pkgs
    .map((p) =>
      [p.name, String(p.epoch ?? 0), p.version, p.release ?? '', p.arch, `${p.sourceName ?? p.name}-${p.version}-${p.release ?? ''}.src.rpm`].join('\t'),
    )
    .join('\n');
}

/** The report an Azure Linux 3.0 agent sends for these packages (src/inventory/agent-report.ts). */
export function agentReportText(pkgs: FleetHost['packages']): string {
  return [
    'bulwark-report 1',
    '@@os-release',
    'ID=azurelinux',
    'VERSION_ID="3.0"',
    '@@uname',
    '6.6.57.1-2.azl3',
    'x86_64',
    '@@managers',
    'tdnf',
    '@@packages rpm',
    rpmQaText(pkgs),
    '',
  ].join('\n');
}
