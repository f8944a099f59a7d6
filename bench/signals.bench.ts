/**
 * Issue #16: EPSS ingest of 300,000 generated rows through the product's sync path (`syncSource`
 * with a gzip file, as `bulwark feeds sync --source first-epss --file` does: decompress, parse,
 * check, store with the trend; target < 3 s), on SQLite — the first day (every CVE new) and the
 * next (10% of scores moved) and the day after (every percentile shifted, as in FIRST's real
 * files, where adding CVEs moves the percentiles of most). And the risk order of 640,000
 * findings (10,000 hosts x 64, as the plan bench) from severity, CVSS, EPSS and KEV (target
 * < 1 s) through the product's path, on the same store (bench/signals-fleet.ts): the API's
 * first page and a deep page (findingsPageOf, which GET /api/findings?sort=risk calls), the first
 * 100 and the whole order streamed (streamFindings, which `bulwark findings --sort risk [--limit
 * 100]` writes), beside
 * the same rows streamed in the default order and today's in-memory ranking (anchors).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sortByRisk, withRisk, type CveSignal, type RiskFacts } from '../src/core/risk.js';
import { findingsPageOf } from '../src/services/report.js';
import { streamFindings } from '../src/services/report-stream.js';
import type { Db } from '../src/services/store.js';
import { buildSignalsFleet } from './signals-fleet.js';
import { syncSource } from '../src/services/feeds.js';
import { openStore } from '../src/services/store.js';
import type { BenchRow } from './harness.js';

/** mulberry32: the same numbers every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROWS = 300_000;
const cveOf = (i: number): string => `CVE-${String(1999 + (i % 28))}-${String(10000 + Math.floor(i / 28))}`;

function epssFile(date: string, rand: () => number, moved: number, shift = 0): Buffer {
  const lines = [`#model_version:v2025.03.14,score_date:${date}T00:00:00+0000`, 'cve,epss,percentile'];
  for (let i = 0; i < ROWS; i++) {
    // Most CVEs score low, as in the real file.
    const base = ((i * 2654435761) % 1000003) / 1000003;
    const epss = Math.min(1, base ** 6 + (rand() < moved ? 0.05 : 0));
    lines.push(`${cveOf(i)},${epss.toFixed(5)},${Math.min(1, i / ROWS + shift).toFixed(5)}`);
  }
  return gzipSync(lines.join('\n') + '\n');
}

const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function epssIngest(db: Db, dir: string): Promise<BenchRow[]> {
  const rand = prng(16);
  const days = [
    ['first day: all new', epssFile('2026-12-01', rand, 0)],
    ['next day: 10% moved', epssFile('2026-12-02', rand, 0.1)],
    ['day after: 10% moved, every percentile shifted', epssFile('2026-12-03', rand, 0.1, 0.00003)],
  ] as const;
  const rows: BenchRow[] = [];
  for (const [i, [label, bytes]] of days.entries()) {
    const file = join(dir, `epss-${String(i)}.csv.gz`);
    writeFileSync(file, bytes);
    const t = performance.now();
    const r = await syncSource(db, 'first-epss', { file });
    const s = (performance.now() - t) / 1000;
    rows.push({
      issue: '#16',
      name: `EPSS ingest, 300,000 rows (${label})`,
      value: s,
      unit: 's',
      target: '< 3',
      ok: s < 3,
      note: `${String(r.added)} added, ${String(r.changed)} moved, ${String(r.unchanged)} unchanged; SQLite; load ${load()}`,
    });
  }
  return rows;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ s: number; r: T }> {
  const t = performance.now();
  const r = await fn();
  return { s: (performance.now() - t) / 1000, r };
}

/** The risk order through the product's services, on the store the ingest filled. */
async function productRanking(db: Db, dir: string): Promise<BenchRow[]> {
  const fleet = await buildSignalsFleet(db, dir, ROWS, cveOf);
  const count = async (sort?: 'risk', limit?: number): Promise<{ n: number; kevFirst: number }> => {
    let n = 0;
    let kevFirst = -1;
    for await (const r of streamFindings(db, sort === undefined ? {} : { sort }, limit === undefined ? {} : { limit })) {
      if (kevFirst < 0 && r.risk?.kev == null) kevFirst = n;
      n++;
    }
    return { n, kevFirst };
  };
  const page = (offset: number) => findingsPageOf(db, {}, { limit: 100, offset, sort: 'risk' });
  await page(0); // warm up
  const first = await timed(() => page(0));
  const deep = await timed(() => page(600_000));
  const top = await timed(() => count('risk', 100));
  const plain = await timed(() => count());
  const whole = await timed(() => count('risk'));
  const note = `${String(fleet.findings)} findings, ${String(fleet.kev)} KEV entries; SQLite; load ${load()}`;
  return [
    {
      issue: '#16',
      name: 'risk order, 640,000 findings: first page of 100 (API)',
      value: first.s,
      unit: 's',
      target: '< 1',
      ok: first.s < 1,
      note: `${String(first.r.total)} in the order; first: ${first.r.items[0]?.risk?.reason ?? '-'}; ${note}`,
    },
    {
      issue: '#16',
      name: 'risk order, 640,000 findings: page at offset 600,000 (API)',
      value: deep.s,
      unit: 's',
      target: '< 1',
      ok: deep.s < 1,
      note: `${String(deep.r.items.length)} rows; ${note}`,
    },
    {
      issue: '#16',
      name: 'risk order, 640,000 findings: the first 100 streamed (findings --sort risk --limit 100)',
      value: top.s,
      unit: 's',
      target: '< 1',
      ok: top.s < 1,
      note: `${String(top.r.n)} rows; ${note}`,
    },
    {
      issue: '#16',
      name: 'default order, 640,000 findings streamed (anchor)',
      value: plain.s,
      unit: 's',
      target: 'reference',
      ok: null,
      note: `${String(plain.r.n)} rows; ${note}`,
    },
    {
      issue: '#16',
      name: 'risk order, 640,000 findings streamed (findings --sort risk)',
      value: whole.s,
      unit: 's',
      target: 'reference',
      ok: null,
      note: `${(whole.s / plain.s).toFixed(2)}x the default order; ${String(whole.r.n)} rows, ${String(whole.r.kevFirst)} KEV-listed first; ${note}`,
    },
  ];
}

