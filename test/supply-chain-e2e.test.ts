import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { startServe, stopServe } from './serve-process.js';
import { buildRepo } from './ssh-fleet.js';
import { requires, tools } from './needs.js';

/**
 * Issue #7 through the CLI only, as an operator does it, on real parts: an upstream repository
 * (rpmbuild, createrepo_c, updateinfo) snapshotted; a content view published (signed) and
 * promoted; `bulwark serve` (its own process) serving it; a host root whose dnf uses exactly the
 * .repo file `view repo-file` prints — metadata signature checked over HTTP; an image built from
 * the same environment; its SBOM; and parity between the image and the host.
 */
const needs = requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'skopeo'));

needs.describe('the supply chain through the CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-chain-'));
  const db = join(dir, 'data', 'bulwark.db');
  mkdirSync(join(dir, 'data'));
  const cli = (...args: string[]) => runCli(['--db', db, ...args], { USER: 'olga' });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('snapshot → view → promote → served and used by dnf through its repo file → image → SBOM → parity', async () => {
    const repo = buildRepo(
      join(dir, 'up'),
      [
        { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
        { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
        { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
        { name: 'bw-telnet', version: '0.17', release: '1.azl3' },
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
    const added = await cli('feeds', 'add', 'lab', '--location', join(dir, 'up', 'updateinfo.xml'), '--release', 'azurelinux:3.0');
    expect([added.code, added.err]).toEqual([0, '']);
    expect((await cli('feeds', 'sync', '--source', 'lab')).code).toBe(0);
    expect((await cli('repo', 'add', 'up', '--url', repo, '--no-verify')).code).toBe(0);
    expect((await cli('repo', 'sync', 'up')).out).toMatch(/^up: snapshot [0-9a-f]{16} new, 4 packages/m);
    const view = join(dir, 'lab.yaml');
    writeFileSync(
      view,
      'apiVersion: bulwark/v1\nkind: ContentView\nname: lab\nsources: [{ repo: up }]\nexclude: [{ package: bw-telnet, reason: "no clear-text protocols" }]\npromotion: [canary, prod]\n',
    );
    expect((await cli('view', 'publish', '-f', view)).out).toMatch(/^lab version 1: 3 packages, 1 deviation from upstream/m);
    expect((await cli('view', 'promote', 'lab', '--to', 'prod')).err).toMatch(/has not been in canary yet/);
    expect((await cli('view', 'promote', 'lab', '--to', 'canary')).code).toBe(0);
    expect((await cli('view', 'promote', 'lab', '--to', 'prod')).out).toBe('lab: prod now serves version 1\n');

    const server = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler']);
    try {
      // The host's dnf configuration is exactly what `view repo-file` prints.
      const repoFile = (await cli('view', 'repo-file', 'lab', '--env', 'prod', '--url', server.url)).out;
      expect(repoFile).toMatch(/^repo_gpgcheck=1$/m);
      const reposd = join(dir, 'host-repos.d');
      mkdirSync(reposd);
      writeFileSync(join(reposd, 'bulwark-lab.repo'), repoFile.replace(/^gpgcheck=1$/m, 'gpgcheck=0')); // test packages are unsigned
      const root = join(dir, 'web-1');
      const dnf = (...args: string[]): Promise<{ code: number; out: string }> =>
        new Promise((done) => {
          execFile(
            'dnf',
            ['-y', `--installroot=${root}`, '--releasever=3.0', `--setopt=reposdir=${reposd}`, `--setopt=cachedir=${join(dir, 'cache')}`, ...args],
            (err, stdout, stderr) => {
              done({ code: err === null ? 0 : 1, out: stdout + stderr });
            },
          );
        });
      const installed = await dnf('install', 'bw-openssl', 'bw-curl');
      expect([installed.code, installed.out]).toEqual([0, expect.stringMatching(/bw-openssl/)]);
      // The fingerprint the repo file gives is the one dnf showed when it imported the key.
      const printed = /^# key fingerprint: ([0-9A-F]{40}) /m.exec(repoFile)?.[1];
      const shown = /Fingerprint: ([0-9A-F ]+)$/m.exec(installed.out)?.[1]?.replaceAll(' ', '');
      expect(printed).toBeDefined();
      expect(shown).toBe(printed);
      expect((await dnf('install', 'bw-telnet')).out).toMatch(/No match for argument: bw-telnet/);
    } finally {
      await stopServe(server.child);
    }

    // The host, scanned from its package list; an image from the same environment.
    const qa = join(dir, 'web-1.tsv');
    writeFileSync(
      qa,
      execFileSync('rpm', ['--root', join(dir, 'web-1'), '-qa', '--qf', '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n'], {
        encoding: 'utf8',
      }),
    );
    expect((await cli('scan', '--inventory', qa, '--name', 'web-1', '--release', 'azurelinux:3.0')).code).toBe(0);
    const image = join(dir, 'base.yaml');
    writeFileSync(
      image,
      'apiVersion: bulwark/v1\nkind: Image\nname: base\ntype: container\nrelease: azurelinux:3.0\nfrom: { view: lab, environment: prod }\npackages: [bw-openssl]\n',
    );
    const built = await cli('image', 'build', '-f', image);
    expect(built.out).toMatch(/^base build 1 \(container\) from lab version 1: 1 package$/m);
    const layout = /artifact (\S+)/.exec(built.out)?.[1] ?? '';
    expect(JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:1`], { encoding: 'utf8' })) as { Layers: string[] }).toMatchObject({
      Layers: [expect.stringMatching(/^sha256:/)],
    });
    const sbom = JSON.parse((await cli('image', 'sbom', 'base')).out) as { components: { purl: string }[] };
    expect(sbom.components.map((c) => c.purl)).toEqual([
      'pkg:rpm/azurelinux/bw-openssl@3.3.5-5.azl3?arch=noarch&distro=azurelinux-3.0&epoch=1&upstream=bw-openssl-3.3.5-5.azl3.src.rpm',
    ]);
    // The newest openssl in the view is in both: the image has no finding; the host has curl besides.
    const parity = await cli('image', 'parity', 'base', '--hosts', 'web-1');
    expect(parity.code).toBe(1);
    expect(parity.out).toMatch(/^bw-curl\s+-\s+0:8\.11\.1-3\.azl3\.noarch$/m);
    expect(parity.out).not.toMatch(/^bw-openssl/m);
    expect(readFileSync(join(dir, 'data', 'repo-signing-key.asc'), 'utf8')).toMatch(/BEGIN PGP PRIVATE KEY BLOCK/);
  }, 240_000);
});
