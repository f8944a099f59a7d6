import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildImage, IMAGE_UID } from '../scripts/build-image.js';
import { VERSION } from '../src/version.js';
import { need, requires, root, tools } from './needs.js';

/**
 * The container image of Bulwark (issue #18 item 1), built by scripts/build-image.ts: checked as
 * the image tests check theirs (skopeo reads and re-hashes it, umoci unpacks it), then its own
 * rootfs is run: `unshare --mount --pid --root=ROOTFS --setuid 10001` (a mount and PID namespace,
 * chrooted, as the image's non-root user; no container runtime is installed here) and answers
 * on its port. umoci unpacks as root to keep the image's owners (the volume /var/lib/bulwark is
 * the bulwark user's).
 */
const repo = join(import.meta.dirname, '..');
const built = existsSync(join(repo, 'dist', 'cli', 'main.js'));
const needs = requires(
  tools('skopeo', 'umoci', 'unshare', 'ldd', 'pgrep'),
  root('umoci unpack keeping the owners, and unshare --setuid'),
  need('the build', built ? null : 'dist/ is missing: run npm run build (npm test does)'),
);

/** SIGTERM to the server unshare started (its only child). */
function stopServer(unshare: ChildProcess): void {
  const pids = execFileSync('pgrep', ['-P', String(unshare.pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((p) => p !== '');
  for (const p of pids) process.kill(Number(p), 'SIGTERM');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => {
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  });
}

needs.describe('the Bulwark container image', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-image-test-'));
  const layout = join(dir, 'oci');
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    await buildImage({ output: layout, tag: VERSION });
  }, 600_000);
  afterAll(() => {
    if (child !== undefined) stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  });

  needs.it('is an OCI layout skopeo reads and copies: non-root user, a volume for the state, port 8080', () => {
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:${VERSION}`], { encoding: 'utf8' })) as {
      config: { User: string; Volumes: Record<string, unknown>; ExposedPorts: Record<string, unknown>; Entrypoint: string[]; Env: string[] };
    };
    expect(config.config.User).toBe(`${String(IMAGE_UID)}:${String(IMAGE_UID)}`);
    expect(Object.keys(config.config.Volumes)).toEqual(['/var/lib/bulwark']);
    expect(Object.keys(config.config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(config.config.Entrypoint).toEqual(['/usr/bin/node', '/opt/bulwark/bin/bulwark.js']);
    expect(config.config.Env).toContain('XDG_DATA_HOME=/var/lib');
    // skopeo re-hashes every blob when it copies: a wrong digest or size fails here.
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:${VERSION}`, `oci:${join(dir, 'copied')}:${VERSION}`]);
  });

  needs.it(
    'unpacks with umoci and its rootfs serves as uid 10001 in a mount namespace, the database on the volume',
    async () => {
      const bundle = join(dir, 'bundle');
      execFileSync('umoci', ['unpack', '--image', `${layout}:${VERSION}`, bundle], { stdio: 'pipe' });
      const rootfs = join(bundle, 'rootfs');
      expect(statSync(join(rootfs, 'var', 'lib', 'bulwark')).uid).toBe(IMAGE_UID);
      expect(statSync(join(rootfs, 'opt', 'bulwark', 'bin', 'bulwark.js')).uid).toBe(0);
      // Only what the package ships and its runtime dependencies.
      expect(existsSync(join(rootfs, 'opt', 'bulwark', 'node_modules', 'better-sqlite3'))).toBe(true);
      expect(existsSync(join(rootfs, 'opt', 'bulwark', 'node_modules', 'vitest'))).toBe(false);
      expect(existsSync(join(rootfs, 'opt', 'bulwark', 'src'))).toBe(false);

      const port = await freePort();
      const u = String(IMAGE_UID);
      child = spawn(
        'unshare',
        [
          '--mount',
          '--pid',
          '--fork',
          `--root=${rootfs}`,
          '--wd=/var/lib/bulwark',
          '--setuid',
          u,
          '--setgid',
          u,
          '/usr/bin/node',
          '/opt/bulwark/bin/bulwark.js',
          'serve',
          '--listen',
          `127.0.0.1:${String(port)}`,
          '--no-scheduler',
        ],
        // The image's environment, nothing of this machine's.
        { env: { XDG_DATA_HOME: '/var/lib', HOME: '/var/lib/bulwark', NODE_ENV: 'production', PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve, reject) => {
        child?.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (/serving on/.test(out) && /bwk_\S+/.test(out)) resolve();
        });
        child?.once('exit', (code) => {
          reject(new Error(`the image's bulwark exited ${String(code)}: ${err}`));
        });
      });
      const url = `http://127.0.0.1:${String(port)}`;
      const health = (await (await fetch(`${url}/api/v1/health`)).json()) as { version: string };
      expect(health.version).toBe(VERSION);
      expect(await (await fetch(`${url}/`)).text()).toMatch(/<title>Bulwark<\/title>/);
      const token = /(bwk_\S+)/.exec(out)?.[1] ?? '';
      expect((await fetch(`${url}/api/v1/hosts`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      // What it stored is on the volume and belongs to the image's user, not root.
      for (const f of ['bulwark.db', 'agent-server.key']) expect(statSync(join(rootfs, 'var', 'lib', 'bulwark', f)).uid, f).toBe(IMAGE_UID);
      // unshare ignores SIGTERM while it waits for its child (and --kill-child is lost at --setuid):
      // the server, its child, is stopped by its pid, and unshare ends with it.
      const exited = new Promise((r) => child?.once('exit', r));
      stopServer(child);
      await exited;
      child = undefined;
    },
    120_000,
  );
});
