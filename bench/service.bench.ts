/**
 * Issue #6: the service under load, each server in a process of its own and the load from this one.
 * - agent reports of 600 packages (the real Azure Linux 3.0 manifests) accepted per second, each
 *   signed, parsed, stored and matched against the real 3.0 OVAL: on SQLite with one server, and
 *   on PostgreSQL with two servers sharing the load;
 * - p99 latency of the findings API (a page of 100, default order) on a fleet of 10,000 hosts,
 *   with autocannon on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { InstalledPackage } from '../src/core/target.js';
import { createEnrollmentToken, stringToSign } from '../src/services/agents.js';
import { addSource, syncSource } from '../src/services/feeds.js';
import { scanTarget } from '../src/services/scan.js';
import { openStore, type Db } from '../src/services/store.js';
import { createToken } from '../src/services/tokens.js';
import { listFindings, recordFindings, saveInventory, transaction, upsertTarget, type FindingInput } from '../src/storage/index.js';
import { freshPgSchema, pgAvailable } from '../test/databases.js';
import { sharedPath, type BenchContext, type BenchRow } from './harness.js';

const KEY = randomBytes(32);

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

function reportText(pkgs: readonly InstalledPackage[]): string {
  const lines = pkgs.map(
    (p) => `${p.name}\t${String(p.epoch ?? 0)}\t${p.version}\t${p.release ?? ''}\t${p.arch}\t${p.sourceName ?? p.name}-${p.version}-${p.release ?? ''}.src.rpm`,
  );
  return `bulwark-report 1\n@@os-release\nID=azurelinux\nVERSION_ID="3.0"\n@@uname\n6.6.57.1-2.azl3\nx86_64\n@@managers\ntdnf\n@@reboot\nno\n@@packages rpm\n${lines.join('\n')}\n`;
}

async function startWorker(repo: string, location: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'bench', 'serve-worker.ts'), location, KEY.toString('hex')], {
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

async function prepare(db: Db, oval: string): Promise<void> {
  await addSource(db, { id: 'azurelinux-3.0-oval', format: 'oval', location: oval, release: 'azurelinux:3.0' });
  await syncSource(db, 'azurelinux-3.0-oval');
}

/** Enrolls `n` agents over HTTP; returns their ids and keys. */
async function enroll(db: Db, urls: readonly string[], n: number): Promise<{ id: string; key: string; url: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const url = urls[i % urls.length] ?? '';
    const { token } = await createEnrollmentToken(db, { tags: [], expiresInHours: 1, actor: { kind: 'cli', name: 'bench' } });
    const res = await fetch(`${url}/agent/v1/enroll`, { method: 'POST', body: `token=${token}\nhostname=bench-${String(i)}\n` });
    const text = await res.text();
    out.push({ id: /^agent=(\S+)$/m.exec(text)?.[1] ?? '', key: /^key=(\S+)$/m.exec(text)?.[1] ?? '', url });
  }
  return out;
}