function ranking(): BenchRow[] {
  const rand = prng(640);
  const severities = ['critical', 'high', 'medium', 'low'] as const;
  const signals = new Map<string, CveSignal>();
  for (let i = 0; i < ROWS; i++) {
    const kev = i % 250 === 0 ? { dateAdded: '2026-03-02', dueDate: '2026-03-23', ransomware: i % 1000 === 0 } : null;
    signals.set(cveOf(i), { kev, epss: { score: rand() ** 6, percentile: i / ROWS, date: '2026-12-01' } });
  }
  // 10,000 hosts x 64 findings over 2,000 advisories (a fleet shares its advisories; the store
  // hands out one CVE list per advisory, as here).
  const cvesOf = Array.from({ length: 2000 }, (_, a) => [cveOf(a * 149), ...(a % 5 === 0 ? [cveOf(a * 149 + 1)] : [])]);
  const fresh = (): (RiskFacts & { host: number })[] => {
    const rows: (RiskFacts & { host: number })[] = [];
    for (let h = 0; h < 10_000; h++)
      for (let k = 0; k < 64; k++) {
        const a = (h * 31 + k * 17) % 2000;
        rows.push({ host: h, severity: severities[(a + k) % 4] ?? 'medium', cvssScore: ((a * 7) % 100) / 10, cves: cvesOf[a] ?? [] });
      }
    return rows;
  };
  const lookup = (c: string): CveSignal | undefined => signals.get(c);
  sortByRisk(withRisk(fresh().slice(0, 10_000), lookup), 'risk'); // warm up
  let best = Infinity;
  let kevFirst = 0;
  for (let i = 0; i < 3; i++) {
    const rows = fresh();
    const t = performance.now();
    const ranked = sortByRisk(withRisk(rows, lookup), 'risk');
    best = Math.min(best, performance.now() - t);
    kevFirst = ranked.findIndex((r) => r.risk.kev === null);
  }
  return [
    {
      issue: '#16',
      name: 'risk order: 640,000 findings in memory (score, reason, sort; anchor)',
      value: best / 1000,
      unit: 's',
      target: 'reference',
      ok: null,
      note: `${String(kevFirst)} KEV-listed first; best of 3`,
    },
  ];
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-signals-'));
  try {
    const db = await openStore({ dbPath: join(dir, 'b.db'), env: {} });
    try {
      return [...(await epssIngest(db, dir)), ...ranking(), ...(await productRanking(db, dir))];
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
