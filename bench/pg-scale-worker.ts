/**
 * Issue #14, PostgreSQL at fleet scale (bench/pg-scale.bench.ts runs it), one step per process so
 * each step's peak RSS is its own. Prints one JSON line.
 *
 *   node --import tsx bench/pg-scale-worker.ts seed SHARED_DATA_DIR URL HOSTS [COPIES]
 *     A store at URL (a fresh schema) with the real Azure Linux 3.0 OVAL of 2025-01-31 added as a
 *     source, and HOSTS hosts from the real 3.0 manifests (test/real-fleet.ts) written straight
 *     into targets, packages and target_packages with multi-row `INSERT … SELECT FROM unnest(…)`
 *     (one array per column: tens of thousands of rows per statement; foreign-key triggers off
 *     for the seeding session, as pg_dump --disable-triggers restores), then ANALYZE. Then the
 *     first sync of that feed through the product (services/feeds.ts syncSource, which re-scans
 *     the touched hosts), which gives the fleet its findings. With COPIES, the fleet is then
 *     copied in SQL to COPIES times HOSTS hosts (see replicate).
 *   node --import tsx bench/pg-scale-worker.ts replicate SHARED_DATA_DIR URL COPIES
 *     A seeded store (a copy of one, made by the bench) copied in SQL to COPIES times its hosts.
 *   node --import tsx bench/pg-scale-worker.ts upgrade SHARED_DATA_DIR URL
 *     A seeded store made for older migrations migrated to the current ones, as an upgrade does,
 *     then vacuumed and analysed (see settle).
 *   node --import tsx bench/pg-scale-worker.ts sync SHARED_DATA_DIR URL
 *     The next real copy of the feed (2025-02-24) synced through the product with its re-scan:
 *     what `bulwark feeds sync` does. Timed end to end.
 *
 * Not seeded: learned_source_claims (a row per host and package that bulk import writes, which
 * the re-scan never reads) and agents.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { addSource } from '../src/services/feed-sources.js';
import { syncSource } from '../src/services/feeds.js';
import { openStore } from '../src/services/store.js';
import { migrateToLatest, openDatabase, packageKey, resolveLocation } from '../src/storage/index.js';
import { realFleetHosts } from '../test/real-fleet.js';

const [step, data, url, hostsArg, copiesArg] = process.argv.slice(2);
if (data === undefined || url === undefined || (step !== 'seed' && step !== 'sync' && step !== 'replicate' && step !== 'upgrade'))
  throw new Error('usage: pg-scale-worker seed|replicate|upgrade|sync SHARED_DATA_DIR URL [HOSTS|COPIES]');
const OLD = join(data, 'azurelinux', 'oval', 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz');
const NEXT = join(data, 'azurelinux', 'oval', 'azurelinux-3.0-oval.2025-02-24.xml.xz');
const R = 'azurelinux:3.0';
const SOURCE = 'azurelinux-3.0-oval';
const out: Record<string, number | string> = {};
const rss = (): number => process.resourceUsage().maxRSS / 1024;

async function seed(hosts: number, copies: number): Promise<void> {
  const db = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: url } });
  await addSource(db, { id: SOURCE, location: OLD });
  await db.close();
  const c = await client(url as string);
  // Rows made here are consistent by construction: the links' foreign-key triggers (two lookups
  // per row) are skipped for this session, as a restore does (pg_dump's --disable-triggers).
  await c.query('set session_replication_role = replica');
  const t0 = performance.now();
  // Target ids are random UUIDs, as upsertTarget makes them; written in id order, so the
  // links' primary key (target_id, package_pk) grows at its end.
  const ids = Array.from({ length: hosts }, () => randomUUID()).sort();
  const pkOf = new Map<string, number>();
  const now = '2026-11-01T00:00:00.000Z';
  let links = 0;
  const BATCH = 250;
  let t: { id: string[]; name: string[]; kernel: (string | null)[] } = { id: [], name: [], kernel: [] };
  let l: { target: string[]; pk: number[] } = { target: [], pk: [] };
  let p: (string | number | null)[][] = Array.from({ length: 10 }, () => []);
  const flush = async (): Promise<void> => {
    await c.query('begin');
    if ((p[0] ?? []).length > 0)
      await c.query(
        `insert into packages (pk, key, family, name, epoch, version, release, arch, source_name, source_version)
         select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
        p,
      );
    await c.query(
      `insert into targets (id, name, kind, release_id, arch, tags, created_at, inventory_at, running_kernel)
       select id, name, 'host', $4, 'x86_64', '[]', $5::timestamptz, $5::timestamptz, k from unnest($1::text[], $2::text[], $3::text[]) as x(id, name, k)`,
      [t.id, t.name, t.kernel, R, now],
    );
    await c.query('insert into target_packages (target_id, package_pk) select * from unnest($1::text[], $2::bigint[])', [l.target, l.pk]);
    await c.query('commit');
    t = { id: [], name: [], kernel: [] };
    l = { target: [], pk: [] };
    p = Array.from({ length: 10 }, () => []);
  };
  let h = 0;
  for (const host of realFleetHosts(data as string, hosts)) {
    const id = ids[h++] as string;
    t.id.push(id);
    t.name.push(host.name);
    t.kernel.push(host.runningKernel);
    const mine = new Set<number>();
    for (const b of host.packages) {
      const k = packageKey(b);
      let pk = pkOf.get(k);
      if (pk === undefined) {
        pkOf.set(k, (pk = pkOf.size + 1));
        for (const [i, v] of [pk, k, b.family, b.name, b.epoch, b.version, b.release, b.arch, b.sourceName, b.sourceVersion].entries()) p[i]?.push(v);
      }
      mine.add(pk);
    }
    for (const pk of mine) {
      l.target.push(id);
      l.pk.push(pk);
    }
    links += mine.size;
    if (t.id.length >= BATCH) await flush();
  }
  if (t.id.length > 0) await flush();
  await c.query(`select setval(pg_get_serial_sequence('packages', 'pk'), $1)`, [pkOf.size]);
  out['seedRowsS'] = (performance.now() - t0) / 1000;
  const ta = performance.now();
  await c.query('analyze targets');
  await c.query('analyze packages');
  await c.query('analyze target_packages');
  out['analyzeS'] = (performance.now() - ta) / 1000;
  await c.end();
  out['hosts'] = hosts;
  out['distinctBuilds'] = pkOf.size;
  out['links'] = links;
  const db2 = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: url } });
  try {
    const t1 = performance.now();
    const first = await syncSource(db2, SOURCE);
    out['firstSyncS'] = (performance.now() - t1) / 1000;
    out['firstSyncRescanned'] = first.rescanned ?? 0;
  } finally {
    await db2.close();
  }
  await settle(url as string);
  if (copies > 1) await replicate(copies);
  out['findings'] = await pgCount(url as string, 'select count(*) as n from findings');
  out['seedMaxRssMB'] = rss();
}

/**
 * Grows the seeded fleet to `copies` times its hosts in SQL: each copy of a host gets a new id and
 * name, its links and its findings (exactly what a scan of the same inventory records), so a
 * fleet of 100,000 is 10 copies of 10,000 generated hosts with the same distinct builds.
 */
