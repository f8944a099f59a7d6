import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { sharedData } from '../../test/shared-data.js';
import { parseRpmFileName } from '../core/package/nevra.js';
import type { InstalledPackage } from '../core/target.js';
import { cycloneDx, spdxDocument, type SbomPackage } from '../images/sbom.js';
import { resolveSourceNames } from '../inventory/source-names.js';

/**
 * Issue #13, "Done when": for the real Azure Linux 3.0 manifests, their CycloneDX and SPDX forms
 * and Bulwark's own VEX imported back, the normal-mode advisories equal those of the same packages
 * given as `rpm -qa` with their true source names. The truth is read here from the derived spec
 * table in ../shared/data, never from the map Bulwark ships.
 */
const DERIVED = sharedData('azurelinux', 'derived', 'azurelinux-3.0.20260429-source-packages.tsv');
const FEED = sharedData('azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const MANIFESTS = sharedData('azurelinux', 'manifests');
const missing = DERIVED === null || FEED === null || MANIFESTS === null;
if (missing && process.env['CI'] !== undefined)
  throw new Error('../shared/data (azurelinux derived, oval, manifests) is missing: CI needs ../shared beside the repository');

const dir = mkdtempSync(join(tmpdir(), 'bulwark-source-names-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The true source of a binary from the spec table: the one spec that lists it; of several, the
 * one whose release is the binary's (a sub-package carries its spec's release); rpm's own
 * `<name>-debuginfo` / `<spec>-debugsource` come from the source of `<name>` / `<spec>`. Null when
 * the table cannot tell (not listed, or several specs and none with the binary's release).
 */
function truthTable(text: string): (name: string, release: string) => string | null {
  const specs = new Map<string, { source: string; release: string }[]>();
  const sources = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('spec_path\t')) continue;
    const f = line.split('\t');
    const name = f[1] ?? '';
    if (name.includes('%')) continue;
    sources.add(name);
    for (const b of (f[6] ?? '').split(',')) {
      if (b === '' || b.includes('%')) continue;
      const l = specs.get(b) ?? [];
      if (!l.some((x) => x.source === name)) l.push({ source: name, release: f[4] ?? '' });
      specs.set(b, l);
    }
  }
  const truth = (name: string, release: string): string | null => {
    const c = specs.get(name);
    if (c !== undefined) {
      if (c.length === 1) return c[0]?.source ?? null;
      const same = c.filter((x) => x.release === release);
      return same.length === 1 ? (same[0]?.source ?? null) : null;
    }
    const debug = /^(.+)-(debuginfo|debugsource)$/.exec(name);
    if (debug?.[1] === undefined) return null;
    if (sources.has(debug[1])) return debug[1];
    return debug[2] === 'debuginfo' ? truth(debug[1], release) : null;
  };
  return truth;
}

interface Finding {
  advisory: string;
  package: string;
  installed: string;
}

async function scan(file: string): Promise<{ packages: number; findings: Finding[]; sources: Record<string, number> }> {
  const r = await runCli(['scan', '--inventory', file, '--feed', FEED ?? '', '--release', 'azurelinux:3.0', '--format', 'json']);
  expect(r.err).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const doc = JSON.parse(r.out) as { inventory: { packages: number; sources: Record<string, number> }; findings: Finding[] };
  return { packages: doc.inventory.packages, findings: doc.findings, sources: doc.inventory.sources };
}

// rpm -qa says epoch 0 (`0:9.4-3.azl3`) where a file name says none (`9.4-3.azl3`): the same build.
const key = (f: Finding): string => `${f.advisory} ${f.package} ${f.installed.replace(/^0:/, '')}`;

describe.skipIf(missing)('source names on every input form agree with the truth (real Azure Linux 3.0 data)', () => {
  const truth = truthTable(DERIVED === null ? '' : readFileSync(DERIVED, 'utf8'));
  // The 2026 builds are newer than the 2025-02-24 feed, so all of their advisories are fixed:
  // for them the comparison is of zero findings, and the source names are compared directly.
  it.each([
    ['3.0-2024-07-27', 'toolchain_x86_64.txt', 50],
    ['3.0-2024-07-27', 'pkggen_core_aarch64.txt', 20],
    ['3.0-2026-04-29', 'toolchain_x86_64.txt', 0],
    ['3.0-2026-04-29', 'pkggen_core_aarch64.txt', 0],
  ])('%s/%s: manifest, CycloneDX, SPDX and the VEX Bulwark writes', async (tag, name, atLeast) => {
    const file = join(MANIFESTS ?? '', tag, name);
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const packages: InstalledPackage[] = lines.map((l) => {
      const p = parseRpmFileName(l.trim());
      return { family: 'rpm', name: p.name, epoch: null, version: p.version, release: p.release, arch: p.arch, sourceName: null, sourceVersion: null };
    });
    // The same packages as rpm -qa, each with its true SOURCERPM; the few the table cannot tell
    // are left out of both sides of the comparison, and named.
    const unknown = packages.filter((p) => truth(p.name, p.release ?? '') === null).map((p) => p.name);
    // 2024: five binaries no 2026 spec lists (cross-compilers, msopenjdk-17, python-wheel-wheel)
    // and perl's sub-packages of an older perl build that two 2026 specs list.
    expect(unknown.length).toBeLessThanOrEqual(9);
    const resolved = resolveSourceNames(packages, 'azurelinux:3.0').packages;
    for (const p of resolved) if (!unknown.includes(p.name)) expect([p.name, p.sourceName]).toEqual([p.name, truth(p.name, p.release ?? '')]);
    const known = (f: Finding): boolean => !unknown.includes(f.package);
    const rpmQa = join(dir, `${tag}-${name}.rpm-qa.tsv`);
    writeFileSync(
      rpmQa,
      packages
        .filter((p) => !unknown.includes(p.name))
        .map((p) => [p.name, '0', p.version, p.release, p.arch, `${truth(p.name, p.release ?? '') ?? ''}-${p.version}-${p.release ?? ''}.src.rpm`].join('\t'))
        .join('\n') + '\n',
    );
    const expected = (await scan(rpmQa)).findings.map(key).sort();
    expect(expected.length).toBeGreaterThanOrEqual(atLeast);

    const fromManifest = await scan(file);
    expect(fromManifest.packages).toBe(lines.length);
    expect(fromManifest.findings.filter(known).map(key).sort()).toEqual(expected);

    const sbom: SbomPackage[] = packages.map((p) => ({ ...p, license: null, sourceRpm: null }));
    const subject = { name: 'toolchain', version: '1', type: 'container' as const, release: 'azurelinux:3.0', digest: null };
    const ctx = { created: '2026-12-06T00:00:00.000Z', uuid: '00000000-0000-4000-8000-000000000000', tool: { name: 'bulwark', version: 'test' } };
    for (const [form, doc] of [
      ['cdx.json', cycloneDx(subject, sbom, ctx)],
      ['spdx.json', spdxDocument(subject, sbom, ctx)],
    ] as const) {
      const f = join(dir, `${tag}-${name}.${form}`);
      writeFileSync(f, JSON.stringify(doc));
      const r = await scan(f);
      expect(r.packages).toBe(lines.length);
      expect(r.findings.filter(known).map(key).sort()).toEqual(expected);
    }

    // Bulwark's own VEX of the manifest, imported back: its components are the affected packages.
    const db = join(dir, `${tag}-${name}.db`);
    expect((await runCli(['--db', db, 'feeds', 'sync', '--source', 'azurelinux-3.0-oval', '--file', FEED ?? ''])).code).toBe(0);
    expect((await runCli(['--db', db, 'scan', '--inventory', file, '--name', 'toolchain'])).code).toBe(0);
    const vex = join(dir, `${tag}-${name}.vex.json`);
    const report = await runCli(['--db', db, 'report', '--format', 'cyclonedx-vex']);
    expect(report.code).toBe(0);
    writeFileSync(vex, report.out);
    if (expected.length === 0) {
      // No affected package, no component: a scan of it could judge nothing, and is refused.
      const refused = await runCli(['scan', '--inventory', vex, '--feed', FEED ?? '', '--release', 'azurelinux:3.0']);
      expect(refused.err).toMatch(/: 0 of 0 components are rpm or deb packages Bulwark can judge/);
      expect(refused.code).toBe(2);
      return;
    }
    const fromVex = await scan(vex);
    const inVex = new Set((JSON.parse(report.out) as { components: { name: string }[] }).components.map((c) => c.name));
    expect(fromVex.packages).toBeGreaterThan(0);
    expect(fromVex.findings.filter(known).map(key).sort()).toEqual(expected.filter((k) => inVex.has(k.split(' ')[1] ?? '')));
  });
});
