import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { VERSION } from '../src/version.js';
import { need, requires, tool } from './needs.js';

/**
 * The release artifact (issue #18 item 1): `npm pack` of this tree, installed with
 * `npm install -g --prefix TMP ./bulwark-X.tgz` as an operator would, gives a `bulwark` that
 * needs no source tree: --version, `serve` from a configuration file answering the dashboard and
 * the API. npm fetches the runtime dependencies from the registry, or from its cache
 * (--prefer-offline: once cached, no network is used); better-sqlite3's install script is allowed
 * by name (npm 11 runs no install script unless told), as package.json's allowScripts does here.
 * Needs the build (npm run build writes dist/; npm test builds first).
 */
const repo = join(import.meta.dirname, '..');
const built = existsSync(join(repo, 'dist', 'cli', 'main.js')) && existsSync(join(repo, 'dist', 'web', 'index.html'));
const needs = requires(tool('npm'), need('the build', built ? null : 'dist/ is missing: run npm run build (npm test does)'));

needs.describe('the npm package installed globally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-install-'));
  const prefix = join(dir, 'prefix');
  let tarball = '';
  let server: ChildProcess | undefined;

  beforeAll(() => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' })) as { filename: string }[];
    tarball = join(dir, packed[0]?.filename ?? '');
    execFileSync(
      'npm',
      ['install', '--global', '--prefix', prefix, '--prefer-offline', '--allow-scripts=better-sqlite3', '--no-audit', '--no-fund', '--loglevel=error', tarball],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } },
    );
  }, 900_000);

  afterAll(() => {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  needs.it('holds the build, the bin and the systemd unit, and no sources or tests', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '')
      .map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('bin/bulwark.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/web/index.html');
    expect(files).toContain('dist/agent/bulwark-agent.sh');
    expect(files).toContain('packaging/bulwark.service');
    expect(files.filter((f) => /^(src|test|bench|web\/src)\//.test(f) || /\.test\.js$/.test(f))).toEqual([]);
  });

  needs.it('declares as dependencies every package the build imports', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'web') walk(p);
        } else if (e.name.endsWith('.js'))
          for (const m of readFileSync(p, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^'.][^']*)'|import\('([^'.][^']*)'\)/g)) {
            const spec = m[1] ?? m[2] ?? '';
            if (spec.startsWith('node:')) continue;
            imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec));
          }
      }
    };
    walk(join(repo, 'dist'));
    expect(imported.size).toBeGreaterThan(10);
    expect([...imported].filter((m) => pkg.dependencies[m] === undefined)).toEqual([]);
  });

  needs.it('installed only the runtime dependencies', () => {
    const installed = join(prefix, 'lib', 'node_modules', 'bulwark', 'node_modules');
    for (const m of ['better-sqlite3', 'hono', 'kysely', 'pg']) expect(existsSync(join(installed, m)), m).toBe(true);
    for (const m of ['vitest', 'typescript', 'vite', 'eslint', 'tsx', 'playwright-core']) expect(existsSync(join(installed, m)), m).toBe(false);
  });

  needs.it('prints its version', () => {
    expect(execFileSync(join(prefix, 'bin', 'bulwark'), ['--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
  });

  needs.it(
    'serves the dashboard and the API from a configuration file',
    async () => {
      const data = join(dir, 'data');
      mkdirSync(data);
      const config = join(dir, 'bulwark.yaml');
      writeFileSync(
        config,
        `server:\n  listen: 127.0.0.1:0\n  scheduler: false\ndatabase:\n  path: ${join(data, 'bulwark.db')}\npaths:\n  objects: ${join(data, 'objects')}\n`,
      );
      const env = { ...process.env, HOME: dir, XDG_DATA_HOME: data, BULWARK_DATABASE_URL: '' };
      const check = execFileSync(join(prefix, 'bin', 'bulwark'), ['--config', config, 'config', 'check'], { encoding: 'utf8', env });
      expect(check).toMatch(/valid/);
      const child = spawn(join(prefix, 'bin', 'bulwark'), ['--config', config, 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      server = child;
      let out = '';
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/serving on/.test(out) && /bwk_\S+/.test(out)) resolve();
        });
        child.once('exit', (code) => {
          reject(new Error(`serve exited ${String(code)}: ${err}`));
        });
      });
      const url = /serving on (\S+)/.exec(out)?.[1] ?? '';
      const token = /(bwk_\S+)/.exec(out)?.[1] ?? '';
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<title>Bulwark<\/title>/);
      const health = (await (await fetch(`${url}/api/v1/health`)).json()) as { version: string };
      expect(health.version).toBe(VERSION);
      const hosts = await fetch(`${url}/api/v1/hosts`, { headers: { authorization: `Bearer ${token}` } });
      expect(hosts.status).toBe(200);
      expect(await fetch(`${url}/api/v1/hosts`).then((r) => r.status)).toBe(401);
      // The database the file named was used.
      expect(existsSync(join(data, 'bulwark.db'))).toBe(true);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      server = undefined;
    },
    60_000,
  );
});
