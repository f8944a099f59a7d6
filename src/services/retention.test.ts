import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { rawKysely } from '../storage/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { runCli } from '../../test/cli.js';
import { requires, tools } from '../../test/needs.js';
import { insertImageBuild } from '../storage/index.js';
import { auditLog } from './audit.js';
import { promoteView, publishView, viewVersions } from './content-views.js';
import { addRepo, listSnapshots, objectPath, syncRepo } from './repos.js';
import { planPrune, removeRepo } from './retention.js';
import { openStore, type Db } from './store.js';

/**
 * Retention (issue #21, item 7) on a year of daily snapshots: small repositories made by the real
 * createrepo_c (a new package build each month, a new revision each day), views published by it
 * on five days, one served by prod, one an image was built from, one the latest. Pruning to 30
 * days keeps exactly those and what they were made from, frees the rest of the object store,
 * and the dry run lists the same.
 */
const DAY = 86_400_000;

function storeFiles(objectsDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const root = join(objectsDir, 'sha256');
  for (const shard of existsSync(root) ? readdirSync(root) : [])
    for (const f of readdirSync(join(root, shard))) out.set(f, statSync(join(root, shard, f)).size);
  return out;
}

requires(tools('rpmbuild', 'createrepo_c', 'modifyrepo_c', 'rpm')).describe('retention', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-retention-'));
  const dbPath = join(dir, 'r.db');
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  const served = join(dir, 'served');
  const view = join(dir, 'view.yaml');
  const start = Date.now() - 364.5 * DAY;
  const at = (day: number) => (): Date => new Date(start + day * DAY);
  let db: Db;
  const published: Record<number, number> = {};
  const snapshotOfDay: string[] = [];

  beforeAll(async () => {
    const months = Array.from({ length: 12 }, (_, m) => m + 1);
    buildDummyRpms(join(dir, 'rpms'), [
      { name: 'bw-base', version: '1.0', release: '1' },
      ...months.map((m) => ({ name: 'bw-app', version: `1.${String(m)}`, release: '1' })),
    ]);
    const rpmFiles = readdirSync(join(dir, 'rpms', 'rpms', 'noarch'));
    for (const m of months) {
      const repo = join(dir, `month-${String(m)}`);
      cpSync(join(dir, 'rpms', 'rpms', 'noarch', rpmFiles.find((f) => f.startsWith('bw-base-')) ?? ''), join(repo, 'bw-base.rpm'));
      cpSync(join(dir, 'rpms', 'rpms', 'noarch', rpmFiles.find((f) => f.startsWith(`bw-app-1.${String(m)}-`)) ?? ''), join(repo, `bw-app-1.${String(m)}.rpm`));
      execFileSync('createrepo_c', ['--quiet', '--revision', String(1_000_000 + m * 100), repo]);
    }
    db = await openStore({ dbPath });
    await addRepo(db, { id: 'upstream', url: served, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    writeFileSync(view, 'apiVersion: bulwark/v1\nkind: ContentView\nname: lab\nsources: [{ repo: upstream }]\n');
    let month = 0;
    for (let day = 0; day < 365; day++) {
      const m = Math.min(12, Math.floor(day / 31) + 1);
      if (m !== month) {
        rmSync(served, { recursive: true, force: true });
        cpSync(join(dir, `month-${String(m)}`), served, { recursive: true });
        month = m;
      }
      // The same packages, a new revision each day: another repomd.xml, another snapshot.
      const repomd = join(served, 'repodata', 'repomd.xml');
      writeFileSync(repomd, readFileSync(repomd, 'utf8').replace(/<revision>\d+<\/revision>/, `<revision>${String(1_000_000 + m * 100 + day)}</revision>`));
      snapshotOfDay.push((await syncRepo(db, 'upstream', { objectsDir, clock: at(day) })).snapshot);
      if ([45, 100, 200, 300, 364].includes(day))
        published[day] = (await publishView(db, view, { objectsDir, publishDir, actor: { kind: 'cli', name: 'test' }, clock: at(day) })).version;
    }
    await promoteView(db, { view: 'lab', environment: 'prod', version: published[100] ?? 0, actor: { kind: 'cli', name: 'test' }, clock: at(101) });
    await promoteView(db, { view: 'lab', environment: 'dev', version: published[364] ?? 0, actor: { kind: 'cli', name: 'test' }, clock: at(364) });
    // An image build recorded from version 1 (what matters here is the row, not the image).
    await insertImageBuild(rawKysely(db), {
      image: 'lab-base',
      build: 1,
      type: 'container',
      release: 'azurelinux:3.0',
      view: 'lab',
      viewVersion: published[45] ?? 0,
      createdAt: at(46)().toISOString(),
      createdBy: 'test',
      spec: '',
      dir: join(dir, 'images', 'lab-base', '1'),
      artifact: 'oci',
      digest: 'sha256:00',
      packages: 2,
      target: 'lab-base@1',
    });
  }, 300_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prunes a year of daily snapshots to 30 days, keeping exactly what environments and image builds use; the dry run lists the same', async () => {
    expect(await listSnapshots(db, 'upstream')).toHaveLength(365);
    expect(Object.values(published)).toEqual([1, 2, 3, 4, 5]);
    const before = storeFiles(objectsDir);
    const cli = (...args: string[]) =>
      runCli(['--db', dbPath, 'repo', 'prune', '--snapshot-days', '30', '--version-days', '30', ...args], { USER: 'erin', BULWARK_OBJECTS_DIR: objectsDir });
    const dry = await cli('--dry-run');
    expect(dry.code).toBe(0);
    // Nothing changed by the dry run.
    expect(await listSnapshots(db, 'upstream')).toHaveLength(365);
    expect(storeFiles(objectsDir)).toEqual(before);
    const plan = await planPrune(db, { objectsDir, snapshotDays: 30, versionDays: 30 });

    const real = await cli();
    expect(real.code).toBe(0);
    const items = (out: string, verb: string): string[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith(`${verb} `))
        .map((l) => l.slice(verb.length + 1));
    expect(items(real.out, 'removed')).toEqual(items(dry.out, 'would remove'));
    expect(items(real.out, 'removed').length).toBe(plan.versions.length + plan.snapshots.length + plan.objects.length);
    // Versions: 3 and 4 go; 1 (an image was built from it), 2 (prod) and 5 (the latest, dev) stay.
    expect((await viewVersions(db, 'lab')).map((v) => v.version)).toEqual([5, 2, 1]);
    expect(readdirSync(join(publishDir, 'lab')).sort()).toEqual(['1', '2', '5']);
    // Snapshots: the last 30 days', and those versions 1 and 2 were made from (days 45 and 100).
    const kept = new Set((await listSnapshots(db, 'upstream')).map((s) => s.id));
    const keptDays = snapshotOfDay.flatMap((s, day) => (kept.has(s) ? [day] : []));
    expect(keptDays).toEqual([45, 100, ...Array.from({ length: 30 }, (_, i) => 335 + i)]);
    expect(real.out).toMatch(/^2 view version\(s\), 333 snapshot\(s\), \d+ object\(s\) \(\d+ bytes\) removed$/m);
    // The object store: exactly what the plan named is gone, every kept snapshot's files and
    // packages remain, and it is smaller by the bytes the plan gave.
    const after = storeFiles(objectsDir);
    expect([...before.keys()].filter((k) => !after.has(k)).sort()).toEqual(plan.objects.map((x) => x.sha256).sort());
    expect(plan.objects.length).toBeGreaterThanOrEqual(333);
    const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    expect(sum(before) - sum(after)).toBe(plan.bytes);
    for (const s of await listSnapshots(db, 'upstream')) for (const f of s.files) expect(existsSync(objectPath(objectsDir, f.sha256))).toBe(true);
    // A second prune finds nothing more.
    expect((await cli()).out).toBe('0 view version(s), 0 snapshot(s), 0 object(s) (0 bytes) removed\n');
    expect((await auditLog(db, { limit: 5 })).filter((a) => a.action === 'content.prune')).toHaveLength(2);

    // A repository a kept version uses cannot be removed.
    await expect(removeRepo(db, 'upstream', { actor: { kind: 'cli', name: 'test' } })).rejects.toThrow(
      /repository upstream is a source of lab version 5, lab version 2, lab version 1, which are kept/,
    );
    // One no view uses goes, snapshots and all, audited; its objects go at the next prune.
    await addRepo(db, { id: 'spare', url: join(dir, 'month-1'), keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
    await syncRepo(db, 'spare', { objectsDir });
    const removed = await runCli(['--db', dbPath, 'repo', 'remove', 'spare'], { USER: 'erin', BULWARK_OBJECTS_DIR: objectsDir });
    expect(removed.out).toBe('repository spare removed with 1 snapshot(s); its objects go at the next `bulwark repo prune`\n');
    expect(await listSnapshots(db, 'spare')).toEqual([]);
    expect((await auditLog(db, { limit: 5 })).find((a) => a.action === 'repo.remove')).toMatchObject({ actor: `cli:${userInfo().username}`, subject: 'spare' });
    expect((await cli()).out).toMatch(/^0 view version\(s\), 0 snapshot\(s\), [1-9]\d* object\(s\)/m);
  }, 300_000);
});
