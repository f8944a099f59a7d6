/**
 * Issue #14 items 3 and 4: findings listings and reports of a 10,000-host fleet
 * (bench/findings-fleet.ts; BULWARK_BENCH_HOSTS changes the count), on SQLite and PostgreSQL:
 * - every report format from the CLI, as its own process: wall time and peak memory (max RSS,
 *   target < 300 MB), against a plain SQL export of the same rows by the database's own client
 *   (`sqlite3 -json`, `psql \copy … csv`) in the same run (target: within 3x);
 * - a one-host findings page (the console's host filter), default order and by first seen
 *   (target < 50 ms), median of 15.
 * The CLI runs from dist/ when it is built (npm run build) after its sources last changed, else
 * from source through tsx (which adds its own start-up and memory; the note says which, and why).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findingsPageOf } from '../src/services/report.js';
import { openStore, type Db } from '../src/services/store.js';
import { freshPgSchema, pgAvailable } from '../test/databases.js';
import { buildFleet } from './findings-fleet.js';
import { sharedPath, staleBuild, type BenchContext, type BenchRow } from './harness.js';

const REPO = join(import.meta.dirname, '..');
const COLUMNS = `t.name, t.release_id, f.severity, f.status, a.advisory_id, a.source, f.package, f.installed, f.fixed, f.first_seen_at, f.closed_at, f.reason, a.title,
  f.target_id, f.arch, f.last_seen_at, f.accepted_by, f.accepted_at, f.accepted_until, a.cvss_score, a.published_at,
  (select string_agg(c.cve, ' ') from advisory_cves c where c.advisory_pk = a.pk) as cves`;
const FROM = `from findings f join targets t on t.id = f.target_id join advisories a on a.pk = f.advisory_pk where f.status in ('open', 'no-fix')`;

function cli(repo = REPO): { argv: string[]; how: string } {
  const stale = staleBuild(repo);
  if (stale === null) return { argv: [join(repo, 'bin', 'bulwark.js')], how: 'dist' };
  return { argv: ['--import', 'tsx', join(repo, 'test', 'bulwark-process.ts')], how: `tsx (${stale})` };
}

/**
 * BULWARK_BENCH_BASE: another checkout of Bulwark (an older commit, built) whose CLI runs each
 * format too, right before this one, for a before/after in the same run at the same load.
 */
const BASE = process.env['BULWARK_BENCH_BASE'];

/** Runs a command under GNU time: wall seconds, CPU seconds (user + system) and max RSS in MB. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { s: number; cpu: number; mb: number; ok: boolean; err: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  const [s, kb, user, sys] = last.split(' ').map(Number);
  return { s: s ?? NaN, cpu: (user ?? NaN) + (sys ?? NaN), mb: (kb ?? 0) / 1024, ok: r.status === 0, err: r.stderr.slice(-400) };
}

/**
 * Whether two outputs hold the same bytes (by SHA-256), but for the time they were generated and
 * a VEX's serial number, which are in their first few kilobytes.
 */
function sameFile(a: string, b: string): boolean {
  const hash = (p: string): string => {
    if (!existsSync(p)) return p;
    const all = readFileSync(p);
    const head = all
      .subarray(0, 4096)
      .toString('latin1')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'T')
      .replace(/urn:uuid:[0-9a-f-]{36}/g, 'U');
    return createHash('sha256').update(head).update(all.subarray(4096)).digest('hex');
  };
  return hash(a) === hash(b);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function pageMs(db: Db, host: string, sort?: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    await findingsPageOf(db, { hosts: [host] }, { limit: 100, offset: 0, ...(sort !== undefined ? { sort } : {}) });
    times.push(performance.now() - t);
  }
  return median(times);
}

