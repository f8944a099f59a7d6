import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { requires, tools } from '../../test/needs.js';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { updateinfoXml } from '../../test/ssh-fleet.js';
import type { Deviation } from '../repos/content-view.js';
import { auditLog } from './audit.js';
import { publishedPackages, publishView, viewVersions } from './content-views.js';
import { addRepo, syncRepo } from './repos.js';
import { openStore, type Db } from './store.js';
import { addAdvisoriesToView } from './view-incremental.js';

/**
 * Incremental update (issue #21, item 4): a view pinned to an old openssl; upstream (made by the
 * real createrepo_c and modifyrepo_c) has the fixed openssl, which needs a newer openssl-libs
 * (`Requires: bw-openssl-libs >= 1:3.3.5-5.azl3`) and a curl the view already has. Adding the
 * advisory publishes a version where the real dnf installs the fixed openssl and pulls the new
 * libs from the view; every other package is the base version's.
 */
const VIEW = `apiVersion: bulwark/v1
kind: ContentView
name: lab
sources: [{ repo: upstream }]
pins:
  - { package: "bw-openssl*", version: "3.3.0-*", reason: "validated build" }
  - { package: bw-curl, version: "8.8.0-*", reason: "validated build" }
  - { package: bw-broken, version: "1.0-*", reason: "validated build" }
`;

requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'dnf', 'rpm', 'gpg')).describe('adding advisories to a published version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-incr-'));
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  const served = join(dir, 'served');
  const dbPath = join(dir, 'i.db');
  let db: Db;
  const me = `cli:${userInfo().username}`;
  const env = { BULWARK_OBJECTS_DIR: objectsDir, BULWARK_SIGNING_KEY_FILE: join(dir, 'key.asc') };

  beforeAll(async () => {
    const rpms = buildDummyRpms(join(dir, 'b'), [
      { name: 'bw-openssl', epoch: 1, version: '3.3.0', release: '2.azl3', requires: ['bw-openssl-libs'] },
      { name: 'bw-openssl-libs', epoch: 1, version: '3.3.0', release: '2.azl3' },
      { name: 'bw-openssl', epoch: 1, version: '3.3.5', release: '5.azl3', requires: ['bw-openssl-libs >= 1:3.3.5-5.azl3', 'bw-curl >= 8.0'] },
      { name: 'bw-openssl-libs', epoch: 1, version: '3.3.5', release: '5.azl3' },
      { name: 'bw-curl', version: '8.8.0', release: '1.azl3' },
      { name: 'bw-curl', version: '8.11.1', release: '3.azl3' },
      { name: 'bw-broken', version: '1.0', release: '1' },
      { name: 'bw-broken', version: '2.0', release: '1', requires: ['bw-missing >= 1.0'] },
    ]);
    for (const f of rpms) cpSync(f, join(served, f.split('/').pop() ?? ''));
    execFileSync('createrepo_c', ['--quiet', served]);
    const ui = join(dir, 'updateinfo.xml');
    writeFileSync(
      ui,
      updateinfoXml([
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
          id: 'ADV-BROKEN',
          severity: 'Low',
          issued: new Date('2026-11-22T00:00:00Z'),
          cves: [],
          packages: [{ name: 'bw-broken', version: '2.0', release: '1' }],
        },
      ]),
    );
    execFileSync('modifyrepo_c', ['--mdtype=updateinfo', ui, join(served, 'repodata')], { stdio: 'pipe' });
    db = await openStore({ dbPath });
    await addRepo(db, { id: 'upstream', url: served, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    await syncRepo(db, 'upstream', { objectsDir });
    writeFileSync(join(dir, 'view.yaml'), VIEW);
    await publishView(db, join(dir, 'view.yaml'), { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } });
  }, 180_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const listed = async (version: number): Promise<string[]> => {
    const v = (await viewVersions(db, 'lab')).find((x) => x.version === version);
    const out: string[] = [];
    for await (const p of publishedPackages(v?.dir ?? '/nonexistent')) out.push(`${p.name}-${p.version}`);
    return out.sort();
  };

  /** What the real dnf installs from a version's directory into a fresh root. */
  const installFrom = (version: number, repoDir: string): string[] => {
    const root = mkdtempSync(join(dir, `host-${String(version)}-`));
    const r = spawnSync(
      'dnf',
      [
        '-y',
        `--installroot=${root}`,
        '--releasever=3.0',
        '--disablerepo=*',
        `--repofrompath=view,file://${repoDir}`,
        '--enablerepo=view',
        '--nogpgcheck',
        '--setopt=reposdir=/nonexistent',
        `--setopt=cachedir=${join(root, '.cache')}`,
        'install',
        'bw-openssl',
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    return execFileSync('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'], { encoding: 'utf8' }).trim().split('\n').sort();
  };

  it('publishes the advisory and the libs it requires on top of version 1, the rest unchanged; dnf installs the fix with the new libs from the view', async () => {
    const before = await listed(1);
    expect(before).toEqual(['bw-broken-0:1.0-1', 'bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.0-2.azl3', 'bw-openssl-libs-1:3.3.0-2.azl3']);
    const r = await runCli(['--db', dbPath, 'view', 'add-advisory', 'lab', 'ADV-SSL'], env);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain('lab version 2: 4 packages, ADV-SSL added');
    expect(r.out).toContain('added bw-openssl-libs 1:3.3.5-5.azl3.noarch (bw-openssl-1:3.3.5-5.azl3.noarch requires bw-openssl-libs >= 1:3.3.5-5.azl3)');
    // Two builds changed (up), nothing else: curl stays 8.8.0 (it satisfies "bw-curl >= 8.0"), ADV-CURL is not taken.
    expect(await listed(2)).toEqual(['bw-broken-0:1.0-1', 'bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3', 'bw-openssl-libs-1:3.3.5-5.azl3']);
    const v2 = (await viewVersions(db, 'lab')).find((x) => x.version === 2);
    const v1 = (await viewVersions(db, 'lab')).find((x) => x.version === 1);
    expect(installFrom(1, v1?.dir ?? '')).toEqual(['bw-openssl-1:3.3.0-2.azl3', 'bw-openssl-libs-1:3.3.0-2.azl3']);
    expect(installFrom(2, v2?.dir ?? '')).toEqual(['bw-curl-0:8.8.0-1.azl3', 'bw-openssl-1:3.3.5-5.azl3', 'bw-openssl-libs-1:3.3.5-5.azl3']);
    // The report: the base's deviations (pins, the still-withheld ADV-CURL), ADV-SSL no longer withheld, the additions by whom.
    const devs = (v2?.deviations ?? []) as Deviation[];
    expect(devs.filter((d) => d.kind === 'withheld').map((d) => d.advisory)).toEqual(['ADV-CURL', 'ADV-BROKEN']);
    expect(devs.filter((d) => d.kind === 'added')).toEqual([
      {
        kind: 'added',
        package: 'bw-openssl',
        builds: ['1:3.3.5-5.azl3.noarch'],
        advisory: 'ADV-SSL',
        reason: `advisory ADV-SSL, added on top of version 1 by ${me}`,
      },
      {
        kind: 'added',
        package: 'bw-openssl-libs',
        builds: ['1:3.3.5-5.azl3.noarch'],
        advisory: 'ADV-SSL',
        reason: `for advisory ADV-SSL: bw-openssl-1:3.3.5-5.azl3.noarch requires bw-openssl-libs >= 1:3.3.5-5.azl3, added on top of version 1 by ${me}`,
      },
    ]);
    expect(devs.filter((d) => d.kind === 'pinned-out').map((d) => d.package)).toEqual(
      ((v1?.deviations ?? []) as Deviation[]).filter((d) => d.kind === 'pinned-out').map((d) => d.package),
    );
    // The published updateinfo now carries ADV-SSL (its build is published).
    const ui = execFileSync('sh', ['-c', `zcat -f ${v2?.dir ?? ''}/repodata/*updateinfo*`], { encoding: 'utf8' });
    expect(ui).toContain('<id>ADV-SSL</id>');
    expect(ui).not.toContain('<id>ADV-CURL</id>');
    const audit = (await auditLog(db, { limit: 10 })).filter((e) => e.action === 'view.add-advisory');
    expect(audit.map((e) => [e.actor, e.subject, e.detail['from'], e.detail['advisories']])).toEqual([[me, 'lab', 1, ['ADV-SSL']]]);
  }, 180_000);

  it('refuses an unknown advisory and an unresolvable requirement, naming them, and publishes nothing', async () => {
    const count = (await viewVersions(db, 'lab')).length;
    await expect(
      addAdvisoriesToView(db, { view: 'lab', advisories: ['ADV-SSL', 'ADV-NOPE'], objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } }),
    ).rejects.toThrow(/no advisory ADV-NOPE in the updateinfo of upstream/);
    await expect(
      addAdvisoriesToView(db, { view: 'lab', advisories: ['ADV-BROKEN'], from: 1, objectsDir, publishDir, actor: { kind: 'cli', name: 'test' } }),
    ).rejects.toThrow(/bw-broken-0:2.0-1.noarch requires "bw-missing >= 1.0", which nothing in the view or its upstream snapshot provides/);
    const r = await runCli(['--db', dbPath, 'view', 'add-advisory', 'lab', 'ADV-NOPE'], env);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('ADV-NOPE');
    expect((await viewVersions(db, 'lab')).length).toBe(count);
  }, 60_000);
});
