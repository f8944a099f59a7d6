import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildAptArchive } from '../../test/apt-archive.js';
import { runCli } from '../../test/cli.js';
import { buildRpmRoot } from '../../test/rpm-tools.js';
import { buildRepo } from '../../test/ssh-fleet.js';
import { startServer } from '../api/server.js';
import { parseInventory } from '../inventory/imports.js';
import { promoteView, publishView, viewVersions } from './content-views.js';
import { ingestFile } from './feeds.js';
import { leaseHolder, rawKysely } from '../storage/index.js';
import { buildImage, IMAGE_LEASE_TTL_MS, imageBuilds, imageParity } from './images.js';
import { importRootInventory, importRpmQaFile } from './inventory.js';
import { addRepo, syncRepo } from './repos.js';
import { openStore, type Db } from './store.js';
import { createToken } from './tokens.js';
import { requires, tools } from '../../test/needs.js';

/**
 * Images on real parts (issue #7): a content view published from an rpm repository made by
 * rpmbuild + createrepo_c; images built from it with the real dnf --installroot; the OCI layout
 * read by skopeo and unpacked by umoci; the WSL tarball unpacked by GNU tar and its package
 * database read by the real rpm; the CycloneDX SBOM checked against the official 1.6 schema.
 */
const needs = requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'skopeo', 'umoci', 'tar', 'sqlite3'));