async function onDatabase(
  name: string,
  db: Db,
  data: string,
  hosts: number,
  work: string,
  cliEnv: NodeJS.ProcessEnv,
  cliDb: string[],
  exportCmd: (out: string) => [string, string[]],
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const fleet = await buildFleet(db, data, hosts);
  const host = `fleet-${String(Math.floor(hosts / 2)).padStart(6, '0')}`;
  for (const [label, sort] of [
    ['default order', undefined],
    ['by first seen', '-firstSeen'],
  ] as const) {
    const ms = await pageMs(db, host, sort);
    rows.push({
      issue: '#14',
      name: `one-host findings page (${label}), ${String(hosts)} hosts, ${name}`,
      value: ms,
      unit: 'ms',
      target: '< 50',
      ok: ms < 50,
      note: `median of 15; ${String(fleet.findings)} findings stored`,
    });
  }
  const [ecmd, eargs] = exportCmd(join(work, 'export.out'));
  const plain = timed(ecmd, eargs);
  rows.push({
    issue: '#14',
    name: `plain SQL export of the open findings, ${String(hosts)} hosts, ${name}`,
    value: plain.s,
    unit: 's',
    target: 'reference',
    ok: plain.ok ? null : false,
    note: `${ecmd}; ${plain.cpu.toFixed(2)} s CPU; load average ${loadavg()[0]?.toFixed(1) ?? '?'}; ${(statSync(join(work, 'export.out')).size / 1048576).toFixed(0)} MB written${plain.ok ? '' : `; failed: ${plain.err}`}`,
  });
  const c = cli();
  const base = BASE !== undefined && BASE !== '' ? cli(BASE) : null;
  for (const [cmd, format, extra] of [
    ['findings', 'json', []],
    ['findings', 'csv', []],
    ['findings', 'table', []],
    ['report', 'html', []],
    ['report', 'cyclonedx-vex', []],
    ['report', 'json', ['--sort', 'risk']],
  ] as const) {
    const out = join(work, `out.${format}`);
    if (base !== null) {
      const b = timed(process.execPath, [...base.argv, ...cliDb, cmd, '--format', format, ...extra, '--output', `${out}.before`], cliEnv);
      rows.push({
        issue: '#14',
        name: `before: bulwark ${cmd} --format ${format}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}, ${String(hosts)} hosts, ${name}`,
        value: b.s,
        unit: 's',
        target: 'reference (BULWARK_BENCH_BASE)',
        ok: b.ok ? null : false,
        note: `${(b.s / plain.s).toFixed(2)}x the export; ${b.cpu.toFixed(2)} s CPU; max RSS ${b.mb.toFixed(0)} MB; load average ${loadavg()[0]?.toFixed(1) ?? '?'}${b.ok ? '' : `; FAILED: ${b.err}`}`,
      });
    }
    const r = timed(process.execPath, [...c.argv, ...cliDb, cmd, '--format', format, ...extra, '--output', out], cliEnv);
    const size = existsSync(out) ? statSync(out).size / 1048576 : 0;
    const same = base === null ? null : sameFile(out, `${out}.before`);
    rows.push({
      issue: '#14',
      name: `bulwark ${cmd} --format ${format}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}, ${String(hosts)} hosts, ${name}`,
      value: r.s,
      unit: 's',
      target: `<= ${(3 * plain.s).toFixed(1)} (3x export), < 300 MB`,
      ok: r.ok && r.s <= 3 * plain.s && r.mb < 300 && same !== false,
      // psql's own CPU leaves out the server's work: a CPU ratio only beside sqlite3, which does it all.
      note: `${(r.s / plain.s).toFixed(2)}x the export${name === 'SQLite' ? ` (CPU ${(r.cpu / plain.cpu).toFixed(2)}x)` : ''}; ${r.cpu.toFixed(2)} s CPU; max RSS ${r.mb.toFixed(0)} MB; ${size.toFixed(0)} MB written; load average ${loadavg()[0]?.toFixed(1) ?? '?'}; CLI from ${c.how}${same === null ? '' : same ? '; same bytes as before' : '; OUTPUT DIFFERS from before'}${r.ok ? '' : `; FAILED: ${r.err}`}`,
    });
  }
  return rows;
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const data = sharedPath(ctx, '.');
  if (data === null)
    return [{ issue: '#14', name: 'findings streaming at 10,000 hosts', value: null, unit: 's', target: '', ok: null, note: 'skipped: no ../shared/data' }];
  const hosts = Number(process.env['BULWARK_BENCH_HOSTS'] ?? 10_000);
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(tmpdir(), 'bulwark-bench-stream-'));
  try {
    const path = join(work, 'b.db');
    const db = await openStore({ dbPath: path, env: {} });
    try {
      rows.push(
        ...(await onDatabase('SQLite', db, data, hosts, work, { ...process.env, BULWARK_DATABASE_URL: '' }, ['--db', path], (out) => [
          'sh',
          ['-c', `sqlite3 -csv "$1" "select ${COLUMNS.replaceAll('string_agg', 'group_concat')} ${FROM}" > "$2"`, 'sh', path, out],
        ])),
      );
    } finally {
      await db.close();
    }
    if (pgAvailable) {
      const pg = await freshPgSchema();
      try {
        const env = { ...process.env, BULWARK_DATABASE_URL: pg.url };
        const db = await openStore({ env });
        try {
          const base = pg.url.replace(/\?schema=.*$/, '');
          rows.push(
            ...(await onDatabase('PostgreSQL', db, data, hosts, work, env, [], (out) => [
              'psql',
              [`${base}?options=-csearch_path%3D${pg.schema}`, '-qc', `\\copy (select ${COLUMNS} ${FROM}) to '${out}' with csv`],
            ])),
          );
        } finally {
          await db.close();
        }
      } finally {
        await pg.drop();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
