import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requires, tools } from '../../test/needs.js';
import { buildDummyRpms } from '../../test/rpm-tools.js';
import { rawKysely } from '../storage/index.js';
import { promoteView, publishView, viewVersions } from './content-views.js';
import { addRepo, syncRepo } from './repos.js';
import { applyPrune, planPrune } from './retention.js';
import { openStore, type Db } from './store.js';

/**
 * Retention and composite views (issue #21, items 5 and 7): a composite version records which
 * version of each part it was made from, and pruning never removes a part version a kept
 * composite version was built from — even after the part's environment moved on — while the
 * part's other old versions go. Versions published before parts were recorded are covered by the
 * promotion history.
 */
requires(tools('rpmbuild', 'createrepo_c', 'rpm')).describe('retention keeps the parts of kept composite versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-retention-composite-'));
  const objectsDir = join(dir, 'objects');
  const publishDir = join(dir, 'published');
  const served = join(dir, 'served');
  const actor = { kind: 'cli' as const, name: 'test' };
  const at = (minute: number) => (): Date => new Date(Date.UTC(2026, 10, 1, 12, minute));
  let db: Db;

  const base = (n: number): string => {
    const f = join(dir, `base-${String(n)}.yaml`);
    writeFileSync(f, `apiVersion: bulwark/v1\nkind: ContentView\nname: base\ndescription: edition ${String(n)}\nsources: [{ repo: upstream }]\n`);
    return f;
  };

  beforeAll(async () => {
    const rpms = buildDummyRpms(join(dir, 'b'), [{ name: 'bw-base', version: '1.0', release: '1' }]);
    for (const f of rpms) cpSync(f, join(served, f.split('/').pop() ?? ''));
    execFileSync('createrepo_c', ['--quiet', served]);
    db = await openStore({ dbPath: join(dir, 'r.db') });
    await addRepo(db, { id: 'upstream', url: served, keyFiles: [], verify: false, actor });
    await syncRepo(db, 'upstream', { objectsDir, clock: at(0) });
    // base 1, served by prod; the composite made from prod (base 1); then base 2 and 3, prod moves to 3.
    await publishView(db, base(1), { objectsDir, publishDir, actor, clock: at(1) });
    await promoteView(db, { view: 'base', environment: 'prod', version: 1, actor, clock: at(2) });
    const whole = join(dir, 'whole.yaml');
    writeFileSync(whole, 'apiVersion: bulwark/v1\nkind: ContentView\nname: whole\nsources: [{ view: base, environment: prod }]\n');
    await publishView(db, whole, { objectsDir, publishDir, actor, clock: at(3) });
    await publishView(db, base(2), { objectsDir, publishDir, actor, clock: at(4) });
    await publishView(db, base(3), { objectsDir, publishDir, actor, clock: at(5) });
    await promoteView(db, { view: 'base', environment: 'prod', version: 3, actor, clock: at(6) });
  }, 120_000);

  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plannedVersions = async (): Promise<string[]> =>
    (await planPrune(db, { objectsDir, keepVersions: 1, clock: at(60) })).versions.map((v) => `${v.view}@${String(v.version)}`);

  it('records the part versions a composite version was made from', async () => {
    expect((await viewVersions(db, 'whole')).map((v) => v.parts)).toEqual([[{ view: 'base', environment: 'prod', version: 1 }]]);
    expect((await viewVersions(db, 'base')).map((v) => v.parts)).toEqual([null, null, null]);
  });

  it('keeps a part version a kept composite version was built from, by its record or, for older rows, by the promotion history', async () => {
    // base 1 is neither served nor the latest: only the composite keeps it.
    expect(await plannedVersions()).toEqual(['base@2']);
    await rawKysely(db).updateTable('view_versions').set({ parts: null }).where('view', '=', 'whole').execute();
    expect(await plannedVersions()).toEqual(['base@2']);
  });

  it('prunes as planned: the part version and its files stay, the other old version goes', async () => {
    const plan = await planPrune(db, { objectsDir, keepVersions: 1, clock: at(60) });
    await applyPrune(db, plan, { objectsDir, publishDir, actor, clock: at(61) });
    const left = await viewVersions(db);
    expect(left.map((v) => `${v.view}@${String(v.version)}`)).toEqual(['base@3', 'base@1', 'whole@1']);
    for (const v of left) expect(existsSync(join(v.dir, 'repodata', 'repomd.xml'))).toBe(true);
    expect(existsSync(join(publishDir, 'base', '2'))).toBe(false);
  });
});
