/**
 * Issue #3: feed ingestion into a fresh embedded SQLite database, each run in its own process
 * (bench/feed-worker.ts) so that peak RSS is the ingest's own:
 * - the Azure Linux 3.0 OVAL (2,266 definitions, 4 MB of XML, xz): target under 1 s;
 * - the whole AlmaLinux OSV archive (5,680 advisories, 46 MB uncompressed, tar.xz): under 10 s;
 * peak memory under 300 MB for both; an unchanged feed is skipped in milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { feedParsers } from '../src/feeds/api.js';
import { sharedPath, type BenchContext, type BenchRow } from './harness.js';

interface WorkerResult {
  seconds: number;
  skipMs: number;
  advisories: number;
  documents: number;
  warnings: number;
  status: string;
  maxRssMB: number;
}

function ingest(ctx: BenchContext, id: string, format: string, release: string, file: string): WorkerResult {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-feed-'));
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ctx.repo, 'bench', 'feed-worker.ts'), id, format, release, file, join(dir, 'b.db')], {
      cwd: ctx.repo,
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as WorkerResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function run(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cases: { label: string; id: string; format: string; release: string; path: string[]; maxSeconds: number }[] = [
    {
      label: 'Azure Linux 3.0 OVAL',
      id: 'azurelinux-3.0-oval',
      format: 'oval',
      release: 'azurelinux:3.0',
      path: ['azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz'],
      maxSeconds: 1,
    },
    {
      label: 'AlmaLinux OSV archive',
      id: 'almalinux-osv',
      format: 'osv',
      release: '-',
      path: ['bulk', 'almalinux-osv-database.948f47a.tar.xz'],
      maxSeconds: 10,
    },
  ];
  for (const c of cases) {
    const file = sharedPath(ctx, ...c.path);
    if (file === null || !feedParsers.some((p) => p.id === c.format)) {
      rows.push({
        issue: '#3',
        name: `ingest ${c.label}`,
        value: null,
        unit: 's',
        target: `< ${String(c.maxSeconds)}`,
        ok: null,
        note: file === null ? 'no ../shared/data' : `no ${c.format} parser`,
      });
      continue;
    }
    const r = ingest(ctx, c.id, c.format, c.release, file);
    const note = `${String(r.advisories)} advisories, ${String(r.documents)} documents, ${String(r.warnings)} warnings`;
    rows.push({
      issue: '#3',
      name: `ingest ${c.label} (fresh SQLite)`,
      value: r.seconds,
      unit: 's',
      target: `< ${String(c.maxSeconds)}`,
      ok: r.seconds < c.maxSeconds,
      note,
    });
    rows.push({
      issue: '#3',
      name: `ingest ${c.label}: peak RSS`,
      value: r.maxRssMB,
      unit: 'MB',
      target: '< 300',
      ok: r.maxRssMB < 300,
      note: 'whole process, Node included',
    });
    rows.push({
      issue: '#3',
      name: `re-sync ${c.label} unchanged`,
      value: r.skipMs,
      unit: 'ms',
      target: 'milliseconds',
      ok: r.status === 'unchanged' && r.skipMs < 1000,
      note: `status ${r.status}`,
    });
  }
  return Promise.resolve(rows);
}