async function replicate(copies: number): Promise<void> {
  const c = await client(url as string);
  const t = performance.now();
  await c.query('set session_replication_role = replica');
  const cols = async (table: string): Promise<string[]> =>
    (
      await c.query<{ c: string }>(
        `select column_name as c from information_schema.columns where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
        [table],
      )
    ).rows.map((r) => r.c);
  const targetCols = (await cols('targets')).filter((x) => x !== 'id' && x !== 'name');
  const findingCols = (await cols('findings')).filter((x) => x !== 'pk' && x !== 'target_id');
  await c.query(`create temp table base as select id, name from targets`);
  // Bulk-load practice: the plain indexes of the two big tables are dropped while the copies are
  // written and built again once after (the keys stay), with memory for the sorts.
  await c.query(`set work_mem = '256MB'`);
  await c.query(`set maintenance_work_mem = '512MB'`);
  await c.query('set synchronous_commit = off');
  const plain = (
    await c.query<{ name: string; def: string }>(
      `select i.indexname as name, i.indexdef as def from pg_indexes i
       where i.schemaname = current_schema() and i.tablename in ('target_packages', 'findings')
         and not exists (select 1 from pg_constraint k where k.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)`,
    )
  ).rows;
  for (const ix of plain) await c.query(`drop index ${ix.name}`);
  for (let j = 1; j < copies; j++) {
    await c.query('begin');
    // A copy's ids sort after every id before it (`z<copy>-<id>`), so its links and findings are
    // appended to the indexes rather than scattered through them (seeding time, nothing else).
    await c.query(`create temp table m on commit drop as select id as old, 'z' || lpad($1, 3, '0') || '-' || id as new, name || '-c' || $1 as name from base`, [
      String(j),
    ]);
    await c.query(
      `insert into targets (id, name, ${targetCols.join(', ')}) select m.new, m.name, ${targetCols.map((x) => `t.${x}`).join(', ')} from targets t join m on t.id = m.old`,
    );
    await c.query(
      `insert into target_packages (target_id, package_pk) select m.new, tp.package_pk from target_packages tp join m on tp.target_id = m.old order by 1, 2`,
    );
    await c.query(
      `insert into findings (target_id, ${findingCols.join(', ')}) select m.new, ${findingCols.map((x) => `f.${x}`).join(', ')} from findings f join m on f.target_id = m.old order by 1`,
    );
    await c.query('commit');
  }
  const ti = performance.now();
  for (const ix of plain) await c.query(ix.def);
  out['reindexS'] = (performance.now() - ti) / 1000;
  await c.end();
  await settle(url as string);
  out['replicateS'] = (performance.now() - t) / 1000;
}

/**
 * The seeded tables vacuumed and analysed, as autovacuum leaves a store that has been running a
 * while (statistics, and the visibility map that lets the links' index answer alone).
 */
async function settle(u0: string): Promise<void> {
  const c = await client(u0);
  const t = performance.now();
  try {
    await c.query('vacuum (analyze) targets, packages, target_packages, findings');
  } finally {
    await c.end();
  }
  out['vacuumS'] = Number(out['vacuumS'] ?? 0) + (performance.now() - t) / 1000;
}

async function client(u0: string): Promise<pg.Client> {
  const u = new URL(u0);
  const schema = u.searchParams.get('schema') ?? 'public';
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.toString(), options: `-c search_path=${schema}` });
  await c.connect();
  return c;
}

async function pgCount(u0: string, q: string): Promise<number> {
  const c = await client(u0);
  try {
    const r = await c.query<{ n: string }>(q);
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

async function upgrade(): Promise<void> {
  const t = performance.now();
  const db = await openDatabase(resolveLocation({ env: { BULWARK_DATABASE_URL: url } }), { migrate: false });
  try {
    out['migrations'] = (await migrateToLatest(db)).join(' ');
  } finally {
    await db.close();
  }
  await settle(url as string);
  out['upgradeS'] = (performance.now() - t) / 1000;
}

async function sync(): Promise<void> {
  const db = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: url } });
  try {
    const t = performance.now();
    const cpu = process.cpuUsage();
    const r = await syncSource(db, SOURCE, { file: NEXT });
    out['syncS'] = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    out['syncCpuS'] = (used.user + used.system) / 1e6;
    out['syncPrintedS'] = r.seconds;
    out['syncRescanned'] = r.rescanned ?? 0;
    out['syncChanged'] = `${String(r.added)} added, ${String(r.changed)} changed, ${String(r.withdrawn)} withdrawn`;
  } finally {
    await db.close();
  }
  out['findingsAfter'] = await pgCount(url as string, 'select count(*) as n from findings');
  out['syncMaxRssMB'] = rss();
}

if (step === 'seed') await seed(Number(hostsArg ?? 10_000), Number(copiesArg ?? 1));
else if (step === 'replicate') {
  await replicate(Number(hostsArg ?? 1));
  out['hosts'] = await pgCount(url, 'select count(*) as n from targets');
  out['findings'] = await pgCount(url, 'select count(*) as n from findings');
  out['seedMaxRssMB'] = rss();
} else if (step === 'upgrade') await upgrade();
else await sync();
console.log(JSON.stringify(out));
