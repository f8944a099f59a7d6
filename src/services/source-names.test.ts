import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { hasTool } from '../../test/rpm-tools.js';
import { fixedIn, testAdvisory } from '../../test/advisory-fixture.js';
import type { Advisory } from '../core/advisory.js';
import { upsertAdvisories } from '../storage/index.js';
import { importInventoryFile } from './inventory.js';
import { addRepo, syncRepo } from './repos.js';
import { scanTarget } from './scan.js';
import type { Db } from './store.js';

/** An advisory naming source package `source`, fixed in `fixed` (as Azure Linux's OVAL does). */
function sourceAdvisory(id: string, source: string, fixed: string): Advisory {
  return testAdvisory({ source: 'test-oval', id, kind: 'security', severity: 'critical', fixes: [fixedIn('azurelinux:3.0', source, fixed)] });
}

const now = '2026-12-06T00:00:00.000Z';

describe.each(testDatabases())('source names of stored inventories on $name (issue #13)', ({ open }) => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-sources-'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('learns binary → source from an rpm -qa import and resolves a later manifest of the release with it', async () => {
    await upsertAdvisories(db, [sourceAdvisory('ADV-1', 'bw-agent', '0:2.0-1.azl3')], now);
    const manifest = join(dir, 'm.txt');
    writeFileSync(manifest, 'bw-agent-libs-1.0-1.azl3.x86_64.rpm\nbash-5.2.15-3.azl3.x86_64.rpm\n');
    // Before anything was learned: bw-agent-libs is tried as its own source and matches nothing.
    const before = await importInventoryFile(db, { file: manifest, name: 'm-before' });
    expect(before.sources).toEqual({ given: 0, repository: 0, learned: 0, shipped: 1, assumed: 1 });
    expect((await scanTarget(db, 'm-before')).active).toEqual([]);

    const qa = join(dir, 'qa.tsv');
    writeFileSync(qa, 'bw-agent-libs\t0\t1.0\t1.azl3\tx86_64\tbw-agent-1.0-1.azl3.src.rpm\n');
    const host = await importInventoryFile(db, { file: qa, name: 'host-1' });
    expect(host.sources).toEqual({ given: 1, repository: 0, learned: 0, shipped: 0, assumed: 0 });
    // One target's word is not enough to resolve the others (it may be wrong or hostile).
    expect((await importInventoryFile(db, { file: manifest, name: 'm-one' })).sources.learned).toBe(0);
    // The same report again writes nothing new and is still one target's word.
    await importInventoryFile(db, { file: qa, name: 'host-1' });
    expect((await importInventoryFile(db, { file: manifest, name: 'm-one' })).sources.learned).toBe(0);
    await importInventoryFile(db, { file: qa, name: 'host-2' });

    const after = await importInventoryFile(db, { file: manifest, name: 'm-after' });
    expect(after.sources).toEqual({ given: 0, repository: 0, learned: 1, shipped: 1, assumed: 0 });
    const scan = await scanTarget(db, 'm-after');
    expect(scan.active.map((f) => [f.advisoryId, f.package, f.reason])).toEqual([['ADV-1', 'bw-agent-libs', null]]);
    // A target that says otherwise disputes the name: nothing is learned until its claim or the
    // others' change, and the binary's own name is tried (and the finding says so).
    writeFileSync(qa, 'bw-agent-libs\t0\t1.1\t1.azl3\tx86_64\tbw-agent2-1.1-1.azl3.src.rpm\n');
    await importInventoryFile(db, { file: qa, name: 'host-3' });
    expect((await importInventoryFile(db, { file: manifest, name: 'm-later' })).sources.assumed).toBe(1);
    expect((await scanTarget(db, 'm-later')).active).toEqual([]);
    // A target's later report replaces its own claim: host-3 updated back agrees again.
    writeFileSync(qa, 'bw-agent-libs\t0\t1.0\t1.azl3\tx86_64\tbw-agent-1.0-1.azl3.src.rpm\n');
    await importInventoryFile(db, { file: qa, name: 'host-3' });
    expect((await importInventoryFile(db, { file: manifest, name: 'm-later' })).sources.learned).toBe(1);
  });

  // The same attack where no shipped map speaks: a binary of a release Bulwark ships no map for.
  it('does not let one inventory resolve a release without a shipped map for other hosts', async () => {
    const fixes = (source: string): Advisory => ({
      ...sourceAdvisory('ADV-F', source, '0:3.2.0-1.fc43'),
      fixes: [
        {
          release: 'fedora:43',
          package: source,
          packageKind: 'source',
          arch: null,
          status: 'fixed',
          fixed: '0:3.2.0-1.fc43',
          lastAffected: null,
          introduced: null,
        },
      ],
    });
    await upsertAdvisories(db, [fixes('openssl')], now);
    const sbom = join(dir, 'sbom.json');
    writeFileSync(sbom, JSON.stringify({ bomFormat: 'CycloneDX', components: [{ name: 'openssl', purl: 'pkg:rpm/fedora/openssl@3.1.0-1.fc43?arch=x86_64' }] }));
    const evil = join(dir, 'evil.tsv');
    writeFileSync(evil, 'openssl\t0\t3.1.0\t1.fc43\tx86_64\tzzz-1-1.fc43.src.rpm\n');
    await importInventoryFile(db, { file: evil, name: 'evil', release: 'fedora:43' });
    const r = await importInventoryFile(db, { file: sbom, name: 'web-01', release: 'fedora:43' });
    expect(r.sources).toEqual({ given: 0, repository: 0, learned: 0, shipped: 0, assumed: 1 });
    expect((await scanTarget(db, 'web-01')).active.map((f) => f.advisoryId)).toEqual(['ADV-F']);
  });

  // One bad inventory (an agent report, an import) saying expat is built from "zzz" made every
  // later manifest or SBOM of the release resolve expat to zzz: other hosts' expat findings were
  // closed as fixed at their next scan, without a word.
  it('does not let one inventory overrule the shipped map for other hosts', async () => {
    await upsertAdvisories(db, [sourceAdvisory('ADV-3', 'expat', '0:2.6.3-1.azl3')], now);
    const manifest = join(dir, 'm.txt');
    writeFileSync(manifest, 'expat-2.6.2-1.azl3.x86_64.rpm\n');
    await importInventoryFile(db, { file: manifest, name: 'web-01' });
    expect((await scanTarget(db, 'web-01')).active.map((f) => f.advisoryId)).toEqual(['ADV-3']);

    const evil = join(dir, 'evil.tsv');
    writeFileSync(evil, 'expat\t0\t2.6.2\t1.azl3\tx86_64\tzzz-1-1.azl3.src.rpm\n');
    await importInventoryFile(db, { file: evil, name: 'evil' });
    // The reporting host's own word stands for its own packages.
    expect((await scanTarget(db, 'evil')).active).toEqual([]);

    const again = await importInventoryFile(db, { file: manifest, name: 'web-01' });
    expect(again.sources).toEqual({ given: 0, repository: 0, learned: 0, shipped: 1, assumed: 0 });
    const scan = await scanTarget(db, 'web-01');
    expect(scan.active.map((f) => f.advisoryId)).toEqual(['ADV-3']);
    expect(scan.counts.closed).toBe(0);
  });

  it('says on the finding when the source name was assumed', async () => {
    await upsertAdvisories(db, [sourceAdvisory('ADV-2', 'bw-tool', '0:2.0-1.azl3')], now);
    const manifest = join(dir, 'm.txt');
    writeFileSync(manifest, 'bw-tool-1.0-1.azl3.x86_64.rpm\n');
    const r = await importInventoryFile(db, { file: manifest, name: 'm' });
    expect(r.sources.assumed).toBe(1);
    const scan = await scanTarget(db, 'm');
    expect(scan.active.map((f) => [f.advisoryId, f.package])).toEqual([['ADV-2', 'bw-tool']]);
    expect(scan.active[0]?.reason).toMatch(/^source package assumed to be bw-tool/);
  });
});

