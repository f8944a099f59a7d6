import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { requires, tools } from '../../test/needs.js';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { updateinfoXml } from '../../test/ssh-fleet.js';
import { environmentDir, promoteView, publishView } from './content-views.js';
import { addRepo, syncRepo } from './repos.js';
import { openStore, type Db } from './store.js';

/**
 * Monthly baselines (issue #21, items 3 and 9): "the upstream snapshot of date D, plus only the
 * security advisories issued up to D2", promoted dev → prod after a reviewed diff, each
 * environment consumed by the real dnf. The upstream repository is made by the real
 * createrepo_c and modifyrepo_c, with a security, a bugfix and a later security advisory.
 */
const BASELINE = (d: string, d2: string): string => `apiVersion: bulwark/v1
kind: ContentView
name: azl3-monthly
description: the upstream snapshot of ${d}, plus the security advisories issued up to ${d2}
promotion: [dev, prod]
sources:
  - { repo: upstream, date: "${d}" }
  - { repo: upstream, advisories: { types: [security], issuedUpTo: "${d2}" } }
`;

requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm')).describe('monthly baselines with advisory filters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-baseline-'));
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  const served = join(dir, 'served');
  const view = join(dir, 'view.yaml');
  let db: Db;
  const day = (d: string) => (): Date => new Date(`${d}T12:00:00Z`);

  beforeAll(async () => {
    const all = buildDummyRpms(join(dir, 'b'), [
      { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3' },
      { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' },
      { name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' },
      { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
    ]);
    const repo = (name: string, rpms: string[], ui: string | null): string => {
      const r = join(dir, name);
      for (const f of rpms) cpSync(f, join(r, f.split('/').pop() ?? ''));
      execFileSync('createrepo_c', ['--quiet', r]);
      if (ui !== null) {
        writeFileSync(join(dir, `${name}-updateinfo.xml`), ui);
        execFileSync('modifyrepo_c', ['--mdtype=updateinfo', join(dir, `${name}-updateinfo.xml`), join(r, 'repodata')], { stdio: 'pipe' });
      }
      return r;
    };
    // November 1st: the month's base. December 5th: the fixes since, with their advisories.
    const nov = repo(
      'nov',
      all.filter((f) => /3\.3\.0|8\.8\.0/.test(f)),
      null,
    );
    const ui = updateinfoXml([
      {
        id: 'ADV-SSL',
        severity: 'Critical',
        issued: new Date('2026-11-20T00:00:00Z'),
        cves: ['CVE-2026-1001'],
        packages: [{ name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3' }],
      },
      {
        id: 'ADV-CURL',
        severity: 'Moderate',
        issued: new Date('2026-11-21T00:00:00Z'),
        cves: [],
        packages: [{ name: 'bw-curl', version: '8.11.1', release: '3.azl3' }],
      },
      {
        id: 'ADV-SSL34',
        severity: 'Important',
        issued: new Date('2026-12-02T00:00:00Z'),
        cves: ['CVE-2026-1003'],
        packages: [{ name: 'bw-openssl', epoch: 1, version: '3.4.0', release: '1.azl3' }],
      },
    ]).replace('type="security" version="2.0"><id>ADV-CURL', 'type="bugfix" version="2.0"><id>ADV-CURL');
    const dec = repo('dec', all, ui);
    db = await openStore({ dbPath: join(dir, 'b.db') });
    await addRepo(db, { id: 'upstream', url: served, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    cpSync(nov, served, { recursive: true });
    await syncRepo(db, 'upstream', { objectsDir, clock: day('2026-11-01') });
    rmSync(served, { recursive: true });
    cpSync(dec, served, { recursive: true });
    await syncRepo(db, 'upstream', { objectsDir, clock: day('2026-12-05') });
  }, 180_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the real dnf installs from an environment into a fresh root. */
  const installFrom = async (env: string): Promise<string[]> => {
    const repoDir = await environmentDir(db, 'azl3-monthly', env);
    const root = mkdtempSync(join(dir, `host-${env}-`));
    const r = spawnSync(
      'dnf',
      [
        '-y',
        `--installroot=${root}`,
        '--releasever=3.0',
        '--disablerepo=*',
        `--repofrompath=view,file://${repoDir ?? ''}`,
        '--enablerepo=view',
        '--nogpgcheck',
        '--setopt=reposdir=/nonexistent',
        `--setopt=cachedir=${join(root, '.cache')}`,
        'install',
        'bw-openssl',
        'bw-curl',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    return execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' }).trim().split('\n').sort();
  };

  it("publishes November's baseline (snapshot of Nov 1 plus security advisories up to Nov 30), then December's, promoted dev → prod after a diff; dnf in each environment gets exactly its baseline", async () => {
    writeFileSync(view, BASELINE('2026-11-01', '2026-11-30'));
    const nov = await publishView(db, view, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, clock: day('2026-12-06') });
    // The base's builds, plus ADV-SSL's fix; not ADV-CURL's (a bugfix), not ADV-SSL34's (issued Dec 2).
    expect(nov.packages).toBe(3);
    await promoteView(db, { view: 'azl3-monthly', environment: 'dev', actor: { kind: 'cli', name: 'test' } });
    expect(await installFrom('dev')).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3']);
    await promoteView(db, { view: 'azl3-monthly', environment: 'prod', actor: { kind: 'cli', name: 'test' } });

    writeFileSync(view, BASELINE('2026-12-05', '2026-12-31'));
    const dec = await publishView(db, view, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, clock: day('2027-01-06') });
    expect([dec.version, dec.packages]).toEqual([2, 5]);
    await promoteView(db, { view: 'azl3-monthly', environment: 'dev', actor: { kind: 'cli', name: 'test' } });
    // The reviewed diff: what prod would get from dev's version.
    const cli = (...args: string[]) => runCli(['--db', join(dir, 'b.db'), ...args], { USER: 'erin', BULWARK_OBJECTS_DIR: objectsDir });
    const diff = await cli('view', 'diff', 'azl3-monthly', '--env', 'prod', '--env', 'dev');
    expect(diff.out).toBe(
      [
        'azl3-monthly: version 1 (prod) → version 2 (dev)',
        '  ↑ bw-curl.noarch 0:8.8.0-1.azl3 → 0:8.11.1-3.azl3',
        '  ↑ bw-openssl.noarch 1:3.3.5-5.azl3 → 1:3.4.0-1.azl3',
        '  advisory gained ADV-CURL',
        '  advisory gained ADV-SSL34',
        '',
      ].join('\n'),
    );
    expect(await installFrom('prod')).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3']);
    expect(await installFrom('dev')).toEqual(['bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.4.0-1.azl3']);
    expect((await cli('view', 'promote', 'azl3-monthly', '--to', 'prod')).code).toBe(0);
    expect(await installFrom('prod')).toEqual(['bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.4.0-1.azl3']);
  }, 180_000);

  it('refuses a date no snapshot is that old, naming it', async () => {
    writeFileSync(view, BASELINE('2026-10-01', '2026-10-31'));
    await expect(publishView(db, view, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /upstream has no snapshot taken on or before 2026-10-01/,
    );
  });
});
