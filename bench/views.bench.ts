/**
 * Issue #7: publishing a content view version on real parts — an upstream repository of 2,000
 * rpm packages (one spec, many subpackages, the real rpmbuild and createrepo_c), snapshotted;
 * then a view with an exclusion and a pin published: mirror (first time), overlays, hard links,
 * createrepo_c. The second version shows publishing alone, the packages being stored already.
 * Then images of 500 of its packages are built from the view (container and WSL).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promoteView, publishView } from '../src/services/content-views.js';
import { buildImage } from '../src/services/images.js';
import { addRepo, syncRepo } from '../src/services/repos.js';
import { openStore } from '../src/services/store.js';
import { hasTool } from '../test/rpm-tools.js';
import type { BenchRow } from './harness.js';

const N = 2000;
const IMAGE_PACKAGES = 500;

export async function run(): Promise<BenchRow[]> {
  if (!['rpmbuild', 'createrepo_c', 'rpm'].every(hasTool))
    return [{ issue: '#7', name: 'content view publish', value: null, unit: 's', target: '', ok: null, note: 'rpmbuild or createrepo_c missing' }];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-view-'));
  try {
    const lines = ['Name: bench-upstream', 'Version: 1', 'Release: 1', 'Summary: bench', 'License: MIT', 'BuildArch: noarch', '%description', 'bench'];
    for (let i = 0; i < N; i++)
      lines.push(
        `%package -n bw-p${String(i).padStart(4, '0')}`,
        `Version: 1.${String(i % 50)}`,
        'Release: 1.azl3',
        'Summary: bench',
        `%description -n bw-p${String(i).padStart(4, '0')}`,
        'bench',
      );
    for (let i = 0; i < N; i++) lines.push(`%files -n bw-p${String(i).padStart(4, '0')}`);
    writeFileSync(join(dir, 'up.spec'), lines.join('\n') + '\n');
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${join(dir, 'build')}`, '--define', `_rpmdir ${repo}`, '--quiet', join(dir, 'up.spec')], {
      stdio: 'pipe',
    });
    execFileSync('createrepo_c', ['--quiet', repo]);
    const db = await openStore({ dbPath: join(dir, 'b.db') });
    try {
      const objectsDir = join(dir, 'objects');
      await addRepo(db, { id: 'up', url: repo, keyFiles: [], verify: false, actor: { kind: 'cli', name: 'bench' } });
      await syncRepo(db, 'up', { objectsDir });
      const view = join(dir, 'view.yaml');
      writeFileSync(
        view,
        'apiVersion: bulwark/v1\nkind: ContentView\nname: bench\nsources: [{ repo: up }]\nexclude: [{ package: "bw-p00*", reason: bench }]\npins: [{ package: "bw-p1*", version: "1.1*", reason: bench }]\n',
      );
      const t0 = performance.now();
      const first = await publishView(db, view, { objectsDir, publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'bench' } });
      const firstS = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const second = await publishView(db, view, { objectsDir, publishDir: join(dir, 'published'), actor: { kind: 'cli', name: 'bench' } });
      const secondS = (performance.now() - t1) / 1000;
      // An image of 500 of those packages, built with the real dnf --installroot from the view.
      await promoteView(db, { view: 'bench', environment: 'prod', actor: { kind: 'cli', name: 'bench' } });
      const names = Array.from({ length: IMAGE_PACKAGES }, (_, i) => `bw-p${String(500 + i).padStart(4, '0')}`);
      const rows: BenchRow[] = [];
      if (hasTool('dnf')) {
        for (const type of ['container', 'wsl'] as const) {
          const def = join(dir, `${type}.yaml`);
          writeFileSync(
            def,
            `apiVersion: bulwark/v1\nkind: Image\nname: bench-${type}\ntype: ${type}\nrelease: azurelinux:3.0\nfrom: { view: bench, environment: prod }\npackages: [${names.join(', ')}]\n`,
          );
          const t2 = performance.now();
          const img = await buildImage(db, def, { imagesDir: join(dir, 'images'), actor: { kind: 'cli', name: 'bench' } });
          rows.push({
            issue: '#7',
            name: `image build: ${type}, ${String(IMAGE_PACKAGES)} packages`,
            value: (performance.now() - t2) / 1000,
            unit: 's',
            target: '',
            ok: null,
            note: `${String(img.packages)} installed by dnf --installroot; ${type === 'container' ? 'OCI layout' : 'WSL tarball'}, 2 SBOMs, stored and scanned`,
          });
        }
      }
      return [
        {
          issue: '#7',
          name: `content view publish: ${String(N)} upstream packages, first version`,
          value: firstS,
          unit: 's',
          target: '',
          ok: null,
          note: `${String(first.packages)} published, ${String(first.deviations.length)} deviation entries; mirror (checksums), overlays, links, createrepo_c`,
        },
        {
          issue: '#7',
          name: '  … next version (packages already stored)',
          value: secondS,
          unit: 's',
          target: '',
          ok: null,
          note: `version ${String(second.version)}: overlays, links, createrepo_c`,
        },
        ...rows,
      ];
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
