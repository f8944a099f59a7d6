/**
 * Issue #7: a snapshot of a repository with 10,000 packages (a generated primary.xml, gzip, in
 * rpm-md form with its repomd.xml signed by the real gpg when it is there): fetch, verify the
 * signature and checksums, count the packages, store the objects, record the snapshot.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { addRepo, syncRepo } from '../src/services/repos.js';
import { openStore } from '../src/services/store.js';
import { hasTool } from '../test/rpm-tools.js';
import type { BenchRow } from './harness.js';

const N = 10_000;

function primaryXml(n: number): string {
  const pkgs: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `pkg-${String(i).padStart(5, '0')}`;
    const sum = createHash('sha256').update(name).digest('hex');
    pkgs.push(
      `<package type="rpm"><name>${name}</name><arch>x86_64</arch><version epoch="0" ver="1.${String(i % 97)}.0" rel="${String(1 + (i % 5))}.azl3"/><checksum type="sha256" pkgid="YES">${sum}</checksum><summary>generated</summary><description>generated package ${String(i)}</description><packager>bench</packager><url>https://example.test</url><time file="1700000000" build="1700000000"/><size package="${String(20_000 + i)}" installed="${String(80_000 + i)}" archive="${String(81_000 + i)}"/><location href="Packages/p/${name}-1.0-1.azl3.x86_64.rpm"/><format><rpm:license>MIT</rpm:license><rpm:vendor>Bench</rpm:vendor><rpm:group>Unspecified</rpm:group><rpm:buildhost>bench</rpm:buildhost><rpm:sourcerpm>${name}-1.0-1.azl3.src.rpm</rpm:sourcerpm><rpm:header-range start="4504" end="9000"/><rpm:provides><rpm:entry name="${name}" flags="EQ" epoch="0" ver="1.0" rel="1.azl3"/></rpm:provides></format></package>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${String(n)}">\n${pkgs.join('\n')}\n</metadata>\n`;
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-repo-'));
  try {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'repodata'), { recursive: true });
    const gz = gzipSync(primaryXml(N));
    const sum = createHash('sha256').update(gz).digest('hex');
    const href = `repodata/${sum}-primary.xml.gz`;
    writeFileSync(join(repo, href), gz);
    writeFileSync(
      join(repo, 'repodata', 'repomd.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision><data type="primary"><checksum type="sha256">${sum}</checksum><location href="${href}"/><size>${String(gz.length)}</size></data></repomd>\n`,
    );
    let keyFiles: string[] = [];
    if (hasTool('gpg')) {
      const home = join(dir, 'gnupg');
      mkdirSync(home, { mode: 0o700 });
      const gpg = (...a: string[]): string =>
        execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--passphrase', '', '--pinentry-mode', 'loopback', ...a], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      gpg('--quick-gen-key', 'Bench <bench@example.test>', 'ed25519', 'sign', 'never');
      gpg('--armor', '--detach-sign', '--output', join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml'));
      writeFileSync(join(dir, 'key.asc'), gpg('--armor', '--export', 'bench@example.test'));
      keyFiles = [join(dir, 'key.asc')];
    }
    const db = await openStore({ dbPath: join(dir, 'b.db') });
    try {
      await addRepo(db, { id: 'bench', url: repo, keyFiles, verify: keyFiles.length > 0, actor: { kind: 'cli', name: 'bench' } });
      const t0 = performance.now();
      const r = await syncRepo(db, 'bench', { objectsDir: join(dir, 'objects') });
      const first = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      await syncRepo(db, 'bench', { objectsDir: join(dir, 'objects') });
      const again = (performance.now() - t1) / 1000;
      return [
        {
          issue: '#7',
          name: `repository snapshot: ${String(r.packages)} packages`,
          value: first,
          unit: 's',
          target: 'seconds',
          ok: first < 10,
          note: `primary.xml.gz ${String(Math.round(gz.length / 1024))} KiB; ${keyFiles.length > 0 ? 'repomd.xml signature verified (gpg-made, ed25519)' : 'no gpg here: signature not checked'}, checksums, packages counted, objects stored`,
        },
        {
          issue: '#7',
          name: '  … the same repository again (unchanged)',
          value: again,
          unit: 's',
          target: '',
          ok: null,
          note: 'verified again; same snapshot, no new objects',
        },
      ];
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
