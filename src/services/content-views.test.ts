import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { buildAptArchive } from '../../test/apt-archive.js';
import { buildAptRepo, buildRepo } from '../../test/ssh-fleet.js';
import { startServer } from '../api/server.js';
import { environmentDir, promoteView, publishView, viewEnvironments, viewRepoConfig } from './content-views.js';
import { loadOrCreateSigningKey, rotateSigningKey, stageNextSigningKey } from './signing-key.js';
import { addRepo, syncRepo } from './repos.js';
import { viewAvailable } from './view-source.js';
import { diffView } from './view-diff.js';
import { openStore, type Db } from './store.js';
import { createToken } from './tokens.js';
import { requires, tools } from '../../test/needs.js';

/**
 * A content view on real parts (issue #7): an upstream rpm repository (rpmbuild, createrepo_c,
 * updateinfo by modifyrepo_c) snapshotted, a view excluding, pinning and replacing with our own
 * build, published by createrepo_c, and consumed by the real dnf on a host root.
 */
const needs = requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm'));

const VIEW = (pin: string, ours: string): string => `apiVersion: bulwark/v1
kind: ContentView
name: azl3-lab
sources: [{ repo: upstream }]
exclude:
  - { package: "bw-agent*", reason: "replaced by the platform team's agent" }
pins:
  - { package: bw-openssl, version: "${pin}", reason: "the 3.4 ABI is not validated yet" }
replace:
  - { package: bw-curl, rpm: ${ours}, reason: "our build carries the CVE-2026-1002 backport" }
`;

/** The advisories of a published repository's updateinfo, read back with the repository's own repomd. */
function updateinfoOf(repoDir: string): { id: string; packages: string[] }[] {
  const repomd = readFileSync(join(repoDir, 'repodata', 'repomd.xml'), 'utf8');
  const href = /<data type="updateinfo">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1] ?? '';
  const xml = execFileSync(
    'sh',
    [
      '-c',
      'case "$1" in *.gz) gzip -dc "$1";; *.xz) xz -dc "$1";; *.zst) zstd -qdc "$1";; *.bz2) bzip2 -dc "$1";; *) cat "$1";; esac',
      'sh',
      join(repoDir, href),
    ],
    { encoding: 'utf8' },
  );
  return [...xml.matchAll(/<update\b[\s\S]*?<\/update>/g)].map((m) => ({
    id: /<id>([^<]*)<\/id>/.exec(m[0])?.[1] ?? '',
    packages: [...m[0].matchAll(/<package name="([^"]+)" epoch="([^"]*)" version="([^"]+)" release="([^"]+)" arch="([^"]+)"/g)].map(
      (p) => `${p[1] ?? ''}-${p[2] ?? ''}:${p[3] ?? ''}-${p[4] ?? ''}.${p[5] ?? ''}`,
    ),
  }));
}

