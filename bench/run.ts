/**
 * `npm run bench`: runs every bench/*.bench.ts and prints one table (and JSON with --json).
 * `npm run bench -- version` runs only the files whose name contains "version".
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchContext, printTable, type BenchContext, type BenchRow } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const filters = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

const ctx = benchContext();
if (ctx.sharedData === null) console.error('note: ../shared/data not found; benchmarks that need real data are skipped');
const rows: BenchRow[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(`${here}/${f}`).href)) as { run: (c: BenchContext) => Promise<BenchRow[]> };
  process.stderr.write(`running ${f} …\n`);
  rows.push(...(await mod.run(ctx)));
}
console.log(printTable(rows));
if (json) console.log(JSON.stringify(rows, null, 2));
