/**
 * Reference oracles for version comparison: small C programs linked against the real librpm
 * and libdpkg (Debian's librpm-dev and libdpkg-dev), built on demand with the machine's cc.
 * They answer hundreds of thousands of pairs per second, which spawning `rpm`/`dpkg` per pair
 * could not; test/version-oracle.test.ts also checks them against the `rpm` and `dpkg`
 * commands themselves on a sample, so the oracle is proven to be the tool.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inCi } from './needs.js';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = join(tmpdir(), `bulwark-oracle-${process.getuid?.() ?? 0}`);

export type OracleName = 'rpm' | 'dpkg';

const SOURCES: Record<OracleName, { file: string; libs: string[]; probe: string }> = {
  rpm: { file: 'rpm-oracle.c', libs: ['-lrpm', '-lrpmio'], probe: '/usr/include/rpm/rpmver.h' },
  dpkg: { file: 'dpkg-oracle.c', libs: ['-ldpkg'], probe: '/usr/include/dpkg/version.h' },
};

/**
 * Path of the built oracle, or the reason it cannot be built here (missing cc or headers).
 */
export function buildOracle(name: OracleName): { path: string } | { missing: string } {
  const src = SOURCES[name];
  if (!existsSync(src.probe)) return { missing: `${src.probe} (install ${name === 'rpm' ? 'librpm-dev' : 'libdpkg-dev'})` };
  const source = join(here, 'oracle', src.file);
  const out = join(cacheDir, name);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
    const r = spawnSync('cc', ['-O2', '-o', out, source, ...src.libs], { encoding: 'utf8' });
    if (r.error) return { missing: `cc (${r.error.message})` };
    if (r.status !== 0) return { missing: `a working build of ${src.file}: ${r.stderr}` };
  }
  return { path: out };
}

/** Runs an oracle over lines, returning its output lines. */
export function runOracle(path: string, args: string[], lines: string[]): string[] {
  const input = Buffer.from(lines.join('\n') + '\n', 'latin1');
  const r = spawnSync(path, args, { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`oracle ${path} failed: ${r.stderr.toString()}`);
  const out = r.stdout.toString('latin1').split('\n');
  out.pop();
  return out;
}

/**
 * Whether a test that needs a real tool must run: in CI (CI=true) a missing tool is a failure,
 * not a skip; elsewhere the test is skipped with a message naming what is missing. (Its suite
 * builds the oracle's answers while it is collected, so the file fails as a whole in CI; other
 * tests use test/needs.ts.)
 */
export function requireTool(what: string, missing: string | null): boolean {
  if (missing === null) return true;
  if (inCi()) throw new Error(`CI needs ${what}, but this machine lacks ${missing}. Run: sudo bash scripts/setup-test.sh`);
  console.warn(`[skipped] ${what}: missing ${missing}. Run scripts/setup-test.sh (as root) to install it.`);
  return false;
}