needs.describe('content views', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-views-'));
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  let db: Db;
  let ours = '';

  beforeAll(async () => {
    const repo = buildRepo(
      join(dir, 'up'),
      [
        { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
        { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
        { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
        { name: 'bw-agent', version: '1.0', release: '1.azl3' },
        { name: 'bw-agent', version: '1.1', release: '1.azl3' },
      ],
      [
        {
          id: 'ADV-SSL',
          severity: 'Critical',
          issued: new Date('2026-11-20T00:00:00Z'),
          cves: ['CVE-2026-1001'],
          packages: [{ name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' }],
        },
        {
          id: 'ADV-SSL34',
          severity: 'Important',
          issued: new Date('2026-11-21T00:00:00Z'),
          cves: ['CVE-2026-1003'],
          packages: [{ name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' }],
        },
        {
          id: 'ADV-MIX',
          severity: 'Moderate',
          issued: new Date('2026-11-22T00:00:00Z'),
          cves: [],
          packages: [
            { name: 'bw-agent', version: '1.1', release: '1.azl3' },
            { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
          ],
        },
      ],
    );
    ours = buildDummyRpms(join(dir, 'ours'), [{ name: 'bw-curl', version: '8.11.1', release: '3.azl3.bulwark1' }])[0] ?? '';
    db = await openStore({ dbPath: join(dir, 'v.db') });
    await addRepo(db, { id: 'upstream', url: repo, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    await syncRepo(db, 'upstream', { objectsDir });
  }, 180_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a view with its overlays as a repository dnf uses; the deviation report gives every difference with its reason', async () => {
    const file = join(dir, 'view.yaml');
    writeFileSync(file, VIEW('3.3.*', ours));
    const r = await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } });
    expect([r.view, r.version, r.packages]).toEqual(['azl3-lab', 1, 3]);
    const report = r.deviations
      .filter((d) => d.kind !== 'withheld')
      .map((d) => [d.kind, d.package, [...d.builds].sort().join(' '), d.with ?? '', d.reason])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    expect(report).toEqual([
      ['excluded', 'bw-agent', '0:1.0-1.azl3.noarch 0:1.1-1.azl3.noarch', '', "replaced by the platform team's agent"],
      [
        'replaced',
        'bw-curl',
        '0:8.11.1-3.azl3.noarch 0:8.8.0-1.azl3.noarch',
        '0:8.11.1-3.azl3.bulwark1.noarch',
        'our build carries the CVE-2026-1002 backport',
      ],
      ['pinned-out', 'bw-openssl', '1:3.4.0-1.azl3.noarch', '', 'the 3.4 ABI is not validated yet (pinned to 3.3.*)'],
    ]);
    // The advisories the overlays keep out are named, with the overlay (issue #21, item 2).
    expect(r.deviations.filter((d) => d.kind === 'withheld').map((d) => [d.advisory, d.package, d.builds.join(' '), d.reason])).toEqual([
      ['ADV-SSL34', 'bw-openssl', '1:3.4.0-1.azl3.noarch', 'pinned-out bw-openssl: the 3.4 ABI is not validated yet (pinned to 3.3.*)'],
      ['ADV-MIX', 'bw-agent', '0:1.1-1.azl3.noarch', "excluded bw-agent: replaced by the platform team's agent"],
    ]);
    expect(JSON.parse(readFileSync(join(r.dir, 'deviations.json'), 'utf8'))).toMatchObject({ view: 'azl3-lab', version: 1 });
    expect(readFileSync(join(r.dir, 'repodata', 'repomd.xml'), 'utf8')).toMatch(/<data type="updateinfo">/);
    // The view's updateinfo: ADV-SSL34 fixes only a build the pin leaves out, so it is not there;
    // ADV-MIX keeps its openssl and loses its (excluded) agent.
    const ui = updateinfoOf(r.dir);
    expect(ui.map((u) => `${u.id}: ${u.packages.join(' ')}`)).toEqual([
      'ADV-SSL: bw-openssl-1:3.3.5-5.azl3.noarch',
      'ADV-MIX: bw-openssl-1:3.3.5-5.azl3.noarch',
    ]);

    // A host root consumes the view with the real dnf: the newest allowed openssl, our curl, no agent.
    const root = join(dir, 'host');
    const dnf = (...args: string[]) =>
      spawnSync(
        'dnf',
        [
          '-y',
          `--installroot=${root}`,
          '--releasever=3.0',
          '--disablerepo=*',
          `--repofrompath=view,file://${r.dir}`,
          '--enablerepo=view',
          '--nogpgcheck',
          '--setopt=reposdir=/nonexistent',
          `--setopt=cachedir=${join(dir, 'cache')}`,
          ...args,
        ],
        { encoding: 'utf8' },
      );
    expect(dnf('install', 'bw-openssl', 'bw-curl').status).toBe(0);
    const installed = execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    expect(installed).toEqual(['bw-curl-0:8.11.1-3.azl3.bulwark1', 'bw-openssl-1:3.3.5-5.azl3']);
    // The real dnf reads the view's advisories: those for what the view carries, nothing else.
    const listed = dnf('-q', 'updateinfo', 'list', '--all');
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/ADV-SSL\s/);
    expect(listed.stdout).toMatch(/ADV-MIX\s/);
    expect(listed.stdout).not.toMatch(/ADV-SSL34|bw-agent/);
    const agent = dnf('install', 'bw-agent');
    expect(agent.status).not.toBe(0);
    expect(`${agent.stdout}${agent.stderr}`).toMatch(/No match for argument: bw-agent/);
    // Published again unchanged: no new, identical version (issue #21, item 8).
    const again = await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } });
    expect([again.unchanged, again.version, again.dir]).toEqual([true, 1, r.dir]);
    expect(readdirSync(join(publishDir, 'azl3-lab'))).toEqual(['1']);
  });

  it('numbers versions and promotes them through environments', async () => {
    const file = join(dir, 'view.yaml');
    writeFileSync(file, VIEW('3.*', ours));
    const v2 = await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } });
    expect([v2.version, v2.packages, v2.deviations.map((d) => d.kind).sort()]).toEqual([2, 4, ['excluded', 'replaced', 'withheld']]);
    await promoteView(db, { view: 'azl3-lab', environment: 'prod', version: 1, actor: { kind: 'cli', name: 'test' } });
    await promoteView(db, { view: 'azl3-lab', environment: 'canary', actor: { kind: 'cli', name: 'test' } });
    expect((await viewEnvironments(db, 'azl3-lab')).map((e) => [e.environment, e.version])).toEqual([
      ['canary', 2],
      ['prod', 1],
    ]);
    await expect(promoteView(db, { view: 'azl3-lab', environment: 'dev', version: 9, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(/no version 9/);
    // The same from the CLI.
    const cli = (...args: string[]) => runCli(['--db', join(dir, 'v.db'), ...args], { USER: 'frank', BULWARK_OBJECTS_DIR: objectsDir });
    expect((await cli('view', 'list')).out).toMatch(/^azl3-lab\s+1\s+\S+\s+cli:test\s+3\s+5\s+prod$/m);
    expect((await cli('view', 'deviations', 'azl3-lab', '1')).out).toMatch(
      /^pinned-out\s+bw-openssl\s+1:3\.4\.0-1\.azl3\.noarch\s+-\s+the 3\.4 ABI is not validated yet/m,
    );
    expect((await cli('view', 'deviations', 'azl3-lab', '1')).out).toMatch(
      /^withheld ADV-SSL34\s+bw-openssl\s+1:3\.4\.0-1\.azl3\.noarch\s+-\s+pinned-out bw-openssl: the 3\.4 ABI/m,
    );
    expect((await cli('view', 'promote', 'azl3-lab', '--to', 'dev')).out).toBe('azl3-lab: dev now serves version 2\n');
    // Publishing from the CLI signs with the server's key, made beside the object store the first time.
    const published = await cli('view', 'publish', '-f', file);
    expect(published.out).toMatch(/^azl3-lab version 3: 4 packages, 3 deviations from upstream, at \S+$/m);
    expect((await cli('view', 'publish', '--file', file)).out).toBe('azl3-lab: unchanged since version 3 (4 packages, 3 deviations): nothing published\n');
    expect(statSync(join(dir, 'repo-signing-key.asc')).mode & 0o077).toBe(0);
    expect(existsSync(join(publishDir, 'azl3-lab', '3', 'repodata', 'repomd.xml.asc'))).toBe(true);
    // What a host in prod puts in /etc/yum.repos.d: the id a policy's source.repoId names.
    const repoFile = (await cli('view', 'repo-file', 'azl3-lab', '--env', 'prod', '--url', 'https://bulwark.example.com/')).out;
    expect(repoFile).toMatch(
      /^\[bulwark-azl3-lab\]\nname=Bulwark content view azl3-lab \(prod\)\nbaseurl=https:\/\/bulwark\.example\.com\/repos\/azl3-lab\/prod\/\nenabled=1\n/m,
    );
    expect(repoFile).toMatch(/^gpgcheck=0$/m); // it replaces bw-curl with an unsigned build of ours
    expect((await cli('view', 'repo-file', 'azl3-lab', '--env', 'prod', '--url', 'https://x; rm -rf /')).code).toBe(2);
  });

  it('signs what it publishes (repomd.xml.asc); dnf with repo_gpgcheck takes it, and refuses a copy whose repomd.xml was changed', async () => {
    const key = await loadOrCreateSigningKey(join(dir, 'keys', 'repo-signing-key.asc'));
    expect(statSync(key.origin).mode & 0o077).toBe(0);
    expect((await loadOrCreateSigningKey(key.origin)).armored).toBe(key.armored);
    const file = join(dir, 'view.yaml');
    writeFileSync(file, VIEW('3.3.*', ours));
    // A publication that crashed half-way left version 4's directory with a package the view excludes.
    mkdirSync(join(publishDir, 'azl3-lab', '4', 'Packages'), { recursive: true });
    cpSync(ours, join(publishDir, 'azl3-lab', '4', 'Packages', 'bw-agent-1.1-1.azl3.noarch.rpm'));
    // Two publications at once: one goes ahead, the other is refused.
    const both = await Promise.allSettled([
      publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, signingKey: key }),
      publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, signingKey: key }),
    ]);
    expect(both.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((both.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/azl3-lab is being published by another process/);
    const r = (both.find((x) => x.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof publishView>>>).value;
    expect(r.version).toBe(4);
    expect(readdirSync(join(r.dir, 'Packages')).sort()).toEqual([
      'bw-curl-8.11.1-3.azl3.bulwark1.noarch.rpm',
      'bw-openssl-3.3.0-2.azl3.noarch.rpm',
      'bw-openssl-3.3.5-5.azl3.noarch.rpm',
    ]);
    const dnf = (repo: string, root: string) =>
      spawnSync(
        'dnf',
        [
          '-y',
          `--installroot=${root}`,
          '--releasever=3.0',
          '--disablerepo=*',
          `--repofrompath=signed,file://${repo}`,
          '--enablerepo=signed',
          '--setopt=signed.repo_gpgcheck=1',
          `--setopt=signed.gpgkey=file://${join(repo, 'repodata', 'repomd.xml.key')}`,
          '--setopt=signed.gpgcheck=0',
          '--setopt=reposdir=/nonexistent',
          `--setopt=cachedir=${join(root, 'cache')}`,
          'install',
          'bw-openssl',
        ],
        { encoding: 'utf8' },
      );
    const good = dnf(r.dir, join(dir, 'signed-host'));
    expect([good.status, good.stderr]).toEqual([0, expect.anything()]);
    const forged = join(dir, 'forged');
    cpSync(r.dir, forged, { recursive: true });
    const repomd = join(forged, 'repodata', 'repomd.xml');
    writeFileSync(repomd, readFileSync(repomd, 'utf8').replace('<revision>', '<revision>1'));
    const bad = dnf(forged, join(dir, 'forged-host'));
    expect(bad.status).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/signature|GPG|gpg/i);
  });

  it("serves each environment as a repository over HTTP (bulwark serve): a host in prod gets prod's version", async () => {
    const server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'kh'),
      transport: () => {
        throw new Error('no runs here');
      },
      version: 'test',
      agentServerKey: Buffer.alloc(32),
    });
    try {
      expect((await fetch(`${server.url}/repos/azl3-lab/nope/repodata/repomd.xml`)).status).toBe(404);
      expect((await fetch(`${server.url}/repos/azl3-lab/prod/../../etc/passwd`)).status).toBe(404);
      // The view's definition and deviation report are not public (issue #21, item 8), and the
      // published view.yaml names our build by its file name, not the build machine's path.
      for (const f of ['view.yaml', 'deviations.json']) expect([f, (await fetch(`${server.url}/repos/azl3-lab/prod/${f}`)).status]).toEqual([f, 401]);
      const { token } = await createToken(db, { name: 'reader', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } });
      const yaml = await fetch(`${server.url}/repos/azl3-lab/prod/view.yaml`, { headers: { authorization: `Bearer ${token}` } });
      expect(yaml.status).toBe(200);
      const published = await yaml.text();
      expect(published).toContain(`rpm: ${basename(ours)}`);
      expect(published).not.toContain(dir);
      // Packages are streamed with their length and may be cached; what a promotion or a key
      // rotation changes under the same name may not.
      const prodDir = await environmentDir(db, 'azl3-lab', 'prod');
      const rpm = readdirSync(join(prodDir ?? '', 'Packages'))[0] ?? '';
      const got = await fetch(`${server.url}/repos/azl3-lab/prod/Packages/${rpm}`);
      expect([got.status, got.headers.get('content-length'), got.headers.get('cache-control')]).toEqual([
        200,
        String(statSync(join(prodDir ?? '', 'Packages', rpm)).size),
        'public, max-age=3600',
      ]);
      expect(Buffer.from(await got.arrayBuffer())).toEqual(readFileSync(join(prodDir ?? '', 'Packages', rpm)));
      for (const f of ['repodata/repomd.xml']) {
        const m = await fetch(`${server.url}/repos/azl3-lab/prod/${f}`);
        await m.arrayBuffer();
        expect([f, m.headers.get('cache-control')]).toEqual([f, 'no-cache']);
      }
      const head = await fetch(`${server.url}/repos/azl3-lab/prod/Packages/${rpm}`, { method: 'HEAD' });
      expect([head.status, head.headers.get('content-length')]).toEqual([200, got.headers.get('content-length')]);
      const root = join(dir, 'prod-host');
      // Asynchronous: the server dnf talks to runs in this process.
      const dnf = (env: string, ...args: string[]): Promise<{ status: number }> =>
        new Promise((resolve) => {
          execFile(
            'dnf',
            [
              '-y',
              `--installroot=${root}`,
              '--releasever=3.0',
              '--disablerepo=*',
              `--repofrompath=${env},${server.url}/repos/azl3-lab/${env}/`,
              `--enablerepo=${env}`,
              '--nogpgcheck',
              '--setopt=reposdir=/nonexistent',
              `--setopt=cachedir=${join(dir, `cache-${env}`)}`,
              ...args,
            ],
            (err) => {
              resolve({ status: err === null ? 0 : 1 });
            },
          );
        });
      // prod serves version 1 (openssl pinned to 3.3.*), canary version 2 (3.4 allowed).
      expect((await dnf('prod', 'install', 'bw-openssl')).status).toBe(0);
      const q = () => execFileSync('rpm', ['--root', root, '-q', 'bw-openssl'], { encoding: 'utf8' }).trim();
      expect(q()).toBe('bw-openssl-3.3.5-5.azl3.noarch');
      expect((await dnf('canary', 'upgrade', 'bw-openssl')).status).toBe(0);
      expect(q()).toBe('bw-openssl-3.4.0-1.azl3.noarch');
    } finally {
      await server.close();
    }
  });

  it("publishes one file per build when two sources list the same build (the first source's, the other reported as shadowed), keeps builds that differ only by epoch apart, and merges an advisory both sources carry", async () => {
    const a = buildRepo(
      join(dir, 'src-a'),
      [
        { name: 'bw-dup', version: '1.0', release: '1.azl3', summary: 'from a' },
        { name: 'bw-ep', version: '2.0', release: '1.azl3' },
      ],
      [
        {
          id: 'ADV-EP',
          severity: 'Important',
          issued: new Date('2026-11-23T00:00:00Z'),
          cves: ['CVE-2026-1004'],
          packages: [{ name: 'bw-ep', version: '2.0', release: '1.azl3' }],
        },
      ],
    );
    const b = buildRepo(
      join(dir, 'src-b'),
      [
        { name: 'bw-dup', version: '1.0', release: '1.azl3', summary: 'from b' },
        { name: 'bw-ep', epoch: 1, version: '2.0', release: '1.azl3' },
      ],
      [
        {
          id: 'ADV-EP',
          severity: 'Important',
          issued: new Date('2026-11-23T00:00:00Z'),
          cves: ['CVE-2026-1004'],
          packages: [{ name: 'bw-ep', epoch: 1, version: '2.0', release: '1.azl3' }],
        },
      ],
    );
    for (const [id, url] of [
      ['src-a', a],
      ['src-b', b],
    ] as const) {
      await addRepo(db, { id, url, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
      await syncRepo(db, id, { objectsDir });
    }
    const file = join(dir, 'two.yaml');
    writeFileSync(file, 'apiVersion: bulwark/v1\nkind: ContentView\nname: two-sources\nsources: [{ repo: src-a }, { repo: src-b }]\n');
    const r = await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } });
    expect(r.deviations).toEqual([
      { kind: 'shadowed', package: 'bw-dup', builds: ['0:1.0-1.azl3.noarch'], reason: "src-b has a different file for this build; src-a's is published" },
    ]);
    expect(r.packages).toBe(3);
    const files = readdirSync(join(r.dir, 'Packages')).sort();
    expect(files).toEqual(['bw-dup-1.0-1.azl3.noarch.rpm', 'bw-ep-1:2.0-1.azl3.noarch.rpm', 'bw-ep-2.0-1.azl3.noarch.rpm']);
    const q = (f: string, qf: string): string => execFileSync('rpm', ['-qp', '--nosignature', '--qf', qf, join(r.dir, 'Packages', f)], { encoding: 'utf8' });
    expect(q('bw-dup-1.0-1.azl3.noarch.rpm', '%{SUMMARY}')).toBe('from a');
    expect([q('bw-ep-2.0-1.azl3.noarch.rpm', '%{EPOCHNUM}'), q('bw-ep-1:2.0-1.azl3.noarch.rpm', '%{EPOCHNUM}')]).toEqual(['0', '1']);
    // Every object still holds what its name says (a copy onto a hard link would have rewritten one).
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    for (const f of walk(join(objectsDir, 'sha256'))) expect(createHash('sha256').update(readFileSync(f)).digest('hex')).toBe(basename(f));
    // The advisory both sources carry is one record with both builds.
    expect(updateinfoOf(r.dir)).toEqual([{ id: 'ADV-EP', packages: ['bw-ep-0:2.0-1.azl3.noarch', 'bw-ep-1:2.0-1.azl3.noarch'] }]);
    // And dnf sees both builds of bw-ep.
    const dnf = spawnSync(
      'dnf',
      [
        '-q',
        '--installroot',
        join(dir, 'two-host'),
        '--releasever=3.0',
        '--disablerepo=*',
        `--repofrompath=two,file://${r.dir}`,
        '--enablerepo=two',
        '--nogpgcheck',
        '--setopt=reposdir=/nonexistent',
        `--setopt=cachedir=${join(dir, 'two-host', 'cache')}`,
        'repoquery',
        '--qf',
        '%{epoch}:%{version}-%{release}',
        'bw-ep',
      ],
      { encoding: 'utf8' },
    );
    expect(dnf.stdout.trim().split('\n').sort()).toEqual(['0:2.0-1.azl3', '1:2.0-1.azl3']);
    // The higher epoch installs from its epoch-named file.
    const install = spawnSync(
      'dnf',
      [
        '-y',
        '-q',
        '--installroot',
        join(dir, 'two-host'),
        '--releasever=3.0',
        '--disablerepo=*',
        `--repofrompath=two,file://${r.dir}`,
        '--enablerepo=two',
        '--nogpgcheck',
        '--setopt=reposdir=/nonexistent',
        `--setopt=cachedir=${join(dir, 'two-host', 'cache')}`,
        'install',
        'bw-ep',
      ],
      { encoding: 'utf8' },
    );
    expect([install.status, install.stderr]).toEqual([0, expect.anything()]);
    expect(execFileSync('rpm', ['--root', join(dir, 'two-host'), '-q', '--qf', '%{EPOCHNUM}:%{VERSION}', 'bw-ep'], { encoding: 'utf8' })).toBe('1:2.0');
  }, 120_000);

  it('rotates the signing key in two steps; a host whose dnf trusted the old key takes the re-signed repository, fetching the new key itself', async () => {
    const keyFile = join(dir, 'rot', 'repo-signing-key.asc');
    const file = join(dir, 'view.yaml');
    writeFileSync(file, VIEW('3.3.*', ours));
    const r = await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, signingKey: await loadOrCreateSigningKey(keyFile) });
    const gpgHome = join(dir, 'rot-gnupg');
    mkdirSync(gpgHome, { mode: 0o700 });
    /** The fingerprints gpg sees in a key file, and the key that made a signature (gpgv with that file). */
    const primaries = (f: string): string[] =>
      execFileSync('gpg', ['--homedir', gpgHome, '--show-keys', '--with-colons', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')
        .reduce<string[]>((acc, l, i, all) => (l.startsWith('pub:') && all[i + 1]?.startsWith('fpr:') ? [...acc, all[i + 1]?.split(':')[9] ?? ''] : acc), []);
    const signer = (): string => {
      execFileSync(
        'gpg',
        ['--homedir', gpgHome, '--batch', '--yes', '--dearmor', '--output', join(dir, 'rot.kbx'), join(r.dir, 'repodata', 'repomd.xml.key')],
        { stdio: 'pipe' },
      );
      const out = spawnSync(
        'gpgv',
        ['--status-fd', '1', '--keyring', join(dir, 'rot.kbx'), join(r.dir, 'repodata', 'repomd.xml.asc'), join(r.dir, 'repodata', 'repomd.xml')],
        { encoding: 'utf8' },
      );
      return /^\[GNUPG:\] VALIDSIG \S+ .* ([0-9A-F]{40})$/m.exec(out.stdout)?.[1] ?? `no valid signature: ${out.stdout}`;
    };
    const old = primaries(join(r.dir, 'repodata', 'repomd.xml.key'));
    expect(old).toHaveLength(1);
    expect(signer()).toBe(old[0]);
    const dnf = (gpgkey = join(r.dir, 'repodata', 'repomd.xml.key'), host = 'rot-host') =>
      spawnSync(
        'dnf',
        [
          '-y',
          `--installroot=${join(dir, host)}`,
          '--releasever=3.0',
          '--disablerepo=*',
          `--repofrompath=rot,file://${r.dir}`,
          '--enablerepo=rot',
          '--setopt=rot.repo_gpgcheck=1',
          `--setopt=rot.gpgkey=file://${gpgkey}`,
          '--setopt=rot.gpgcheck=0',
          '--setopt=rot.skip_if_unavailable=0',
          '--setopt=reposdir=/nonexistent',
          `--setopt=cachedir=${join(dir, host, 'cache')}`,
          '--refresh',
          'makecache',
        ],
        { encoding: 'utf8' },
      );
    expect(dnf().status).toBe(0);
    cpSync(join(r.dir, 'repodata', 'repomd.xml.key'), join(dir, 'old-key-only.asc'));

    // Step 1: the next key is published beside the signing key; the signer does not change.
    const staged = await stageNextSigningKey(db, keyFile, { actor: { kind: 'cli', name: 'test' } });
    expect(staged.resigned).toBeGreaterThanOrEqual(1);
    const both = primaries(join(r.dir, 'repodata', 'repomd.xml.key'));
    expect(both).toEqual([old[0], staged.status.next?.fingerprint]);
    expect(signer()).toBe(old[0]);
    expect(dnf().status).toBe(0);

    // Step 2: the next key signs; the old one's secret is gone, its public half kept.
    const rotated = await rotateSigningKey(db, keyFile, { actor: { kind: 'cli', name: 'test' } });
    expect(rotated.staged).toBe(true);
    expect(rotated.status.current?.fingerprint).toBe(both[1]);
    expect(rotated.status.next).toBeNull();
    expect(rotated.status.retired.map((x) => x.key.fingerprint)).toEqual([old[0]]);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/PRIVATE KEY/);
    expect(readFileSync(rotated.status.retired[0]?.file ?? '', 'utf8')).not.toMatch(/PRIVATE/);
    expect(primaries(join(r.dir, 'repodata', 'repomd.xml.key'))).toEqual([both[1]]);
    expect(signer()).toBe(both[1]);
    // The same host, its cache holding the old key: dnf takes the new one from gpgkey on its own.
    const after = dnf();
    expect([after.status, after.stderr]).toEqual([0, expect.anything()]);
    // A host that can only ever get the old key refuses the re-signed metadata: dnf does check
    // (makecache alone would exit 0 and skip the repository; skip_if_unavailable=0 makes it fail).
    const pinned = dnf(join(dir, 'old-key-only.asc'), 'rot-host-pinned');
    expect(pinned.status).not.toBe(0);
    expect(pinned.stderr).toMatch(/GPG signature verification error/);
    // And the CLI says which key signs.
    const shown = await runCli(['--db', join(dir, 'v.db'), 'view', 'key'], { BULWARK_SIGNING_KEY_FILE: keyFile });
    expect(shown.out).toMatch(new RegExp(`^signing key: ${both[1] ?? ''} \\(made `, 'm'));
    expect(shown.out).toMatch(new RegExp(`^retired: +${old[0] ?? ''} `, 'm'));
  }, 120_000);
  it('refuses an overlay that matches nothing or contradicts itself from the real snapshot, and publishes nothing (issue #21)', async () => {
    const file = join(dir, 'bad-view.yaml');
    const versions = (): string[] => (existsSync(join(publishDir, 'azl3-lab')) ? readdirSync(join(publishDir, 'azl3-lab')).sort() : []);
    const before = versions();
    const cases: [string, RegExp][] = [
      [
        VIEW('3.3.*', ours).replace('package: bw-openssl,', 'package: bw-opensssl,'),
        /pin "bw-opensssl" matches no upstream package \(did you mean "bw-openssl"\?\)/,
      ],
      [VIEW('9.*', ours), /the pins on bw-openssl \("bw-openssl" to 9\.\*\) leave none of its 3 upstream build\(s\)/],
      [VIEW('3.3.*', ours).replace('"bw-agent*"', 'bw-curl'), /bw-curl is both excluded \("bw-curl"\) and replaced/],
      [`${VIEW('3.3.*', ours)}  - { package: bw-curl, rpm: ${ours}, reason: "again" }\n`, /2 replacements of bw-curl\.noarch/],
      [`${VIEW('3.3.*', ours)}include: [bw-curll]\n`, /include "bw-curll" matches no upstream package \(did you mean "bw-curl"\?\)/],
    ];
    for (const [yaml, message] of cases) {
      writeFileSync(file, yaml);
      await expect(publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(message);
    }
    expect(versions()).toEqual(before);
    const cli = await runCli(['--db', join(dir, 'v.db'), 'view', 'publish', '--file', file], { USER: 'frank', BULWARK_OBJECTS_DIR: objectsDir });
    // A bad view definition: a usage or configuration exit (the table is h-cli's), never 0.
    expect([2, 3]).toContain(cli.code);
    expect(cli.err).toMatch(/include "bw-curll" matches no upstream package/);
  });

  it('diffs two versions or environments before a promotion: packages up- and downgraded, advisories gained, withheld ones released (CLI and API)', async () => {
    const d = await diffView(db, 'azl3-lab', { version: 1 }, { version: 2 });
    expect([d.added, d.removed, d.downgraded]).toEqual([[], [], []]);
    expect(d.upgraded).toEqual([{ package: 'bw-openssl', arch: 'noarch', from: '1:3.3.5-5.azl3', to: '1:3.4.0-1.azl3' }]);
    expect([d.advisoriesGained, d.advisoriesLost]).toEqual([['ADV-SSL34'], []]);
    expect(d.withheldReleased).toEqual([
      { advisory: 'ADV-SSL34', package: 'bw-openssl', reason: 'pinned-out bw-openssl: the 3.4 ABI is not validated yet (pinned to 3.3.*)' },
    ]);
    expect(d.withheldGained).toEqual([]);
    // The other way is a downgrade, and the environments resolve to their versions.
    const back = await diffView(db, 'azl3-lab', { environment: 'canary' }, { environment: 'prod' });
    expect([back.from, back.to, back.downgraded.map((x) => x.package), back.advisoriesLost]).toEqual([
      { version: 2, environment: 'canary' },
      { version: 1, environment: 'prod' },
      ['bw-openssl'],
      ['ADV-SSL34'],
    ]);
    const cli = await runCli(['--db', join(dir, 'v.db'), 'view', 'diff', 'azl3-lab', '--env', 'prod', '--env', 'canary'], { BULWARK_OBJECTS_DIR: objectsDir });
    expect(cli.out).toBe(
      [
        'azl3-lab: version 1 (prod) → version 2 (canary)',
        '  ↑ bw-openssl.noarch 1:3.3.5-5.azl3 → 1:3.4.0-1.azl3',
        '  advisory gained ADV-SSL34',
        '  no longer withheld ADV-SSL34 (bw-openssl)',
        '',
      ].join('\n'),
    );
    const server = await startServer(db, {
      host: '127.0.0.1',
      port: 0,
      knownHostsFile: join(dir, 'kh'),
      transport: () => {
        throw new Error('no runs here');
      },
      version: 'test',
      agentServerKey: Buffer.alloc(32),
    });
    try {
      const { token } = await createToken(db, { name: 'differ', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } });
      const res = await fetch(`${server.url}/api/v1/views/azl3-lab/diff?fromEnv=prod&to=2`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ...d, from: { version: 1, environment: 'prod' } });
      expect((await fetch(`${server.url}/api/v1/views/azl3-lab/diff?from=1&to=2`)).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});

/**
 * A Debian content view on real parts: an archive made with dpkg-deb and dpkg-scanpackages,
 * snapshotted and mirrored, published as an apt repository (pool/, dpkg-scanpackages indexes,
 * Release with SHA-256s) and read by the real apt-get and apt-cache in a root of their own.
 */
const needsDeb = requires(tools('dpkg-deb', 'dpkg-scanpackages', 'apt-get', 'apt-cache', 'xz'));

needsDeb.describe('Debian content views', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-debviews-'));
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  let db: Db;
  let ours = '';

  beforeAll(async () => {
    const root = buildAptArchive(dir, [
      { name: 'bw-libssl', version: '3.0.11-1~deb12u1' },
      { name: 'bw-libssl', version: '3.0.15-1~deb12u1' },
      { name: 'bw-libssl', version: '3.5.0-1' },
      { name: 'bw-perl', version: '1:5.36.0-7+deb12u1' },
      { name: 'bw-perl', version: '1:5.36.0-7+deb12u2' },
      { name: 'bw-tzdata', version: '2025b-0+deb12u1' },
    ]);
    ours = join(buildAptRepo(join(dir, 'ours'), [{ name: 'bw-perl', version: '1:5.36.0-7+deb12u2+bulwark1' }]), 'bw-perl_5.36.0-7+deb12u2+bulwark1_all.deb');
    db = await openStore({ dbPath: join(dir, 'd.db') });
    await addRepo(db, {
      id: 'bookworm',
      kind: 'deb',
      url: root,
      suite: 'stable',
      components: ['main'],
      arches: ['amd64'],
      keyFiles: [],
      verify: false,
      actor: { kind: 'cli', name: 'test' },
    });
    await syncRepo(db, 'bookworm', { objectsDir });
  }, 180_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes an apt repository with the overlays (pins on Debian versions, epochs included), and apt sees exactly that', async () => {
    const file = join(dir, 'view.yaml');
    writeFileSync(
      file,
      `apiVersion: bulwark/v1\nkind: ContentView\nname: deb-lab\nsuite: lab\npromotion: [canary, prod]\nsources: [{ repo: bookworm }]\nexclude: [{ package: bw-tzdata, reason: "the image carries its own" }]\npins: [{ package: bw-libssl, version: "3.0.*", reason: "OpenSSL 3.5 not validated" }]\nreplace: [{ package: bw-perl, deb: ${ours}, reason: "our build with the CVE backport" }]\n`,
    );
    const key = await loadOrCreateSigningKey(join(dir, 'repo-signing-key.asc'));
    const r = await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, signingKey: key });
    expect([r.version, r.packages]).toEqual([1, 3]);
    expect(r.deviations.map((d) => [d.kind, d.package, [...d.builds].sort().join(' '), d.with ?? ''])).toEqual([
      ['pinned-out', 'bw-libssl', '3.5.0-1.all', ''],
      ['replaced', 'bw-perl', '1:5.36.0-7+deb12u1.all 1:5.36.0-7+deb12u2.all', '1:5.36.0-7+deb12u2+bulwark1.all'],
      ['excluded', 'bw-tzdata', '2025b-0+deb12u1.all', ''],
    ]);

    // The real apt, in a root of its own, with the published repository as its only source.
    const root = join(dir, 'apt-root');
    for (const d of [
      'etc/apt/apt.conf.d',
      'etc/apt/preferences.d',
      'etc/apt/sources.list.d',
      'var/lib/apt/lists/partial',
      'var/cache/apt/archives/partial',
      'var/lib/dpkg',
    ])
      mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    // Signed by Bulwark: apt checks InRelease with the key the archive publishes (no trusted=yes).
    const keyring = join(dir, 'bulwark-archive-key.asc');
    cpSync(join(r.dir, 'bulwark-archive-key.asc'), keyring);
    writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${keyring}] file://${r.dir} lab main\n`);
    const opts = [
      '-o',
      `Dir=${root}`,
      '-o',
      `Dir::State::status=${join(root, 'var/lib/dpkg/status')}`,
      '-o',
      'Debug::NoLocking=1',
      '-o',
      'APT::Architecture=amd64',
      '-o',
      'APT::Architectures=amd64',
    ];
    execFileSync('apt-get', [...opts, '-q', 'update'], { stdio: 'pipe' });
    const madison = (pkg: string): string[] =>
      execFileSync('apt-cache', [...opts, 'madison', pkg], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes('|'))
        .map((l) => l.split('|')[1]?.trim() ?? '')
        .sort();
    expect(madison('bw-libssl')).toEqual(['3.0.11-1~deb12u1', '3.0.15-1~deb12u1']);
    expect(madison('bw-perl')).toEqual(['1:5.36.0-7+deb12u2+bulwark1']);
    expect(madison('bw-tzdata')).toEqual([]);
    // What an install would take: the newest allowed libssl, our perl.
    const sim = execFileSync('apt-get', [...opts, '-s', 'install', 'bw-libssl', 'bw-perl'], { encoding: 'utf8' });
    expect(sim).toMatch(/^Inst bw-libssl \(3\.0\.15-1~deb12u1 /m);
    expect(sim).toMatch(/^Inst bw-perl \(1:5\.36\.0-7\+deb12u2\+bulwark1 /m);
    // A copy whose Release was changed after signing is refused by apt.
    const forged = join(dir, 'forged');
    cpSync(r.dir, forged, { recursive: true });
    const inRelease = join(forged, 'dists', 'lab', 'InRelease');
    writeFileSync(inRelease, readFileSync(inRelease, 'utf8').replace('Suite: lab', 'Suite: lab2'));
    rmSync(join(forged, 'dists', 'lab', 'Release.gpg'));
    writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${keyring}] file://${forged} lab main\n`);
    const refused = spawnSync('apt-get', [...opts, '-q', 'update'], { encoding: 'utf8' });
    expect(refused.status).toBe(100);
    expect(refused.stderr).toMatch(/BADSIG [0-9A-F]{16} Bulwark repository signing key/);
    writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=${keyring}] file://${r.dir} lab main\n`);
    expect(await viewRepoConfig(db, { view: 'deb-lab', environment: 'prod', url: 'http://10.0.0.1:8080' }).catch((e: unknown) => String(e))).toMatch(
      /no environment prod/,
    );

    // What a policy patching from this view (source:) may target.
    // Its promotion path: canary before prod; nowhere else unless forced (and audited as forced).
    await expect(promoteView(db, { view: 'deb-lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /deb-lab version 1 has not been in canary yet \(canary → prod\)/,
    );
    await expect(promoteView(db, { view: 'deb-lab', environment: 'staging', actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /staging is not on its promotion path/,
    );
    await promoteView(db, { view: 'deb-lab', environment: 'canary', actor: { kind: 'cli', name: 'test' } });
    await promoteView(db, { view: 'deb-lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } });
    await promoteView(db, { view: 'deb-lab', environment: 'staging', actor: { kind: 'cli', name: 'test' }, force: true });
    expect((await viewEnvironments(db, 'deb-lab')).map((e) => e.environment)).toEqual(['canary', 'prod', 'staging']);
    const available = await viewAvailable(db, { view: 'deb-lab', environment: 'prod' });
    expect((await viewRepoConfig(db, { view: 'deb-lab', environment: 'prod', url: 'http://10.0.0.1:8080' })).text).toMatch(
      /^deb \[signed-by=\/etc\/apt\/keyrings\/bulwark-deb-lab\.asc\] http:\/\/10\.0\.0\.1:8080\/repos\/deb-lab\/prod\/ lab main$/m,
    );
    expect(Object.fromEntries([...available].map(([k, v]) => [k, [...v].sort()]))).toEqual({
      'bw-libssl': ['3.0.11-1~deb12u1', '3.0.15-1~deb12u1'],
      'bw-perl': ['1:5.36.0-7+deb12u2+bulwark1'],
    });
  });

  it("gives a policy each Debian binary with its source's version, which fixes name (libldb2 2:2.10 built from samba 2:4.21)", async () => {
    const archive = buildAptArchive(join(dir, 'samba'), [
      { name: 'bw-ldb', version: '2:2.10.0+samba4.21.0-1', source: 'bw-samba (2:4.21.0-1)' },
      { name: 'bw-ldb', version: '2:2.10.1+samba4.21.3-1', source: 'bw-samba (2:4.21.3-1)' },
      { name: 'bw-samba', version: '2:4.21.3-1' },
    ]);
    await addRepo(db, {
      id: 'samba',
      kind: 'deb',
      url: archive,
      suite: 'stable',
      components: ['main'],
      arches: ['amd64'],
      keyFiles: [],
      verify: false,
      actor: { kind: 'cli', name: 'test' },
    });
    await syncRepo(db, 'samba', { objectsDir });
    const file = join(dir, 'samba.yaml');
    writeFileSync(file, 'apiVersion: bulwark/v1\nkind: ContentView\nname: samba-lab\nsources: [{ repo: samba }]\n');
    await publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } });
    await promoteView(db, { view: 'samba-lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } });
    const available = await viewAvailable(db, { view: 'samba-lab', environment: 'prod' });
    expect(available.get('bw-ldb')).toEqual([
      { build: '2:2.10.0+samba4.21.0-1', source: '2:4.21.0-1' },
      { build: '2:2.10.1+samba4.21.3-1', source: '2:4.21.3-1' },
    ]);
    expect(available.get('bw-samba')).toEqual(['2:4.21.3-1']);
  });

  it('refuses a view that mixes rpm-md and deb sources, naming the file', async () => {
    await addRepo(db, { id: 'rpm-side', url: join(dir, 'nowhere'), keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    const file = join(dir, 'mixed.yaml');
    writeFileSync(file, 'apiVersion: bulwark/v1\nkind: ContentView\nname: mixed\nsources: [{ repo: bookworm }, { repo: rpm-side }]\n');
    await expect(publishView(db, file, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /mixed\.yaml: a view's sources are all rpm-md or all deb repositories; this one mixes deb and rpm-md/,
    );
  });
});

needs.describe('composite views (issue #21)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-composite-'));
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  const actor = { kind: 'cli' as const, name: 'test' };
  let db: Db;
  const view = (name: string, body: string): string => {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(f, `apiVersion: bulwark/v1\nkind: ContentView\nname: ${name}\n${body}`);
    return f;
  };

  beforeAll(async () => {
    const os = buildRepo(
      join(dir, 'os-up'),
      [
        { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
        { name: 'bw-tzdata', version: '2026a', release: '1.azl3' },
      ],
      [
        {
          id: 'ADV-SSL34',
          severity: 'Important',
          issued: new Date('2026-11-21T00:00:00Z'),
          cves: ['CVE-2026-1003'],
          packages: [{ name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' }],
        },
      ],
    );
    const apps = buildRepo(
      join(dir, 'apps-up'),
      [
        { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
        { name: 'bw-agent', version: '1.1', release: '1.azl3' },
        { name: 'bw-nginx', version: '1.26.0', release: '1.azl3' },
      ],
      [
        {
          id: 'ADV-CURL',
          severity: 'Moderate',
          issued: new Date('2026-11-22T00:00:00Z'),
          cves: ['CVE-2026-1004'],
          packages: [{ name: 'bw-curl', version: '8.11.1', release: '3.azl3' }],
        },
      ],
    );
    db = await openStore({ dbPath: join(dir, 'c.db') });
    await addRepo(db, { id: 'os-up', url: os, keyFiles: [], verify: false, actor });
    await addRepo(db, { id: 'apps-up', url: apps, keyFiles: [], verify: false, actor });
    await syncRepo(db, 'os-up', { objectsDir });
    await syncRepo(db, 'apps-up', { objectsDir });
    await publishView(db, view('os', 'sources: [{ repo: os-up }]\npins: [{ package: bw-openssl, version: "3.3.*", reason: "3.4 ABI not validated" }]\n'), {
      objectsDir,
      publishDir,
      actor,
    });
    await publishView(db, view('apps', 'sources: [{ repo: apps-up }]\nexclude: [{ package: bw-agent, reason: "not on servers" }]\n'), {
      objectsDir,
      publishDir,
      actor,
    });
    await promoteView(db, { view: 'os', environment: 'prod', actor });
    await promoteView(db, { view: 'apps', environment: 'prod', actor });
  }, 240_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes the parts' environments as one repository dnf uses, with each part's deviations carried (naming the part) and its own overlays applied", async () => {
    const r = await publishView(
      db,
      view(
        'fleet',
        'sources: [{ view: os, environment: prod }, { view: apps, environment: prod }]\nexclude: [{ package: bw-nginx, reason: "no web servers in this fleet" }]\n',
      ),
      { objectsDir, publishDir, actor },
    );
    expect([r.version, r.packages, r.unchanged]).toEqual([1, 3, false]);
    expect(r.deviations.map((d) => `${d.kind} ${d.package} ${d.advisory ?? '-'}: ${d.reason}`).sort()).toEqual([
      'excluded bw-agent -: apps/prod (version 1): not on servers',
      'excluded bw-nginx -: no web servers in this fleet',
      'pinned-out bw-openssl -: os/prod (version 1): 3.4 ABI not validated (pinned to 3.3.*)',
      'withheld bw-openssl ADV-SSL34: os/prod (version 1): pinned-out bw-openssl: 3.4 ABI not validated (pinned to 3.3.*)',
    ]);
    // The parts' advisories that are published stay in the whole's updateinfo; the withheld one does not.
    expect(updateinfoOf(r.dir).map((a) => a.id)).toEqual(['ADV-CURL']);
    const root = join(dir, 'host');
    const dnf = spawnSync(
      'dnf',
      [
        '-y',
        `--installroot=${root}`,
        '--releasever=3.0',
        '--disablerepo=*',
        `--repofrompath=fleet,file://${r.dir}`,
        '--enablerepo=fleet',
        '--nogpgcheck',
        '--setopt=reposdir=/nonexistent',
        `--setopt=cachedir=${join(dir, 'cache')}`,
        'install',
        'bw-openssl',
        'bw-curl',
        'bw-tzdata',
      ],
      { encoding: 'utf8' },
    );
    expect(dnf.status, dnf.stderr).toBe(0);
    expect(
      execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' }).trim().split('\n').sort(),
    ).toEqual(['bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.3.0-2.azl3', 'bw-tzdata-0:2026a-1.azl3']);
    expect(
      spawnSync(
        'dnf',
        [
          '-y',
          `--installroot=${root}`,
          '--releasever=3.0',
          '--disablerepo=*',
          `--repofrompath=fleet,file://${r.dir}`,
          '--enablerepo=fleet',
          '--nogpgcheck',
          '--setopt=reposdir=/nonexistent',
          `--setopt=cachedir=${join(dir, 'cache')}`,
          'install',
          'bw-agent',
        ],
        { encoding: 'utf8' },
      ).status,
    ).not.toBe(0);
  }, 120_000);

  it('follows what the environments serve, and refuses a part environment that does not exist or the view itself', async () => {
    await expect(publishView(db, view('fleet2', 'sources: [{ view: os, environment: canary }]\n'), { objectsDir, publishDir, actor })).rejects.toThrow(
      /content view os has no environment canary/,
    );
    await expect(publishView(db, view('selfish', 'sources: [{ view: selfish, environment: prod }]\n'), { objectsDir, publishDir, actor })).rejects.toThrow(
      /cannot be a source of itself/,
    );
    // os publishes a new version without the pin and prod moves to it: the whole takes openssl 3.4.
    await publishView(db, view('os', 'sources: [{ repo: os-up }]\n'), { objectsDir, publishDir, actor });
    await promoteView(db, { view: 'os', environment: 'prod', actor });
    const r = await publishView(db, join(dir, 'fleet.yaml'), { objectsDir, publishDir, actor });
    expect([r.version, r.packages]).toEqual([2, 4]);
    expect(
      updateinfoOf(r.dir)
        .map((a) => a.id)
        .sort(),
    ).toEqual(['ADV-CURL', 'ADV-SSL34']);
    expect(r.deviations.map((d) => d.package).sort()).toEqual(['bw-agent', 'bw-nginx']);
  }, 120_000);
});
