import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Context, Hono } from 'hono';
import { environmentDir } from '../services/content-views.js';
import type { Db } from '../services/store.js';
import { errorJson } from './errors.js';
import { decodedPath } from './middleware/edge.js';

const TYPES: Readonly<Record<string, string>> = {
  '.xml': 'text/xml; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * Content view environments as package repositories: `/repos/<view>/<environment>/…` serves the
 * published version the environment points at (repodata and packages), for hosts' dnf. Public,
 * as package mirrors are: they hold packages, not data about the fleet.
 */
export function serveRepositories(app: Hono, db: Db, allowed: (c: Context, aboutTheView: boolean) => Promise<boolean>): void {
  app.get('/repos/:view/:env/*', async (c) => {
    // The view's definition and deviation report say what the fleet withholds and why: data
    // about the fleet, never public, even where the packages are (issue #21, item 8).
    const aboutTheView = /^(view\.yaml|deviations\.json)$/.test(decodedPath(c).split('/').slice(4).join('/'));
    if (!(await allowed(c, aboutTheView)))
      return errorJson(c, 'auth.required', 'these repositories need a token (Bearer, or as the Basic password)', {
        headers: { 'WWW-Authenticate': 'Basic realm="bulwark repositories"' },
      });
    const path = decodedPath(c);
    const dir = await environmentDir(db, c.req.param('view'), c.req.param('env'));
    if (dir === null) return errorJson(c, 'storage.not-found', `no environment ${c.req.param('env')} of content view ${c.req.param('view')}`);
    const rest = path.split('/').slice(4).join('/');
    if (rest === '' || rest.split('/').some((x) => x === '..' || x === '.' || x === '')) return errorJson(c, 'storage.not-found', 'no such file');
    const file = join(dir, rest);
    const size = await fileSize(file);
    if (size === null) return errorJson(c, 'storage.not-found', `no ${rest} in this repository`);
    // Streamed: a package may be large, and many hosts fetch at once.
    // An environment's URL serves another version after a promotion, and key files change when
    // the key rotates: only files whose name fixes their content (packages, checksum-named
    // repodata) may be cached.
    const fixedByName = rest.startsWith('Packages/') || rest.startsWith('pool/') || /^repodata\/[0-9a-f]{64}-[^/]+$/.test(rest);
    const headers = {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': String(size),
      'Cache-Control': fixedByName ? 'public, max-age=3600' : 'no-cache',
    };
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    return c.body(Readable.toWeb(createReadStream(file)) as ReadableStream, 200, headers);
  });
}

/** The dashboard (web/, built into dist/web): its files, and index.html for every other page path. */
export function serveDashboard(app: Hono, root: string | null): void {
  app.get('*', async (c) => {
    const path = c.req.path;
    if (path.startsWith('/api/') || path.startsWith('/agent/') || path.startsWith('/repos/')) return errorJson(c, 'storage.not-found', `no route GET ${path}`);
    if (root === null) return c.text('The dashboard is not built: run `npm run build`.', 404);
    const rel = normalize(decodedPath(c)).replace(/^(\.\.[/\\])+/, '');
    let file = join(root, rel);
    if (!file.startsWith(root) || !extname(file) || (await fileSize(file)) === null) file = join(root, 'index.html');
    const body = await readFile(file);
    const immutable = file.startsWith(join(root, 'assets'));
    return c.body(body, 200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  });
}

/** A regular file's size; null for anything else or nothing. */
async function fileSize(p: string): Promise<number | null> {
  try {
    const st = await stat(p);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/** Where the built dashboard is: dist/web beside the compiled server, or the repository's dist/web when run from source. */
export function findWebRoot(): string | null {
  for (const rel of ['../web/', '../../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir.replace(/\/$/, '');
  }
  return null;
}