/** Sends signed reports round robin for `seconds` with `concurrency` in flight; reports per second accepted. */
async function loadReports(
  agents: readonly { id: string; key: string; url: string }[],
  body: string,
  seconds: number,
  concurrency: number,
): Promise<{ perSecond: number; failed: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const a = agents[next++ % agents.length];
      if (a === undefined) return;
      const ts = String(Math.floor(Date.now() / 1000));
      const nonce = randomBytes(16).toString('hex');
      const sig = createHmac('sha256', Buffer.from(a.key, 'hex'))
        .update(stringToSign(a.id, ts, nonce, 'POST', '/agent/v1/report', body))
        .digest('hex');
      const res = await fetch(`${a.url}/agent/v1/report`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain', 'x-bulwark-agent': a.id, 'x-bulwark-timestamp': ts, 'x-bulwark-nonce': nonce, 'x-bulwark-signature': sig },
      });
      await res.text();
      if (res.status === 200) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { perSecond: ok / ((performance.now() - t0) / 1000), failed };
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const oval = sharedPath(ctx, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
  const manifests = sharedPath(ctx, 'azurelinux', 'manifests', '3.0-2024-07-27');
  if (oval === null || manifests === null)
    return [
      {
        issue: '#6',
        name: 'agent reports accepted',
        value: null,
        unit: '/s',
        target: '>= 500',
        ok: null,
        note: 'needs ../shared/data (Azure Linux 3.0 OVAL and manifests)',
      },
    ];
  const pkgs = manifest(manifests);
  const body = reportText(pkgs);
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-service-'));
  try {
    // SQLite, one server.
    const dbPath = join(dir, 's.db');
    const db = await openStore({ dbPath });
    await prepare(db, oval);
    const w = await startWorker(ctx.repo, dbPath);
    try {
      const agents = await enroll(db, [w.url], 100);
      // Each agent's first report: a new inventory, stored and matched against the OVAL.
      const first = await loadReports(agents, body, 100 / 60, 8);
      const r = await loadReports(agents, body, 10, 8);
      rows.push({
        issue: '#6',
        name: `agent reports of ${String(pkgs.length)} packages, SQLite, 1 server`,
        value: r.perSecond,
        unit: '/s',
        target: '>= 500',
        ok: r.perSecond >= 500,
        note: `steady state (inventories unchanged: signature, nonce, fingerprint); 100 agents, 8 in flight; ${String(r.failed)} refused`,
      });
      rows.push({
        issue: '#6',
        name: `  … first reports (inventory stored and matched)`,
        value: first.perSecond,
        unit: '/s',
        target: '',
        ok: null,
        note: '618 packages parsed, stored, matched against the Azure Linux 3.0 OVAL, findings recorded',
      });

      // The findings API on 10,000 hosts: the template host's findings copied to 9,999 more.
      const template = await upsertTarget(db, { name: 'template', kind: 'host', release: 'azurelinux:3.0' }, new Date().toISOString());
      await saveInventory(db, {
        targetId: template.id,
        collectedAt: new Date().toISOString(),
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
      const existing = agents.length + 1;
      const t0 = performance.now();
      await transaction(db, async (tx) => {
        const now = new Date().toISOString();
        for (let i = existing; i < 10_000; i++) {
          const t = await upsertTarget(tx, { name: `fleet-${String(i).padStart(5, '0')}`, kind: 'host', release: 'azurelinux:3.0' }, now);
          await recordFindings(tx, t.id, found, found, now); // a new host: its builds are those of its findings
        }
      });
      const fillS = (performance.now() - t0) / 1000;
      const { token } = await createToken(db, { name: 'bench', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'bench' } });
      const result = await autocannon({
        url: `${w.url}/api/v1/findings?limit=100`,
        connections: 10,
        duration: 10,
        headers: { authorization: `Bearer ${token}` },
      });
      const total = (
        JSON.parse(await (await fetch(`${w.url}/api/v1/findings?limit=1`, { headers: { authorization: `Bearer ${token}` } })).text()) as { total: number }
      ).total;
      rows.push({
        issue: '#6',
        name: 'findings API p99, 10,000 hosts, SQLite',
        value: result.latency.p99,
        unit: 'ms',
        target: '',
        ok: null,
        note: `${String(total)} open findings; page of 100; 10 connections from another process: ${String(Math.round(result.requests.average))} req/s, p50 ${String(result.latency.p50)} ms; ${String(result.non2xx)} non-2xx; fleet filled in ${fillS.toFixed(1)} s`,
      });
    } finally {
      await stop(w);
      await db.close();
    }

    // PostgreSQL, two servers.
    if (pgAvailable) {
      const schema = await freshPgSchema();
      const pgdb = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: schema.url } });
      try {
        await prepare(pgdb, oval);
        const a = await startWorker(ctx.repo, schema.url);
        const b = await startWorker(ctx.repo, schema.url);
        try {
          const agents = await enroll(pgdb, [a.url, b.url], 100);
          const first = await loadReports(agents, body, 100 / 40, 8);
          const r = await loadReports(agents, body, 10, 16);
          rows.push({
            issue: '#6',
            name: `agent reports of ${String(pkgs.length)} packages, PostgreSQL, 2 servers`,
            value: r.perSecond,
            unit: '/s',
            target: '',
            ok: null,
            note: `steady state; 100 agents split over 2 server processes, 16 in flight; ${String(r.failed)} refused; first reports ${first.perSecond.toFixed(0)}/s`,
          });
        } finally {
          await stop(a);
          await stop(b);
        }
      } finally {
        await pgdb.close();
        await schema.drop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
