/**
 * The bench harness: every `bench/*.bench.ts` exports `run(ctx)` returning rows; `npm run bench`
 * runs them all and prints one table. Benchmarks measure; tests never time anything.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  /** The issue the figure answers to, e.g. "#2". */
  issue: string;
  name: string;
  value: number | null;
  unit: string;
  /** What the issue asks for, e.g. ">= 10,000,000". */
  target: string;
  /** Whether `value` meets the target; null when there is no target. */
  ok: boolean | null;
  note?: string;
}

export interface BenchContext {
  repo: string;
  /** ../shared/data when present. */
  sharedData: string | null;
}

export function benchContext(): BenchContext {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const data = resolve(repo, process.env.BULWARK_SHARED_DATA ?? '../shared/data');
  return { repo, sharedData: existsSync(data) ? data : null };
}

export function sharedPath(ctx: BenchContext, ...parts: string[]): string | null {
  if (ctx.sharedData === null) return null;
  const p = join(ctx.sharedData, ...parts);
  return existsSync(p) ? p : null;
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function formatValue(v: number | null): string {
  if (v === null) return '-';
  return fmt.format(v >= 1000 ? Math.round(v) : v);
}

export function printTable(rows: BenchRow[]): string {
  const header = ['issue', 'benchmark', 'value', 'unit', 'target', 'ok', 'note'];
  const body = rows.map((r) => [r.issue, r.name, formatValue(r.value), r.unit, r.target, r.ok === null ? '' : r.ok ? 'yes' : 'NO', r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/**
 * Why a checkout's installed entry (bin/bulwark.js, which runs dist/) cannot be timed, or null:
 * not built, or built before one of its sources changed (the bench would time old code).
 */
export function staleBuild(repo: string): string | null {
  const built = join(repo, 'dist', 'cli', 'main.js');
  if (!existsSync(built)) return 'run npm run build first (dist/)';
  const at = statSync(built).mtimeMs;
  const newer = (d: string): string | null => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name);
      if (e.isDirectory()) {
        const n = newer(f);
        if (n !== null) return n;
      } else if (f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(f).mtimeMs > at) return f;
    }
    return null;
  };
  const n = newer(join(repo, 'src'));
  return n === null ? null : `${n} is newer than dist/: run npm run build first`;
}
