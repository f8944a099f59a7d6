import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAptRepo, type DummyDeb } from './ssh-fleet.js';

/**
 * A Debian archive as a publisher lays one out, made with the real dpkg-deb, dpkg-scanpackages
 * and xz: pool/, then dists/stable/main/binary-amd64/Packages(.xz) and an (unsigned) Release
 * listing the index's SHA-256. Returns the archive's root.
 */
export function buildAptArchive(dir: string, debs: readonly DummyDeb[]): string {
  const built = buildAptRepo(join(dir, 'build'), debs);
  const root = join(dir, 'archive');
  cpSync(built, join(root, 'pool'), { recursive: true });
  rmSync(join(root, 'pool', 'Packages'));
  const bin = join(root, 'dists', 'stable', 'main', 'binary-amd64');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'Packages'),
    execFileSync('dpkg-scanpackages', ['--multiversion', 'pool'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  execFileSync('xz', ['-kf', join(bin, 'Packages')]);
  const rel = 'main/binary-amd64/Packages.xz';
  const bytes = readFileSync(join(root, 'dists', 'stable', rel));
  writeFileSync(
    join(root, 'dists', 'stable', 'Release'),
    `Suite: stable\nCodename: bookworm\nArchitectures: amd64\nComponents: main\nSHA256:\n ${createHash('sha256').update(bytes).digest('hex')} ${String(bytes.length)} ${rel}\n`,
  );
  return root;
}