// The database where Azure Linux 3.0's own rpm looks for it (not where this machine's rpm would).
const rpmQa = (root: string, dbpath = '/var/lib/rpm'): string[] =>
  execFileSync('rpm', ['--root', root, '--dbpath', dbpath, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .sort();
const rpmDbFiles = (root: string): string[] =>
  execFileSync('find', [root, '-name', 'rpmdb.sqlite'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((f) => f.slice(root.length))
    .sort();

needs.describe('images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-images-'));
  const objectsDir = join(dir, 'objects');
  const imagesDir = join(dir, 'images');
  let db: Db;

  beforeAll(async () => {
    const up = join(dir, 'up');
    const repo = buildRepo(
      up,
      [
        { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
        { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
        { name: 'bw-tzdata', version: '2026a', release: '1.azl3' },
        { name: 'bw-agent', version: '1.1', release: '1.azl3' },
        // The building machine's /etc/dnf/protected.d names yum: an image may remove it all the same.
        { name: 'yum', version: '4.14.0', release: '1.azl3' },
      ],
      [
        {
          id: 'ADV-SSL',
          severity: 'Critical',
          issued: new Date('2026-11-20T00:00:00Z'),
          cves: ['CVE-2026-1001'],
          packages: [{ name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' }],
        },
      ],
    );
    db = await openStore({ dbPath: join(dir, 'i.db') });
    await ingestFile(db, { id: 'lab-updateinfo', format: 'updateinfo', release: 'azurelinux:3.0' }, join(up, 'updateinfo.xml'));
    await addRepo(db, { id: 'upstream', url: repo, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    await syncRepo(db, 'upstream', { objectsDir });
    // The lab holds openssl at 3.3.0 (older than the ADV-SSL fix), so images carry a finding.
    const view = join(dir, 'view.yaml');
    writeFileSync(
      view,
      'apiVersion: bulwark/v1\nkind: ContentView\nname: lab\nsources: [{ repo: upstream }]\nexclude: [{ package: bw-agent, reason: "not on servers" }]\npins: [{ package: bw-openssl, version: "3.3.0-*", reason: "ABI freeze" }]\n',
    );
    await publishView(db, view, { objectsDir, publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'test' } });
    await promoteView(db, { view: 'lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } });
  }, 240_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a container image as an OCI layout that skopeo reads and umoci unpacks, with exactly the defined packages', async () => {
    const def = join(dir, 'container.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-base\ntype: container\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-openssl, bw-curl]\ncontainer: { tag: v1, env: { LANG: C.UTF-8 }, labels: { team: platform } }\n',
    );
    const r = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    expect([r.image, r.build, r.type, r.target, r.packages]).toEqual(['lab-base', 1, 'container', 'lab-base@1', 2]);

    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${r.artifact}:v1`], { encoding: 'utf8' })) as {
      Digest: string;
      Architecture: string;
      Os: string;
      Env: string[];
      Labels: Record<string, string>;
      Layers: string[];
    };
    expect(inspect.Digest).toBe(r.digest);
    expect(inspect.Os).toBe('linux');
    expect(inspect.Env).toContain('LANG=C.UTF-8');
    expect(inspect.Labels).toEqual({ team: 'platform' });
    expect(inspect.Layers).toHaveLength(1);
    // skopeo re-hashes every blob when it copies: a wrong digest or size in the layout fails here.
    execFileSync('skopeo', ['copy', '--quiet', `oci:${r.artifact}:v1`, `oci:${join(dir, 'copied')}:v1`]);

    const bundle = join(dir, 'bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${r.artifact}:v1`, bundle], { stdio: 'pipe' });
    expect(rpmQa(join(bundle, 'rootfs'))).toEqual(['bw-curl-0:8.11.1-3.azl3.noarch', 'bw-openssl-1:3.3.0-2.azl3.noarch']);
    // The layer holds nothing of the build's work directory (dnf puts its cachedir and logdir inside the root).
    expect(execFileSync('find', [join(bundle, 'rootfs'), '-name', '.work-*'], { encoding: 'utf8' })).toBe('');

    // Scanned like a host: the pinned openssl is older than the ADV-SSL fix.
    expect(r.findings.opened).toBe(1);
    expect((await imageBuilds(db, 'lab-base'))[0]).toMatchObject({ build: 1, view: 'lab', viewVersion: 1, digest: r.digest, packages: 2 });
  }, 120_000);

  it('builds a WSL tarball whose rpm database lists exactly the defined packages (own and from a package list)', async () => {
    writeFileSync(join(dir, 'dev-tools.json'), JSON.stringify({ packages: ['bw-tzdata', 'bw-openssl'] }));
    const def = join(dir, 'wsl.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-wsl\ntype: wsl\nrelease: azurelinux:3.0\nfrom: { view: lab, version: 1 }\npackages: [bw-curl]\npackageLists: [dev-tools.json]\nwsl: { defaultName: LabLinux }\n',
    );
    const r = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    expect(r.artifact).toMatch(/lab-wsl-1\.wsl$/);
    const root = join(dir, 'wsl-root');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', r.artifact, '-C', root]);
    expect(rpmQa(root)).toEqual(['bw-curl-0:8.11.1-3.azl3.noarch', 'bw-openssl-1:3.3.0-2.azl3.noarch', 'bw-tzdata-0:2026a-1.azl3.noarch']);
    // One database, where the image's rpm looks (this machine's rpm would have put it in ~/.rpmdb).
    expect(rpmDbFiles(root)).toEqual(['/var/lib/rpm/rpmdb.sqlite']);
    expect(readFileSync(join(root, 'etc', 'wsl-distribution.conf'), 'utf8')).toMatch(/^\[oobe\]\ndefaultName = LabLinux$/m);
    expect(readFileSync(join(root, 'etc', 'bulwark-image'), 'utf8')).toBe('image=lab-wsl\nbuild=1\nview=lab\nview_version=1\n');
    // Nothing of the builder's dnf cache or logs stays in the image, nor anything of the work directory.
    expect(existsSync(join(root, 'var', 'cache', 'dnf'))).toBe(false);
    const entries = execFileSync('tar', ['-tzf', r.artifact], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\n')
      .filter((l) => l !== '');
    expect(entries).toContain('./var/lib/rpm/rpmdb.sqlite');
    // Nor rpm's lock and write-ahead files: the builder's last rpm call, not the image (issue #21, item 8).
    expect(entries.filter((e) => /(\.rpm\.lock|\.dbenv\.lock|rpmdb\.sqlite-(shm|wal))$/.test(e))).toEqual([]);
    expect(
      entries.filter(
        (e) =>
          e.includes('.work-') ||
          e.startsWith(`.${imagesDir}`) ||
          /(^|\/)(dnf(\.librepo|\.rpm)?\.log|hawkey\.log)$/.test(e) ||
          e.startsWith('./var/cache/dnf/') ||
          e.startsWith('./var/lib/dnf/'),
      ),
    ).toEqual([]);
  }, 120_000);

  it("building the same definition again from the same view version gives the same digest (issue #21): times are the view version's, the stamp names the first build", async () => {
    const def = join(dir, 'repro.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-repro\ntype: container\nrelease: azurelinux:3.0\nfrom: { view: lab, version: 1 }\npackages: [bw-openssl, bw-curl]\n',
    );
    const first = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    const again = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    expect([first.build, again.build]).toEqual([1, 2]);
    expect(again.digest).toBe(first.digest);
    // A WSL tarball built twice: the same gzip bytes.
    const wslDef = join(dir, 'repro-wsl.yaml');
    writeFileSync(
      wslDef,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-repro-wsl\ntype: wsl\nrelease: azurelinux:3.0\nfrom: { view: lab, version: 1 }\npackages: [bw-curl, bw-tzdata]\n',
    );
    const wsl1 = await buildImage(db, wslDef, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    const wsl = await buildImage(db, wslDef, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    expect([wsl.build, wsl.digest]).toEqual([2, wsl1.digest]);
    const root = join(dir, 'repro-root');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', wsl.artifact, '-C', root]);
    expect(readFileSync(join(root, 'etc', 'bulwark-image'), 'utf8')).toBe('image=lab-repro-wsl\nbuild=1\nview=lab\nview_version=1\n');
    // rpm took SOURCE_DATE_EPOCH (the view version's time) as the transaction id, and counts the
    // install times up from it, one second a package, in install order.
    const published = Math.floor(Date.parse((await viewVersions(db, 'lab'))[0]?.createdAt ?? '') / 1000);
    const times = execFileSync('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{INSTALLTIME} %{INSTALLTID}\\n'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(times.map((t) => t.split(' ').map((n) => Number(n) - published)).sort()).toEqual([
      [0, 0],
      [1, 0],
    ]);
    // Other inputs (a changed package set), another image.
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-repro\ntype: container\nrelease: azurelinux:3.0\nfrom: { view: lab, version: 1 }\npackages: [bw-openssl]\n',
    );
    const other = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    expect(other.build).toBe(3);
    expect(other.digest).not.toBe(first.digest);
  }, 240_000);

  it('writes SBOMs that the CycloneDX 1.6 schema accepts and that read back as the image inventory', async () => {
    const b = (await imageBuilds(db, 'lab-wsl'))[0];
    if (b === undefined) throw new Error('no build');
    const cdxText = readFileSync(join(b.dir, 'sbom.cdx.json'), 'utf8');
    const require = createRequire(import.meta.url);
    const CDX = require('@cyclonedx/cyclonedx-library') as {
      Validation: { JsonStrictValidator: new (v: unknown) => { validate(s: string): Promise<unknown> } };
      Spec: { Version: { v1dot6: unknown } };
    };
    const errors = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(cdxText);
    expect(errors).toBeNull();
    // The validator is real: a component type the schema does not know is refused.
    const broken = JSON.parse(cdxText) as { components: { type: string }[] };
    (broken.components[0] ?? { type: '' }).type = 'gadget';
    expect(await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(JSON.stringify(broken))).not.toBeNull();

    const spdx = JSON.parse(readFileSync(join(b.dir, 'sbom.spdx.json'), 'utf8')) as {
      spdxVersion: string;
      dataLicense: string;
      packages: { SPDXID: string }[];
      relationships: { relationshipType: string }[];
    };
    expect([spdx.spdxVersion, spdx.dataLicense]).toEqual(['SPDX-2.3', 'CC0-1.0']);
    expect(new Set(spdx.packages.map((p) => p.SPDXID)).size).toBe(spdx.packages.length);
    expect(spdx.relationships.filter((r) => r.relationshipType === 'CONTAINS')).toHaveLength(3);

    // Both SBOMs read back (by Bulwark's own import) as the packages the real rpm lists, epochs and source rpms included.
    const root = join(dir, 'wsl-root');
    const truth = execFileSync(
      'rpm',
      ['--root', root, '--dbpath', '/var/lib/rpm', '-qa', '--qf', '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\\n'],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .sort();
    for (const file of ['sbom.cdx.json', 'sbom.spdx.json']) {
      const inv = parseInventory(readFileSync(join(b.dir, file), 'utf8'), file);
      const got = inv.packages.map((p) => `${p.name} ${String(p.epoch ?? 0)}:${p.version}-${p.release ?? ''} ${p.arch} ${p.sourceName ?? ''}`).sort();
      expect(got).toEqual(truth.map((l) => l.replace(/ (\S+)-[^-]+-[^-]+\.src\.rpm$/, ' $1')));
    }
  });

  it('an Azure Linux 4.0 image keeps its database where rpm 6 looks for it, /usr/lib/sysimage/rpm', async () => {
    const def = join(dir, 'azl4.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-azl4\ntype: wsl\nrelease: azurelinux:4.0\nfrom: { view: lab, environment: prod }\npackages: [bw-curl]\n',
    );
    const r = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    const root = join(dir, 'azl4-root');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', r.artifact, '-C', root]);
    expect(rpmDbFiles(root)).toEqual(['/usr/lib/sysimage/rpm/rpmdb.sqlite']);
    expect(rpmQa(root, '/usr/lib/sysimage/rpm')).toEqual(['bw-curl-0:8.11.1-3.azl3.noarch']);
    expect(readlinkSync(join(root, 'var', 'lib', 'rpm'))).toBe('../../usr/lib/sysimage/rpm');
  }, 120_000);

  it('removes what remove: names, even a package the building machine protects (its /etc/dnf is not read); a name the image lacks stops the build', async () => {
    const def = join(dir, 'slim.yaml');
    const head =
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-slim\ntype: wsl\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-curl, bw-tzdata, yum]\n';
    writeFileSync(def, `${head}remove: [yum, bw-tzdata]\n`);
    const r = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    const root = join(dir, 'slim-root');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', r.artifact, '-C', root]);
    expect(rpmQa(root)).toEqual(['bw-curl-0:8.11.1-3.azl3.noarch']);
    // dnf remove passes over a name that matches nothing; the build does not.
    writeFileSync(def, `${head}remove: [bw-tzdata, bw-nosuch, bw-curll]\n`);
    await expect(buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /slim\.yaml: image lab-slim: remove: bw-nosuch, bw-curll not in the image/,
    );
    expect((await imageBuilds(db, 'lab-slim')).map((b) => b.build)).toEqual([1]);
  }, 120_000);

  it('a distroless image has no package database, yet its SBOM and its scan know every package', async () => {
    const def = join(dir, 'distroless.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-distroless\ntype: container\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-openssl]\nremoveRpmDb: true\n',
    );
    const r = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
    const bundle = join(dir, 'distroless');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${r.artifact}:1`, bundle], { stdio: 'pipe' });
    expect(rpmDbFiles(join(bundle, 'rootfs'))).toEqual([]);
    expect(parseInventory(readFileSync(join(r.dir, 'sbom.cdx.json'), 'utf8'), 'sbom').packages.map((p) => p.name)).toEqual(['bw-openssl']);
    expect(r.findings.opened).toBe(1);
  }, 120_000);

  it('the parity report shows how an image, a host built from it and a developer WSL image differ', async () => {
    // The host was patched in place since (openssl 3.3.5) and has an extra package.
    const hostRoot = join(dir, 'web-1');
    buildRpmRoot(join(dir, 'web-1-build'), hostRoot, [
      { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
      { name: 'bw-agent', version: '1.1', release: '1.azl3' },
    ]);
    const qa = join(dir, 'web-1.tsv');
    writeFileSync(
      qa,
      execFileSync('rpm', ['--root', hostRoot, '-qa', '--qf', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n'], {
        encoding: 'utf8',
      }),
    );
    await importRpmQaFile(db, { name: 'web-1', release: 'azurelinux:3.0', file: qa });
    const p = await imageParity(db, { image: 'lab-base', hosts: ['web-1'], others: ['lab-wsl'] });
    expect(p.sides).toEqual(['image lab-base@1', 'web-1', 'image lab-wsl@1']);
    expect(p.rows).toEqual([
      { package: 'bw-agent', builds: [null, '0:1.1-1.azl3.noarch', null] },
      { package: 'bw-openssl', builds: ['1:3.3.0-2.azl3.noarch', '1:3.3.5-5.azl3.noarch', '1:3.3.0-2.azl3.noarch'] },
      { package: 'bw-tzdata', builds: [null, null, '0:2026a-1.azl3.noarch'] },
    ]);
    expect(p.summary).toEqual([
      { label: 'image lab-base@1', same: 2, different: 0, missing: 0, extra: 0 },
      { label: 'web-1', same: 1, different: 1, missing: 0, extra: 1 },
      { label: 'image lab-wsl@1', same: 2, different: 0, missing: 0, extra: 1 },
    ]);

    // A host made from the container image (its unpacked root) says so in /etc/bulwark-image:
    // named nowhere, it is compared all the same.
    await importRootInventory(db, { dir: join(dir, 'bundle', 'rootfs'), name: 'ctr-1', release: 'azurelinux:3.0', kind: 'host' });
    const made = await imageParity(db, { image: 'lab-base', hosts: [], others: [] });
    expect([made.sides, made.rows]).toEqual([['image lab-base@1', 'ctr-1 (from lab-base@1)'], []]);
  });

  it('the CLI builds, lists, prints SBOMs and reports parity (exit 1 on drift)', async () => {
    const db_ = join(dir, 'i.db');
    const def = join(dir, 'container.yaml');
    const built = await runCli(['--db', db_, 'image', 'build', '-f', def], { USER: 'carol' });
    expect(built.err).toBe('');
    expect(built.out).toMatch(/^lab-base build 2 \(container\) from lab version 1: 2 packages$/m);
    // The tag the layout's index has, as skopeo and podman are given it (not "<tag>").
    expect(built.out).toMatch(/^ {2}artifact (\S+)\/oci \(oci:\1\/oci:v1\)$/m);
    expect(built.out).toMatch(/scanned as lab-base@2: 1 finding/);
    const listed = await runCli(['--db', db_, 'image', 'list', 'lab-base']);
    expect(
      listed.out
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 3).join(' ')),
    ).toEqual(['lab-base 2 container', 'lab-base 1 container']);
    expect(listed.out).toContain(`cli:${userInfo().username}`);
    const spdx = await runCli(['--db', db_, 'image', 'sbom', 'lab-base', '1', '--format', 'spdx']);
    expect(JSON.parse(spdx.out) as { spdxVersion: string; name: string }).toMatchObject({ spdxVersion: 'SPDX-2.3', name: 'lab-base-1' });
    const drift = await runCli(['--db', db_, 'image', 'parity', 'lab-base', '--hosts', 'web-1', '--with', 'lab-wsl']);
    expect(drift.code).toBe(1);
    expect(drift.out).toMatch(/^bw-openssl\s+1:3\.3\.0-2\.azl3\.noarch\s+1:3\.3\.5-5\.azl3\.noarch\s+1:3\.3\.0-2\.azl3\.noarch$/m);
    expect(drift.out).toMatch(/^web-1\s+1\s+1\s+0\s+1$/m);
    const same = await runCli(['--db', db_, 'image', 'parity', 'lab-base', '--build', '2', '--with', 'lab-base@1']);
    expect([same.code, same.out]).toEqual([0, 'all 3 agree: no package differs\n']); // build 2, build 1 and ctr-1, made from build 1
  }, 120_000);

  it('the API lists images, views and repositories, gives SBOMs and parity by role, and serves /repos to dnf only with a token when asked', async () => {
    const viewer = (await createToken(db, { name: 'v', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    const operator = (await createToken(db, { name: 'o', role: 'operator', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    const admin = (await createToken(db, { name: 'a', role: 'admin', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } })).token;
    const server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'kh'),
      transport: () => {
        throw new Error('no runs here');
      },
      version: 'test',
      agentServerKey: Buffer.alloc(32),
      objectsDir,
      reposNeedToken: true,
      authFailuresPerMinute: 1000,
    });
    try {
      const api = async (method: string, path: string, token: string, body?: unknown): Promise<Response> =>
        fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      const images = (await (await api('GET', '/api/v1/images', viewer)).json()) as { items: Record<string, unknown>[] };
      expect(images.items.map((b) => `${String(b['image'])}@${String(b['build'])}`)).toEqual(
        expect.arrayContaining(['lab-base@1', 'lab-wsl@1', 'lab-distroless@1']),
      );
      expect(images.items.every((b) => !('spec' in b))).toBe(true);
      const sbom = await api('GET', '/api/v1/images/lab-wsl/builds/1/sbom?format=spdx', viewer);
      expect([sbom.status, sbom.headers.get('content-type')]).toEqual([200, 'application/spdx+json']);
      expect(((await sbom.json()) as { packages: unknown[] }).packages).toHaveLength(4);
      expect((await api('GET', '/api/v1/images/lab-wsl/builds/9/sbom', viewer)).status).toBe(404);
      const p = (await (await api('GET', '/api/v1/images/lab-base/parity?build=1&hosts=web-1&with=lab-wsl', viewer)).json()) as { rows: { package: string }[] };
      expect(p.rows.map((r) => r.package)).toEqual(['bw-agent', 'bw-openssl', 'bw-tzdata']);
      const views = (await (await api('GET', '/api/v1/views', viewer)).json()) as {
        items: { view: string; version: number; deviations: number }[];
        environments: { environment: string; version: number }[];
      };
      // excluded bw-agent, pinned-out bw-openssl 3.3.5, and ADV-SSL (its fix) withheld by that pin.
      expect(views.items).toEqual([expect.objectContaining({ view: 'lab', version: 1, deviations: 3 })]);
      expect((await api('POST', '/api/v1/views/lab/promote', operator, { environment: 'canary' })).status).toBe(403);
      expect(await (await api('POST', '/api/v1/views/lab/promote', admin, { environment: 'canary' })).json()).toEqual({ version: 1 });
      const repos = (await (await api('GET', '/api/v1/repos', viewer)).json()) as { items: { id: string; latest: { id: string } | null }[] };
      const synced = (await (await api('POST', '/api/v1/repos/upstream/sync', operator)).json()) as { snapshot: string };
      expect(synced.snapshot).toBe(repos.items[0]?.latest?.id);

      // The real dnf against /repos: refused without the token, served with it as the Basic password.
      const dnf = (env: string, extra: string[]): Promise<{ code: number; out: string }> =>
        new Promise((done) => {
          execFile(
            'dnf',
            [
              '-y',
              '--installroot',
              join(dir, `auth-${env}-${String(extra.length)}`),
              '--releasever=3.0',
              '--disablerepo=*',
              `--repofrompath=v,${server.url}/repos/lab/${env}/`,
              '--enablerepo=v',
              '--nogpgcheck',
              '--setopt=reposdir=/nonexistent',
              `--setopt=cachedir=${join(dir, `auth-cache-${String(extra.length)}`)}`,
              ...extra,
              'install',
              'bw-curl',
            ],
            (err, stdout, stderr) => {
              done({ code: err === null ? 0 : 1, out: stdout + stderr });
            },
          );
        });
      const refused = await dnf('canary', []);
      expect(refused.code).toBe(1);
      expect(refused.out).toMatch(/401/);
      expect((await dnf('canary', ['--setopt=v.username=fleet', `--setopt=v.password=${viewer}`])).code).toBe(0);
    } finally {
      await server.close();
    }
  }, 120_000);

  it('refuses a definition naming a view environment that does not exist, and keeps no build', async () => {
    const def = join(dir, 'bad.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-bad\ntype: vm\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: staging }\npackages: [bw-curl]\n',
    );
    await expect(buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /bad\.yaml: content view lab has no environment staging/,
    );
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-bad\ntype: vm\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-no-such-package]\n',
    );
    await expect(buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /bad\.yaml: image lab-bad: dnf .*failed:[\s\S]*bw-no-such-package/,
    );
    // A list's name dnf would install as a local file (outside the view) is refused, naming both files.
    writeFileSync(join(dir, 'bad-list.json'), JSON.stringify({ packages: ['bw-curl', 'bw-agent-1.1-1.azl3.noarch.rpm'] }));
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-bad\ntype: vm\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackageLists: [bad-list.json]\n',
    );
    await expect(buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /bad\.yaml: package list .*bad-list\.json: "bw-agent-1\.1-1\.azl3\.noarch\.rpm" ends in "\.rpm"/,
    );
    expect(await imageBuilds(db, 'lab-bad')).toEqual([]);
    expect(existsSync(join(imagesDir, 'lab-bad', '1'))).toBe(false);
    // Two builds of one image at once: one goes ahead, the other is refused, nothing is mixed.
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-bad\ntype: vm\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-curl]\n',
    );
    // A killed build's work directory is cleared by the next build.
    mkdirSync(join(imagesDir, 'lab-bad', '.work-7-deadbeef', 'rootfs'), { recursive: true });
    const both = await Promise.allSettled([
      buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'a' } }),
      buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'b' } }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/lab-bad is being built by another process/);
    expect((await imageBuilds(db, 'lab-bad')).map((b) => b.build)).toEqual([1]);
    expect(readdirSync(join(imagesDir, 'lab-bad'))).toEqual(['1']);
  }, 60_000);

  it('a build that hangs or is killed holds its image for the short lease only, never renewed, not for hours', async () => {
    const def = join(dir, 'hung.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: lab-hung\ntype: wsl\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-curl]\n',
    );
    // The real CLI in a process of its own, frozen (SIGSTOP) as soon as it holds the image's lease:
    // it renews nothing from then on, as a killed build.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../../test/bulwark-process.ts'), '--db', join(dir, 'i.db'), 'image', 'build', '-f', def],
      { stdio: 'ignore' },
    );
    try {
      let holder: string | null = null;
      for (const until = Date.now() + 60_000; holder === null && Date.now() < until;) {
        holder = await leaseHolder(db, 'image:lab-hung');
        if (holder === null) await sleep(5);
      }
      child.kill('SIGSTOP');
      expect(holder).toContain(`:${String(child.pid)}:`);
      const row = await rawKysely(db).selectFrom('leases').select('expires_at').where('name', '=', 'image:lab-hung').executeTakeFirstOrThrow();
      const left = new Date(row.expires_at).getTime() - Date.now();
      expect(left).toBeLessThanOrEqual(IMAGE_LEASE_TTL_MS);
      expect(IMAGE_LEASE_TTL_MS).toBeLessThanOrEqual(60_000);
      await expect(buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
        /lab-hung is being built by another process \(\S+:\d+:/,
      );
      await sleep(left + 100);
      const r = await buildImage(db, def, { imagesDir, actor: { kind: 'cli', name: 'test' } });
      expect([r.image, r.build, r.packages]).toEqual(['lab-hung', 1, 1]);
      expect(await leaseHolder(db, 'image:lab-hung')).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);

  it('says when an image is behind: its environment serves a newer version of its view than it was built from', async () => {
    const latest = (name: string) => imageBuilds(db, name).then((b) => b[0]);
    // The view published again unchanged is no new version: the image is not behind (issue #21, item 8).
    expect(
      (await publishView(db, join(dir, 'view.yaml'), { objectsDir, publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'test' } })).unchanged,
    ).toBe(true);
    expect((await latest('lab-base'))?.behind).toBeNull();
    writeFileSync(join(dir, 'view.yaml'), `${readFileSync(join(dir, 'view.yaml'), 'utf8')}description: the second version\n`);
    expect(
      (await publishView(db, join(dir, 'view.yaml'), { objectsDir, publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'test' } })).version,
    ).toBe(2);
    await promoteView(db, { view: 'lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } });
    expect((await latest('lab-base'))?.behind).toEqual({ environment: 'prod', serves: 2 });
    // Built from a fixed version, not an environment: never behind.
    expect((await latest('lab-wsl'))?.behind).toBeNull();
    // Older builds carry no verdict; the latest says it.
    expect((await imageBuilds(db, 'lab-base')).slice(1).every((b) => b.behind === null)).toBe(true);
    expect((await runCli(['--db', join(dir, 'i.db'), 'image', 'list', 'lab-base'])).out).toMatch(/^lab-base\s+2\s.*behind: prod serves v2$/m);
    // --if-needed builds what is behind, then nothing more until something changes.
    const ifNeeded = () => runCli(['--db', join(dir, 'i.db'), 'image', 'build', '--if-needed', '-f', join(dir, 'container.yaml')]);
    const first = await ifNeeded();
    expect(first.err).toBe('building: prod serves lab version 2; build 2 has version 1\n');
    expect(first.out).toMatch(/^lab-base build 3 \(container\) from lab version 2/m);
    expect((await ifNeeded()).out).toBe('build 3 is up to date (lab version 2): nothing to build\n');
    writeFileSync(join(dir, 'container.yaml'), readFileSync(join(dir, 'container.yaml'), 'utf8') + '# a comment is a change\n');
    expect((await ifNeeded()).err).toBe('building: the definition changed since build 3\n');

    // A package list the definition names changed, its text did not: built again, then up to date.
    const wslNeeded = () => runCli(['--db', join(dir, 'i.db'), 'image', 'build', '--if-needed', '-f', join(dir, 'wsl.yaml')]);
    expect((await wslNeeded()).out).toBe('build 1 is up to date (lab version 1): nothing to build\n');
    writeFileSync(join(dir, 'dev-tools.json'), JSON.stringify({ packages: ['bw-tzdata', 'yum'] }));
    const changed = await wslNeeded();
    expect(changed.err).toBe('building: the package lists changed since build 1: +yum -bw-openssl\n');
    expect(changed.out).toMatch(/^lab-wsl build 2 \(wsl\) from lab version 1: 3 packages$/m);
    expect((await wslNeeded()).out).toBe('build 2 is up to date (lab version 1): nothing to build\n');
    // A build that does not record its lists' names (an older Bulwark's) is built again.
    rmSync(join(imagesDir, 'lab-wsl', '2', 'requested-packages.txt'));
    expect((await wslNeeded()).err).toBe('building: build 2 does not record what its package lists gave\n');
  });
});

/**
 * Debian images on real parts: an apt content view (dpkg-deb, dpkg-scanpackages), built into a
 * root by the real mmdebstrap (chrootless) and this machine's dpkg, read back by dpkg-query.
 */
const needsDeb = requires(tools('dpkg-deb', 'apt-get', 'mmdebstrap', 'xz', 'tar', 'skopeo', 'dpkg-scanpackages'));

needsDeb.describe('Debian images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-debimages-'));
  let db: Db;

  beforeAll(async () => {
    const archive = buildAptArchive(dir, [
      { name: 'bw-libssl', version: '3.0.11-1~deb12u1' },
      { name: 'bw-libssl', version: '3.0.15-1~deb12u1' },
      { name: 'bw-perl', version: '1:5.36.0-7+deb12u2' },
      { name: 'bw-tzdata', version: '2025b-0+deb12u1' },
      { name: 'bw-curl', version: '7.88.1-10+deb12u8', depends: 'bw-libssl (>= 3.0)' },
    ]);
    db = await openStore({ dbPath: join(dir, 'd.db') });
    await addRepo(db, {
      id: 'bookworm',
      kind: 'deb',
      url: archive,
      suite: 'stable',
      components: ['main'],
      arches: ['amd64'],
      keyFiles: [],
      verify: false,
      actor: { kind: 'cli', name: 'test' },
    });
    await syncRepo(db, 'bookworm', { objectsDir: join(dir, 'objects') });
    const view = join(dir, 'view.yaml');
    writeFileSync(
      view,
      'apiVersion: bulwark/v1\nkind: ContentView\nname: deb-lab\nsuite: lab\nsources: [{ repo: bookworm }]\npins: [{ package: bw-libssl, version: "3.0.11-*", reason: "validated build" }]\n',
    );
    await publishView(db, view, { objectsDir: join(dir, 'objects'), publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'test' } });
    await promoteView(db, { view: 'deb-lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } });
  }, 180_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a Debian WSL image and container whose dpkg database lists exactly the defined packages', async () => {
    const def = join(dir, 'wsl.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-wsl\ntype: wsl\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-libssl, bw-perl]\n',
    );
    const r = await buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } });
    const root = join(dir, 'wsl-root');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', r.artifact, '-C', root]);
    const listed = execFileSync('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Package}=${Version} ${db:Status-Abbrev}\n'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.trimEnd())
      .sort();
    expect(listed).toEqual(['bw-libssl=3.0.11-1~deb12u1 ii', 'bw-perl=1:5.36.0-7+deb12u2 ii']);
    expect(readFileSync(join(root, 'etc/apt/sources.list'), 'utf8')).not.toMatch(/copy:/);
    // Its SBOM names Debian packages by deb purls (epoch in the version) and reads back.
    const inv = parseInventory(readFileSync(join(r.dir, 'sbom.cdx.json'), 'utf8'), 'sbom');
    expect(inv.packages.map((p) => `${p.family} ${p.name} ${p.version}`).sort()).toEqual(['deb bw-libssl 3.0.11-1~deb12u1', 'deb bw-perl 1:5.36.0-7+deb12u2']);

    const cdef = join(dir, 'container.yaml');
    writeFileSync(
      cdef,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-base\ntype: container\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-tzdata]\ncontainer: { tag: "12" }\n',
    );
    const c = await buildImage(db, cdef, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } });
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${c.artifact}:12`], { encoding: 'utf8' })) as { Digest: string; Architecture: string };
    expect(inspect.Digest).toBe(c.digest);
    expect(c.packages).toBe(1);
  }, 120_000);

  it('removes what remove: names, with whatever depends on it, purged by apt in the image root', async () => {
    const def = join(dir, 'slim.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-slim\ntype: wsl\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-curl, bw-perl, bw-tzdata]\nremove: [bw-libssl]\n',
    );
    const r = await buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } });
    const root = join(dir, 'slim-root');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', r.artifact, '-C', root]);
    // dpkg-query lists every package the database knows, config-files ("rc") entries too: a
    // removal that left them would show here.
    const listed = execFileSync('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f', '${Package} ${db:Status-Abbrev}\n'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.trimEnd())
      .sort();
    expect(listed).toEqual(['bw-perl ii', 'bw-tzdata ii']);
    expect(r.packages).toBe(2);
    expect(readFileSync(join(r.dir, 'build.log'), 'utf8')).toMatch(/Removing bw-curl/);

    // A name the image does not hold stops the build: one the view has (apt would only say it is
    // not installed), and one it has not.
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-slim\ntype: wsl\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-perl]\nremove: [bw-tzdata]\n',
    );
    await expect(buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /slim\.yaml: image deb-slim: mmdebstrap failed:[\s\S]*remove: bw-tzdata not in the image/,
    );
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-slim\ntype: wsl\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-perl]\nremove: [bw-nosuch]\n',
    );
    await expect(buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /slim\.yaml: image deb-slim: "bw-nosuch" not in the view/,
    );

    // apt reads a name it has no package of as a pattern, and a last "+" as "install": bw-tzdata+
    // in remove: installed bw-tzdata, bw.perl (a regular expression) installed bw-perl.
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-slim\ntype: wsl\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-curl, bw-tzdata]\nremove: [bw-tzdata+]\n',
    );
    await expect(buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /slim\.yaml: image deb-slim: "bw-tzdata\+" not in the view/,
    );
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: deb-slim\ntype: wsl\nrelease: debian:12\nfrom: { view: deb-lab, environment: prod }\npackages: [bw.perl]\n',
    );
    await expect(buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /slim\.yaml: image deb-slim: "bw\.perl" not in the view/,
    );
    expect((await imageBuilds(db, 'deb-slim')).map((b) => b.build)).toEqual([1]);
  }, 120_000);

  it('refuses an rpm release from an apt view, naming the file', async () => {
    const def = join(dir, 'wrong.yaml');
    writeFileSync(
      def,
      'apiVersion: bulwark/v1\nkind: Image\nname: wrong\ntype: wsl\nrelease: azurelinux:3.0\nfrom: { view: deb-lab, environment: prod }\npackages: [bw-perl]\n',
    );
    await expect(buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /wrong\.yaml: deb-lab version 1 is not an rpm-md repository, which azurelinux:3\.0 images are built from/,
    );
  });
});
