/**
 * Issue #17: the console on a fleet of 10,000 hosts (SQLite), with `bulwark serve` in a process of
 * its own: p99 latency of the findings page's API with a filter (folded by advisory and by
 * source package; autocannon on loopback, 10 connections), and the first view (login with a
 * token → the overview drawn) in Debian's Chromium. The fleet: the demo host and 9,999 copies of
 * its inventory and findings, tagged by tens; one CVE of the demo's advisories listed by CISA KEV
 * and all of them scored by EPSS, so that the risk filters have something to keep. The pages are
 * the flat list (severity, KEV, risk order) and the grouped views (severity, tag, text, release,
 * KEV, EPSS).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { chromium } from 'playwright-core';
import { runDemo } from '../src/services/demo.js';
import { openStore } from '../src/services/store.js';
import {
  listFindings,
  loadAdvisories,
  loadInventory,
  recordFindings,
  saveInventory,
  storeEpssScores,
  storeKevCatalog,
  transaction,
  upsertTarget,
  type FindingInput,
} from '../src/storage/index.js';
import { startServe, startServeFrom, stopServe } from '../test/serve-process.js';
import type { BenchContext, BenchRow } from './harness.js';

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  if (!existsSync(join(ctx.repo, 'dist', 'web', 'index.html')) || !existsSync('/usr/bin/chromium')) {
    console.error('console.bench: needs the built dashboard (npm run build) and /usr/bin/chromium; skipped');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-console-bench-'));
  const dbPath = join(dir, 'fleet.db');
  const rows: BenchRow[] = [];
  try {
    const db = await openStore({ dbPath, env: {} });
    const demo = await runDemo(db);
    const template = demo.inventory.target;
    const packages = await loadInventory(db, template.id);
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
    const t0 = performance.now();
    await transaction(db, async (tx) => {
      const now = new Date().toISOString();
      for (let i = 1; i < 10_000; i++) {
        const t = await upsertTarget(
          tx,
          { name: `fleet-${String(i).padStart(5, '0')}`, kind: 'host', release: template.release, tags: [`rack-${String(i % 10)}`] },
          now,
        );
        await saveInventory(tx, {
          targetId: t.id,
          collectedAt: now,
          release: template.release ?? '',
          arch: 'x86_64',
          runningKernel: null,
          rebootRequired: null,
          packages,
        });
        await recordFindings(tx, t.id, found, found, now);
      }
    });
    const fillS = (performance.now() - t0) / 1000;
    const cves = [...new Set((await loadAdvisories(db, {})).flatMap((a) => a.cves))].sort();
    const now = new Date().toISOString();
    const kevCve = cves[0];
    if (kevCve !== undefined)
      await storeKevCatalog(
        db,
        { title: 'bench', catalogVersion: '2026.12.01', dateReleased: now, count: 1 },
        [
          {
            cve: kevCve,
            vendorProject: 'v',
            product: 'p',
            vulnerabilityName: 'n',
            dateAdded: '2026-11-01',
            shortDescription: '',
            requiredAction: '',
            dueDate: '2026-11-22',
            ransomware: false,
            notes: '',
            cwes: [],
          },
        ],
        now,
      );
    await storeEpssScores(
      db,
      { modelVersion: 'v2025.03.14', scoreDate: now.slice(0, 10) },
      cves.map((cve, i) => ({ cve, epss: (i + 1) / (cves.length + 1), percentile: (i + 1) / (cves.length + 1) })),
    );
    await db.close();

    const release = encodeURIComponent(template.release ?? '');
    const pages = [
      ['findings page API p99, 10,000 hosts, folded by advisory, severity ≥ high', '/api/v1/findings/groups?by=advisory&severity=high&limit=50'],
      ['findings page API p99, 10,000 hosts, folded by source package, tag filter', '/api/v1/findings/groups?by=source&tag=rack-3&limit=50'],
      ['findings page API p99, 10,000 hosts, folded by advisory, text filter', '/api/v1/findings/groups?by=advisory&text=openssl&limit=50'],
      ['findings page API p99, 10,000 hosts, folded by source package, release filter', `/api/v1/findings/groups?by=source&release=${release}&limit=50`],
      ['findings page API p99, 10,000 hosts, folded by advisory, KEV filter', '/api/v1/findings/groups?by=advisory&kev=true&limit=50'],
      ['findings page API p99, 10,000 hosts, folded by source package, risk (EPSS > 0.5) filter', '/api/v1/findings/groups?by=source&epssAbove=0.5&limit=50'],
      ['findings page API p99, 10,000 hosts, flat, severity ≥ high', '/api/v1/findings?severity=high&limit=50'],
      ['findings page API p99, 10,000 hosts, flat, KEV filter', '/api/v1/findings?kev=true&limit=50'],
      ['findings page API p99, 10,000 hosts, flat, risk order', '/api/v1/findings?sort=risk&limit=50'],
    ] as const;
    // The first server made the admin token (and printed it); the later ones find it there.
    const admin: { token: string | null } = { token: null };
    /** Each page timed on a server just started (its first page pays any cold start), cached or not. */
    const timePages = async (
      s: { url: string; token: string | null },
      label: string,
    ): Promise<{ p99: number; p50: number; alone: number; rps: number; non2xx: number; timeouts: number; errors: number; total: number; load: number }[]> => {
      const out = [];
      for (const [name, path] of pages) {
        admin.token ??= s.token;
        const headers = { authorization: `Bearer ${admin.token ?? ''}` };
        const r = await autocannon({ url: `${s.url}${path}`, connections: 10, duration: 5, headers });
        // What autocannon left in flight is answered before the next page is timed (a request
        // queued behind them), then one request alone: the time of the work itself.
        await (await fetch(`${s.url}${path}`, { headers })).arrayBuffer();
        const t1 = performance.now();
        await (await fetch(`${s.url}${path}`, { headers })).arrayBuffer();
        const alone = performance.now() - t1;
        const load = loadavg()[0] ?? 0;
        console.error(
          `[${label}] ${name}: p99 ${String(r.latency.p99)} ms, p50 ${String(r.latency.p50)} ms, alone ${alone.toFixed(0)} ms, ${String(r.non2xx)} non-2xx, load ${load.toFixed(1)}`,
        );
        out.push({
          p99: r.latency.p99,
          p50: r.latency.p50,
          alone,
          rps: r.requests.average,
          non2xx: r.non2xx,
          timeouts: r.timeouts,
          errors: r.errors,
          total: r.requests.total,
          load,
        });
      }
      return out;
    };
    const serveArgs = ['--db', dbPath, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler'];
    // BULWARK_BENCH_CONSOLE_BEFORE: a tree of older code (its node_modules linked) timed on the
    // same store in the same run, for a before/after.
    const before = process.env['BULWARK_BENCH_CONSOLE_BEFORE'];
    const timed: Record<string, Awaited<ReturnType<typeof timePages>>> = {};
    for (const cache of ['off', 'on'] as const) {
      if (before === undefined || before === '') break;
      const b = await startServeFrom(before, serveArgs, { BULWARK_READ_CACHE: cache });
      try {
        timed[`before, cache ${cache}`] = await timePages(b, `before, cache ${cache}`);
      } finally {
        await stopServe(b.child);
      }
    }
    // The read workers' answers not kept (off: each request computes its page, but concurrent
    // identical ones share a computation; none: not even that).
    for (const cache of ['none', 'off'] as const) {
      const u = await startServe(serveArgs, { BULWARK_READ_CACHE: cache });
      try {
        timed[cache === 'off' ? 'uncached' : 'uncached, unshared'] = await timePages(u, `uncached${cache === 'none' ? ', unshared' : ''}`);
      } finally {
        await stopServe(u.child);
      }
    }
    const s = await startServe(serveArgs);
    try {
      timed['cached'] = await timePages(s, 'cached');
      pages.forEach(([name], i) => {
        for (const which of ['cached', 'uncached', 'uncached, unshared'] as const) {
          const r = timed[which]?.[i];
          if (r === undefined) continue;
          const was = timed[`before, cache ${which === 'cached' ? 'on' : 'off'}`]?.[i];
          rows.push({
            issue: '#17',
            name: `${name} (${which})`,
            value: r.p99,
            unit: 'ms',
            target: '< 300',
            ok: r.p99 < 300 && r.non2xx === 0 && r.timeouts === 0 && r.errors === 0 && r.total > 0,
            note: `${was !== undefined ? `before: p99 ${String(was.p99)} ms (load ${was.load.toFixed(1)}); ` : ''}p50 ${String(r.p50)} ms, one request alone ${r.alone.toFixed(0)} ms, ${String(Math.round(r.rps))} req/s, ${String(r.non2xx)} non-2xx, ${String(r.timeouts)} timeouts, ${String(r.errors)} errors, ${String(r.total)} answered; server just started; 60,000 findings; fleet filled in ${fillS.toFixed(0)} s; load ${r.load.toFixed(1)}`,
          });
        }
      });
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const page = await (await browser.newContext()).newPage();
          await page.goto(s.url);
          await page.click('button:has-text("API token")');
          await page.fill('input[name=token]', admin.token ?? '');
          const t = performance.now();
          await page.click('button[type=submit]');
          await page.waitForSelector('[data-severity=critical] b');
          times.push(performance.now() - t);
          await page.context().close();
        }
        console.error(`first view: ${times.map((x) => x.toFixed(0)).join(', ')} ms`);
        times.sort((a, b) => a - b);
        const median = times[2] ?? 0;
        rows.push({
          issue: '#17',
          name: 'console first view (login → overview drawn), 10,000 hosts, Chromium',
          value: median / 1000,
          unit: 's',
          target: '< 1',
          ok: median < 1000,
          note: `median of 5 (${times.map((x) => (x / 1000).toFixed(2)).join(', ')} s); overview API and its SLA cache cold on the first; load ${loadavg()[0]?.toFixed(1) ?? '?'}`,
        });
        const page = await (await browser.newContext()).newPage();
        await page.goto(s.url);
        await page.click('button:has-text("API token")');
        await page.fill('input[name=token]', admin.token ?? '');
        await page.click('button[type=submit]');
        await page.waitForSelector('[data-severity=critical] b');
        await page.click('nav >> text=Findings');
        await page.waitForSelector('.pager span');
        const t = performance.now();
        await page.getByLabel('Least severity').selectOption('high');
        await page.waitForSelector('.pager span:has-text("of 3")');
        const findingsView = performance.now() - t;
        rows.push({
          issue: '#17',
          name: 'console findings view: a filter chosen → its groups drawn, 10,000 hosts, Chromium',
          value: findingsView / 1000,
          unit: 's',
          target: '< 1',
          ok: findingsView < 1000,
          note: `severity ≥ high chosen on the findings page (folded by advisory); load ${loadavg()[0]?.toFixed(1) ?? '?'}`,
        });
      } finally {
        await browser.close();
      }
    } finally {
      await stopServe(s.child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