// A snapshotted repository's primary.xml names each build's source rpm (rpm:sourcerpm): a real
// repository made by rpmbuild and createrepo_c, whose sub-package is named unlike its source.
const canBuild = hasTool('rpmbuild') && hasTool('createrepo_c');
if (!canBuild && process.env['CI'] !== undefined) throw new Error('rpmbuild and createrepo_c are needed (Debian packages rpm, createrepo-c)');
describe.skipIf(!canBuild)('source names from a snapshotted repository (real rpmbuild, createrepo_c)', () => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await testDatabases()[0]!.open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-repo-sources-'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves the exact build a repository lists, before anything learned or shipped', async () => {
    const specs = join(dir, 'specs');
    mkdirSync(specs, { recursive: true });
    // `bw-runtime` is built by spec `bw-vendor`; the manifest names only the binary.
    writeFileSync(
      join(specs, 'bw-vendor.spec'),
      [
        'Name: bw-vendor',
        'Version: 1.0',
        'Release: 1.azl3',
        'Summary: s',
        'License: MIT',
        'BuildArch: noarch',
        '%description',
        'd',
        '%package -n bw-runtime',
        'Summary: r',
        '%description -n bw-runtime',
        'r',
        '%files',
        '%files -n bw-runtime',
        '',
      ].join('\n'),
    );
    execFileSync(
      'rpmbuild',
      ['-bb', '--define', `_topdir ${join(dir, 'build')}`, '--define', `_rpmdir ${join(dir, 'repo')}`, '--quiet', join(specs, 'bw-vendor.spec')],
      { stdio: 'pipe' },
    );
    execFileSync('createrepo_c', ['--quiet', join(dir, 'repo')]);
    await addRepo(db, { id: 'lab', url: join(dir, 'repo'), keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    await syncRepo(db, 'lab', { objectsDir: join(dir, 'objects') });
    await upsertAdvisories(db, [sourceAdvisory('ADV-3', 'bw-vendor', '0:1.0-2.azl3')], now);
    const manifest = join(dir, 'm.txt');
    // The same build, and another release of it the repository does not list.
    writeFileSync(manifest, 'bw-runtime-1.0-1.azl3.noarch.rpm\n');
    const r = await importInventoryFile(db, { file: manifest, name: 'm' });
    expect(r.sources).toEqual({ given: 0, repository: 1, learned: 0, shipped: 0, assumed: 0 });
    expect((await scanTarget(db, 'm')).active.map((f) => [f.advisoryId, f.package, f.reason])).toEqual([['ADV-3', 'bw-runtime', null]]);
    writeFileSync(manifest, 'bw-runtime-1.0-0.azl3.noarch.rpm\n');
    expect((await importInventoryFile(db, { file: manifest, name: 'm2' })).sources.assumed).toBe(1);
  });
});
