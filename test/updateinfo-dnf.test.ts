import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareRpmEvr } from '../src/core/version/rpm.js';
import { RPM_QA_ARGV } from '../src/inventory/rpm-qa.js';
import { runCli } from './cli.js';
import { needs } from './reference-tools.js';
import { buildRpmRoot, type DummyRpm } from './rpm-tools.js';
import { SHARED_DATA } from './shared-data.js';
import { rng } from './random.js';

/**
 * Issue #13: Bulwark's product path for updateinfo feeds (`bulwark scan --inventory <rpm -qa of
 * the root> --feed <the repository's updateinfo.xml.gz>`, the CLI in process) lists the same
 * (advisory, installed package) pairs as dnf 4's `dnf updateinfo list` on the same rpm database.
 *
 * Advisories are random but real: each names a real Azure Linux 3.0 source package at its real
 * EVR (../shared/data/azurelinux/derived/…-source-packages.tsv) and some of its real binaries,
 * often with the source's `arch="src"` entry beside them, some advisories fixing one source twice
 * at later releases. They are written as updateinfo.xml into a repository with the real
 * createrepo_c and modifyrepo_c. The installroot's rpm database (real rpmbuild and rpm, each
 * binary built from its source, so %{SOURCERPM} is right) holds binaries just below, at and above
 * the fixed builds, with other epochs, sub-packages that carry their own version (perl-Carp
 * beside perl) and binaries the advisory does not list.
 *
 * Not among the cases, each a documented difference: two installed versions of one name (dnf
 * lists advisories for the newest only); an installed noarch package whose advisory lists it for
 * a machine arch (Bulwark's matcher lets a noarch package match any fix arch, dnf wants the same
 * arch); the running kernel (dnf adds it from the machine it runs on).
 *
 * Replay with BULWARK_DNF_SEED=<seed>.
 */
const TSV = join(SHARED_DATA, 'azurelinux', 'derived', 'azurelinux-3.0.20260429-source-packages.tsv');
const need = needs({ tools: ['rpm', 'rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf'], paths: [TSV] });
const INVENTORIES = Number(process.env['BULWARK_DNF_INVENTORIES'] ?? 3);
const ADVISORIES = 80;
const RPM_CHARS = /^[A-Za-z0-9._+~^]+$/;

interface Source {
  name: string;
  epoch: number | undefined;
  version: string;
  release: string;
  binaries: string[];
}

