/**
 * Issue #20 item 5: the API stays responsive while a feed syncs. A `bulwark serve` in a process
 * of its own, on a store with the Azure Linux 3.0 OVAL and 1,000 hosts' findings; from this
 * process, `/api/v1/health` and a findings page (100, default order) are asked one after the
 * other, each in its own loop, first with nothing else going on, then while the whole AlmaLinux
 * OSV archive (5,680 advisories, 46 MB of JSON) syncs through `POST /api/v1/feeds/:id/sync`.
 * Printed: p50, p99 and the longest wait of each, in both phases; on SQLite and, when it answers,
 * PostgreSQL. The machine's other load shows in the idle rows: compare each row with its idle twin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstalledPackage } from '../src/core/target.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { scanTarget } from '../src/services/scan.js';
import { openStore, type Db } from '../src/services/store.js';
import { createToken } from '../src/services/tokens.js';
import { listFindings, recordFindings, saveInventory, transaction, upsertTarget, type FindingInput } from '../src/storage/index.js';
import { freshPgSchema, pgAvailable } from '../test/databases.js';
import { sharedPath, type BenchContext, type BenchRow } from './harness.js';

const HOSTS = 1000;
const IDLE_MS = 5000;

function manifest(dir: string): InstalledPackage[] {
  const out = new Map<string, InstalledPackage>();
  for (const kind of ['toolchain', 'pkggen_core'])
    for (const raw of readFileSync(join(dir, `${kind}_x86_64.txt`), 'utf8').split('\n')) {
      const m = /^(.+)-([^-]+)-([^-]+)\.([^.]+)\.rpm$/.exec(raw.trim());
      if (!m?.[1] || m[2] === undefined || m[3] === undefined || m[4] === undefined) continue;
      out.set(`${m[1]}.${m[4]}`, { family: 'rpm', name: m[1], epoch: null, version: m[2], release: m[3], arch: m[4], sourceName: m[1], sourceVersion: null });
    }
  return [...out.values()];
}

async function prepare(db: Db, oval: string, osv: string, pkgs: InstalledPackage[]): Promise<void> {
  await addSource(db, { id: 'azurelinux-3.0-oval', location: oval });
  await syncSource(db, 'azurelinux-3.0-oval', { actor: { kind: 'cli', name: 'bench' } });
  await addSource(db, { id: 'almalinux-osv', location: osv });
  const now = new Date().toISOString();
  const template = await upsertTarget(db, { name: 'template', kind: 'host', release: 'azurelinux:3.0' }, now);
  await saveInventory(db, {
    targetId: template.id,
    collectedAt: now,
    release: 'azurelinux:3.0',
    arch: 'x86_64',
    runningKernel: null,
    rebootRequired: null,
    packages: pkgs,
  });
  await scanTarget(db, template.id);
  const found: FindingInput[] = (await listFindings(db, { targetId: template.id })).map((f) => ({
    advisorySource: f.advisorySource,
    advisoryId: f.advisoryId,
    package: f.package,
    arch: 'x86_64',
    installed: f.installed,
    fixed: f.fixed,
    severity: f.severity,
    status: f.status === 'no-fix' ? 'no-fix' : 'open',
  }));
  await transaction(db, async (tx) => {
    for (let i = 1; i < HOSTS; i++) {
      const t = await upsertTarget(tx, { name: `fleet-${String(i).padStart(4, '0')}`, kind: 'host', release: 'azurelinux:3.0' }, now);
      await recordFindings(tx, t.id, found, found, now); // a new host: its builds are those of its findings
    }
  });
}

async function startWorker(repo: string, location: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'bench', 'serve-worker.ts'), location, randomBytes(32).toString('hex')], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(http\S+)$/m.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once('exit', (c) => {
      reject(new Error(`serve-worker exited ${String(c)}`));
    });
  });
  return { child, url };
}

async function stop(w: { child: ChildProcess }): Promise<void> {
  await new Promise<void>((resolve) => {
    w.child.once('exit', () => {
      resolve();
    });
    w.child.kill('SIGTERM');
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

/** Asks `path` again and again until `until` resolves; each request's latency in ms. */
async function poll(url: string, token: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const lat: number[] = [];
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${String(res.status)}`);
    lat.push(performance.now() - t0);
  }
  return lat;
}

async function measure(label: string, location: string, db: Db, ctx: BenchContext): Promise<BenchRow[]> {
  const { token } = await createToken(db, { name: 'bench', role: 'operator', expiresInDays: 1, actor: { kind: 'cli', name: 'bench' } });
  const w = await startWorker(ctx.repo, location);
  try {
    const health = `${w.url}/api/v1/health`;
    const page = `${w.url}/api/v1/findings?limit=100`;
    const idle = new Promise((r) => setTimeout(r, IDLE_MS));
    const [hIdle, pIdle] = await Promise.all([poll(health, token, idle), poll(page, token, idle)]);
    const t0 = performance.now();
    const sync = fetch(`${w.url}/api/v1/feeds/almalinux-osv/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ force: true }),
    }).then(async (r) => (await r.json()) as { status: string; advisories: number; error?: string });
    const [hSync, pSync, report] = await Promise.all([poll(health, token, sync), poll(page, token, sync), sync]);
    const syncS = (performance.now() - t0) / 1000;
    if (report.status !== 'synced') throw new Error(`sync ${report.status}: ${report.error ?? ''}`);
    const row = (name: string, xs: number[], q: number, during: boolean): BenchRow => {
      const v = quantile(xs, q);
      const what = q === 1 ? 'max' : `p${String(q * 100)}`;
      return {
        issue: '#20',
        name: `${label}: ${name} ${what}${during ? ' during sync' : ', idle'}`,
        value: v,
        unit: 'ms',
        target: q === 0.99 && during ? '< 100' : '',
        ok: q === 0.99 && during ? v < 100 : null,
        note: `${String(xs.length)} requests`,
      };
    };
    return [
      ...[0.5, 0.99, 1].flatMap((q) => [row('/api/v1/health', hIdle, q, false), row('/api/v1/health', hSync, q, true)]),
      ...[0.5, 0.99, 1].flatMap((q) => [row('findings page of 100', pIdle, q, false), row('findings page of 100', pSync, q, true)]),
      {
        issue: '#20',
        name: `${label}: AlmaLinux OSV archive sync through the API`,
        value: syncS,
        unit: 's',
        target: '',
        ok: null,
        note: `${String(report.advisories)} advisories; ${String(HOSTS)} hosts' findings in the store`,
      },
    ];
  } finally {
    await stop(w);
  }
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const oval = sharedPath(ctx, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
  const osv = sharedPath(ctx, 'bulk', 'almalinux-osv-database.948f47a.tar.xz');
  const manifests = sharedPath(ctx, 'azurelinux', 'manifests', '3.0-2024-07-27');
  if (oval === null || osv === null || manifests === null)
    return [{ issue: '#20', name: 'API latency during a feed sync', value: null, unit: 'ms', target: '< 100', ok: null, note: 'needs ../shared/data' }];
  const pkgs = manifest(manifests);
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-sync-api-'));
  try {
    const dbPath = join(dir, 's.db');
    const db = await openStore({ dbPath });
    try {
      await prepare(db, oval, osv, pkgs);
      rows.push(...(await measure('SQLite', dbPath, db, ctx)));
    } finally {
      await db.close();
    }
    if (pgAvailable) {
      const pgs = await freshPgSchema();
      const pdb = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: pgs.url } });
      try {
        await prepare(pdb, oval, osv, pkgs);
        rows.push(...(await measure('PostgreSQL', pgs.url, pdb, ctx)));
      } finally {
        await pdb.close();
        await pgs.drop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
