import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { FEED, installed, testbed } from '../../test/patch-testbed.js';
import { rootTransport } from '../../test/root-transport.js';
import { environmentDir, promoteView, publishView } from './content-views.js';
import { ingestFeedFile } from './ingest.js';
import { importRootInventory } from './inventory.js';
import { applyPolicyFile, makePlan } from './policies.js';
import { addRepo, syncRepo } from './repos.js';
import { createRun, executeRun } from './runs.js';
import { scanTarget } from './scan.js';
import { openStore } from './store.js';
import { requires, tools } from '../../test/needs.js';

const run = promisify(execFile);

/**
 * A policy that patches from a content view (issue #7: "patch runs use it as their source"), on
 * real parts: the view is published from an rpmbuild + createrepo_c repository, the host is an
 * rpm root managed by the real dnf with the view's repository and a second, broken one.
 */
const needs = requires(tools('rpmbuild', 'createrepo_c', 'dnf', 'rpm'));

needs.describe('patching from a content view', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-viewsrc-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('targets the builds the view publishes, leaves what it lacks, and runs dnf on the view repository alone', async () => {
    const db = await openStore({ dbPath: join(dir, 'v.db') });
    try {
      const tb = testbed(join(dir, 'tb'), ['h1']);
      const objectsDir = join(dir, 'objects');
      await addRepo(db, { id: 'upstream', url: tb.repo, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'test' } });
      await syncRepo(db, 'upstream', { objectsDir });
      // The view carries openssl 3.4 only (the advisory's fix is 3.3.5) and no kernel.
      const view = join(dir, 'view.yaml');
      writeFileSync(
        view,
        'apiVersion: bulwark/v1\nkind: ContentView\nname: lab\nsources: [{ repo: upstream }]\nexclude: [{ package: "kernel*", reason: "kernels come with the node image" }]\npins: [{ package: bw-openssl, version: "3.4.*", reason: "the fleet moved to 3.4" }]\n',
      );
      await publishView(db, view, { objectsDir, publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'test' } });
      await promoteView(db, { view: 'lab', environment: 'prod', actor: { kind: 'cli', name: 'test' } });
      const served = (await environmentDir(db, 'lab', 'prod')) ?? '';

      const feed = join(dir, 'feed.json');
      writeFileSync(feed, JSON.stringify(FEED));
      await ingestFeedFile(db, feed);
      const root = tb.roots.get('h1') ?? '';
      const h1 = (await importRootInventory(db, { dir: root, name: 'h1', release: 'azurelinux:3.0', kind: 'host' })).target.id;
      await scanTarget(db, 'h1');
      const pf = join(dir, 'policy.yaml');
      writeFileSync(
        pf,
        'apiVersion: bulwark/v1\nkind: Policy\nname: lab\ncadence: { monthly: { weekday: tuesday, week: 2 } }\nreboot: never\nsource: { view: lab, environment: prod, repoId: bulwark-lab }\n',
      );
      await applyPolicyFile(db, pf);

      const { plan, pk } = await makePlan(db, 'lab', { save: true });
      const e = plan.entries[0];
      expect(e?.packages.map((p) => `${p.name}@${p.to}`)).toEqual(['bw-curl@0:8.11.1-3.azl3', 'bw-openssl@1:3.4.0-1.azl3']);
      expect(e?.excluded).toEqual([{ package: 'kernel', why: 'no build of 0:6.6.2-1.azl3 or later in lab/prod' }]);

      // The host knows the view as "bulwark-lab", and has another repository that is broken.
      const reposd = join(dir, 'h1-repos.d');
      mkdirSync(reposd);
      writeFileSync(
        join(reposd, 'hosts.repo'),
        `[bulwark-lab]\nname=lab (prod)\nbaseurl=file://${served}\ngpgcheck=0\n\n[vendor]\nname=broken mirror\nbaseurl=file://${join(dir, 'no-such-mirror')}\ngpgcheck=0\n`,
      );
      const extra = [
        '--releasever=3.0',
        '--nogpgcheck',
        '--setopt=install_weak_deps=False',
        `--setopt=reposdir=${reposd}`,
        `--setopt=cachedir=${join(dir, 'cache')}`,
      ];
      // Without the restriction the broken repository fails dnf outright.
      await expect(run('dnf', [`--installroot=${root}`, ...extra, '--assumeno', 'install', 'bw-curl-0:8.11.1-3.azl3'])).rejects.toMatchObject({
        stderr: expect.stringMatching(/vendor/) as unknown,
      });

      const t = rootTransport(new Map([[h1, { root, extra }]]), async () => {
        await importRootInventory(db, { dir: root, name: 'h1', release: 'azurelinux:3.0', kind: 'host' });
        await scanTarget(db, 'h1');
      });
      const r = await executeRun(db, await createRun(db, 'lab', plan, pk, { failureThreshold: 0, maxConcurrency: 1 }), t);
      expect([r.run.status, r.steps.map((s) => `${s.kind}:${s.state}`).join(' ')]).toEqual(['done', 'precheck:done update:done rescan:done']);
      expect(installed(root)).toEqual(['bw-curl-0:8.11.1-3.azl3', 'bw-openssl-1:3.4.0-1.azl3', 'kernel-0:6.6.1-1.azl3']);
    } finally {
      await db.close();
    }
  }, 240_000);
});