function sources(): Source[] {
  const out: Source[] = [];
  for (const line of readFileSync(TSV, 'utf8').split('\n')) {
    if (line.startsWith('#') || line.startsWith('spec_path') || line.trim() === '') continue;
    const [, name = '', epoch = '', version = '', release = '', unresolved = '1', bins = ''] = line.split('\t');
    if (unresolved !== '0' || !RPM_CHARS.test(version) || !RPM_CHARS.test(release) || /^kernel/.test(name)) continue;
    const binaries = bins.split(',').filter((b) => /^[A-Za-z0-9._+-]+$/.test(b) && !/^kernel/.test(b));
    if (binaries.length === 0) continue;
    out.push({ name, epoch: epoch === '' ? undefined : Number(epoch), version, release, binaries });
  }
  return out;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A release one step below (null when it cannot go lower) or above. */
function step(release: string, dir: -1 | 1): string | null {
  if (dir === 1) return `${release}.1`;
  const m = /^(\d+)(.*)$/.exec(release);
  if (m?.[1] === undefined || Number(m[1]) === 0) return null;
  return `${String(Number(m[1]) - 1)}${m[2] ?? ''}`;
}

/** `dnf updateinfo list` on the root: `ID name.arch` per line (the advisory package's name and arch). */
function dnfList(root: string, repo: string, cache: string, names: ReadonlySet<string>): Set<string> {
  const out = execFileSync(
    'dnf',
    [
      '-q',
      '-y',
      `--installroot=${root}`,
      '--releasever=3.0',
      '--disablerepo=*',
      `--repofrompath=local,file://${repo}`,
      '--enablerepo=local',
      '--nogpgcheck',
      '--setopt=reposdir=/nonexistent',
      `--setopt=cachedir=${cache}`,
      '--setopt=install_weak_deps=False',
      'updateinfo',
      'list',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pairs = new Set<string>();
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 3) continue;
    const id = cols[0] ?? '';
    const nevra = cols[cols.length - 1] ?? '';
    const arch = nevra.slice(nevra.lastIndexOf('.') + 1);
    // name-[epoch:]version-release.arch: the name is the longest installed name followed by "-".
    const rest = nevra.slice(0, nevra.lastIndexOf('.'));
    const name = [...names].filter((n) => rest.startsWith(`${n}-`)).sort((a, b) => b.length - a.length)[0];
    if (name === undefined) throw new Error(`dnf listed ${nevra}, which names no installed package`);
    pairs.add(`${id} ${name}.${arch}`);
  }
  return pairs;
}

describe.skipIf(need.skip)('updateinfo: bulwark scan lists what dnf updateinfo list lists (real dnf, createrepo_c, modifyrepo_c, rpm)', () => {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-dnf-'));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('agrees on random real advisories and rpm databases built around their fixed versions', async () => {
    need.check();
    const all = sources();
    const withEpoch = all.filter((x) => x.epoch !== undefined && x.epoch > 0);
    expect(all.length).toBeGreaterThan(500);
    expect(withEpoch.length).toBeGreaterThan(5);
    const seed = Number(process.env['BULWARK_DNF_SEED'] ?? Date.now() % 100000);
    const tally: Record<string, number> = {};
    const count = (k: string): void => {
      tally[k] = (tally[k] ?? 0) + 1;
    };
    for (let n = 0; n < INVENTORIES; n++) {
      const rand = rng(seed + n);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const dir = join(work, String(n));
      const repo = join(dir, 'repo');
      mkdirSync(repo, { recursive: true });
      const updates: string[] = [];
      const installed = new Map<string, DummyRpm>();
      const archOf = new Map<string, string>();
      const used = new Set<string>();
      for (let a = 0; a < ADVISORIES; a++) {
        // Sources with an epoch are rare; a share of the advisories is about them.
        const pool = rand() < 0.2 ? withEpoch : all;
        let src = pick(pool);
        while (used.has(src.name)) src = pick(all);
        used.add(src.name);
        // Some sources are fixed twice, at a later release: two advisories, two fixed builds.
        const fixes = rand() < 0.2 ? [src.release, `${src.release}.1`] : [src.release];
        const bins = src.binaries.slice(0, 6);
        for (const b of bins) archOf.set(b, archOf.get(b) ?? (rand() < 0.3 ? 'noarch' : 'x86_64'));
        fixes.forEach((release, k) => {
          const id = `AZL-${String(n)}-${String(a)}-${String(k)}`;
          const listed = bins.filter(() => rand() < 0.7);
          if (listed.length === 0 && bins[0] !== undefined) listed.push(bins[0]);
          const pk = (name: string, arch: string): string =>
            // A missing epoch attribute means 0 (createrepo_c omits none; hand-written files do).
            `<package name="${esc(name)}"${src.epoch === undefined && rand() < 0.5 ? '' : ` epoch="${String(src.epoch ?? 0)}"`} version="${esc(src.version)}" release="${esc(release)}" arch="${arch}" src="${esc(src.name)}-${esc(src.version)}-${esc(release)}.src.rpm"><filename>${esc(name)}-${esc(src.version)}-${esc(release)}.${arch}.rpm</filename></package>`;
          const entries = [...(rand() < 0.6 ? [pk(src.name, 'src')] : []), ...listed.map((b) => pk(b, archOf.get(b) ?? 'x86_64'))];
          // Other machine arches of a listed x86_64 binary, which no installed package has.
          if (rand() < 0.2) for (const b of listed.filter((x) => archOf.get(x) === 'x86_64')) entries.push(pk(b, 'aarch64'));
          if (entries.some((e) => e.includes('arch="src"'))) count('advisories with an arch="src" entry');
          const type = pick(['security', 'security', 'bugfix', 'enhancement']);
          updates.push(
            `<update from="azurelinux@microsoft.com" status="final" type="${type}" version="2"><id>${id}</id><title>${esc(src.name)} update</title><severity>${pick(['Critical', 'Important', 'Moderate', 'Low'])}</severity><issued date="2025-0${String(1 + k)}-01 00:00:00"/><references><reference href="https://nvd.nist.gov/vuln/detail/CVE-2025-${String(10000 + a)}" id="CVE-2025-${String(10000 + a)}" type="cve"/></references><description>t</description><pkglist><collection short="azl3"><name>Azure Linux 3.0</name>${entries.join('')}</collection></pkglist></update>`,
          );
        });
        // The installed binaries of this source, around its first fixed build.
        for (const b of bins) {
          if (rand() < 0.25) continue;
          const arch = archOf.get(b) ?? 'x86_64';
          const where = pick(['below', 'at', 'above', 'epoch-up', 'epoch-down', 'own-version'] as const);
          let p: DummyRpm = {
            name: b,
            version: src.version,
            release: src.release,
            arch,
            source: src.name,
            ...(src.epoch !== undefined ? { epoch: src.epoch } : {}),
          };
          if (where === 'below') {
            const r = step(src.release, -1);
            if (r === null) continue;
            p = { ...p, release: r };
          } else if (where === 'above') p = { ...p, release: step(src.release, 1) ?? src.release };
          else if (where === 'epoch-up') p = { ...p, epoch: (src.epoch ?? 0) + 1, release: step(src.release, -1) ?? src.release };
          else if (where === 'epoch-down') {
            if ((src.epoch ?? 0) === 0) continue;
            p = { ...p, epoch: (src.epoch ?? 0) - 1, release: step(src.release, 1) ?? src.release };
          } else if (where === 'own-version') {
            // A sub-package with a version of its own (perl-Carp 1.54 built from perl 5.38.2).
            p = { ...p, version: rand() < 0.5 ? '0.1' : '999.1', ...(rand() < 0.5 ? { epoch: src.epoch ?? 0 } : {}) };
          }
          count(`installed ${where}`);
          const fixed = `${String(src.epoch ?? 0)}:${src.version}-${src.release}`;
          const mine = `${String(p.epoch ?? 0)}:${p.version}-${p.release}`;
          count(`installed ${compareRpmEvr(mine, fixed) < 0 ? 'lower than' : compareRpmEvr(mine, fixed) === 0 ? 'equal to' : 'higher than'} the first fix`);
          installed.set(b, p);
        }
      }
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n${updates.join('\n')}\n</updates>\n`;
      writeFileSync(join(dir, 'updateinfo.xml'), xml);
      execFileSync('createrepo_c', ['-q', repo], { stdio: 'pipe' });
      execFileSync('modifyrepo_c', ['--mdtype=updateinfo', join(dir, 'updateinfo.xml'), join(repo, 'repodata')], { stdio: 'pipe' });
      const feed = join(repo, 'repodata', readdirSync(join(repo, 'repodata')).find((f) => f.endsWith('updateinfo.xml.gz')) ?? 'missing');
      const root = buildRpmRoot(join(dir, 'build'), join(dir, 'root'), [...installed.values()]);
      const inventory = join(dir, 'rpm-qa.tsv');
      writeFileSync(inventory, execFileSync(RPM_QA_ARGV[0] ?? 'rpm', ['--root', root, ...RPM_QA_ARGV.slice(1)], { maxBuffer: 1 << 26 }));
      const qa = readFileSync(inventory, 'utf8').trim().split('\n');
      expect(qa).toHaveLength(installed.size);
      // Each binary carries its real source name (the perl-Carp case needs it).
      expect(qa.filter((l) => !(l.split('\t')[5] ?? '').startsWith(`${installed.get(l.split('\t')[0] ?? '')?.source ?? '?'}-`))).toEqual([]);

      const theirs = dnfList(root, repo, join(dir, 'cache'), new Set(installed.keys()));
      const r = await runCli(['scan', '--inventory', inventory, '--feed', feed, '--release', 'azurelinux:3.0', '--format', 'json']);
      expect(r.err).toBe('');
      const ours = new Set(
        (JSON.parse(r.out) as { findings: { advisory: string; package: string; arch: string | null }[] }).findings.map(
          (f) => `${f.advisory} ${f.package}.${f.arch ?? '?'}`,
        ),
      );
      const differences = [...new Set([...ours, ...theirs])]
        .filter((k) => ours.has(k) !== theirs.has(k))
        .map((k) => `${k}: bulwark ${ours.has(k) ? 'lists' : 'does not list'}, dnf ${theirs.has(k) ? 'lists' : 'does not list'}`);
      expect({ seed: seed + n, differences: differences.slice(0, 20) }).toEqual({ seed: seed + n, differences: [] });
      count('inventories');
      tally['installed packages'] = (tally['installed packages'] ?? 0) + installed.size;
      tally['advisories'] = (tally['advisories'] ?? 0) + updates.length;
      tally['pairs dnf lists'] = (tally['pairs dnf lists'] ?? 0) + theirs.size;
    }
    console.log('dnf updateinfo differential', JSON.stringify({ seed, ...tally }));
    expect(tally['pairs dnf lists'] ?? 0).toBeGreaterThan(10);
    for (const k of [
      'installed below',
      'installed at',
      'installed above',
      'installed epoch-up',
      'installed epoch-down',
      'installed own-version',
      'advisories with an arch="src" entry',
    ])
      expect(tally[k] ?? 0).toBeGreaterThan(0);
  });
});
