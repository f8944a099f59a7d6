/**
 * Risk acceptance: every stored scan (an agent report, a sync's re-scan) first ends the
 * acceptances that expired (services/acceptance-expiry.ts). In a store of 200,000 findings, half
 * of them withdrawn and 200 accepted, this times that look-up when nothing has expired — beside
 * its anchor, the re-scan of one host's changed package that an agent report does (which
 * includes it) — and the look-up again without the accepted_until index (migration 0064), to show
 * what the index buys. SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Advisory } from '../src/core/advisory.js';
import { expireAcceptances } from '../src/services/acceptance-expiry.js';
import { SYSTEM } from '../src/services/audit.js';
import { rescan } from '../src/services/fleet-scan.js';
import { importRpmQaFile } from '../src/services/inventory.js';
import { scanTarget } from '../src/services/scan.js';
import { openStore, type Db } from '../src/services/store.js';
import { advisoryPksOf, rawKysely, transaction, upsertAdvisories, upsertTarget } from '../src/storage/index.js';
import { freshPgSchema, pgAvailable } from '../test/databases.js';
import type { BenchRow } from './harness.js';

const HOSTS = 1000;
const ADVISORIES = 200;
const REPEAT = 20;

function advisory(k: number): Advisory {
  return {
    source: 'bench-accept',
    id: `BA-${String(k)}`,
    title: `bench ${String(k)}`,
    description: '',
    severity: 'high',
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: null,
    updatedAt: null,
    parser: 'bench@1',
    fixes: [
      {
        release: 'azurelinux:3.0',
        package: k === 0 ? 'openssl' : `ba-pkg-${String(k)}`,
        packageKind: 'source',
        arch: null,
        status: 'fixed',
        fixed: '0:3.3.2-1.azl3',
        lastAffected: null,
        introduced: null,
      },
    ],
  };
}

async function median(n: number, f: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)] ?? 0;
}

async function measure(db: Db, dir: string, label: string): Promise<BenchRow[]> {
  const now = '2026-06-01T00:00:00.000Z';
  await transaction(db, (tx) =>
    upsertAdvisories(
      tx,
      Array.from({ length: ADVISORIES }, (_, k) => advisory(k)),
      now,
    ),
  );
  const pks = await advisoryPksOf(
    db,
    Array.from({ length: ADVISORIES }, (_, k) => ({ source: 'bench-accept', id: `BA-${String(k)}` })),
  );
  // The fleet's findings, written directly: half withdrawn, 200 accepted (100 expiring later, 100 never).
  await transaction(db, async (tx) => {
    for (let h = 0; h < HOSTS; h++) {
      const t = await upsertTarget(tx, { name: `ba-host-${String(h)}`, kind: 'host', release: 'azurelinux:3.0', platform: null }, now);
      const rows = Array.from({ length: ADVISORIES }, (_, k) => {
        const i = h * ADVISORIES + k;
        const accepted = i % 1000 === 0;
        const withdrawn = !accepted && i % 2 === 1;
        return {
          target_id: t.id,
          advisory_pk: pks.get(`bench-accept\u0000BA-${String(k)}`) ?? 0,
          package: `ba-pkg-${String(k)}`,
          arch: 'x86_64',
          installed: '0:1.0-1.azl3',
          fixed: '0:3.3.2-1.azl3',
          severity: 'high',
          severity_rank: 4,
          status: accepted ? 'accepted' : withdrawn ? 'withdrawn' : 'open',
          reason: accepted ? 'bench' : null,
          first_seen_at: now,
          last_seen_at: now,
          closed_at: withdrawn ? now : null,
          closed_from: withdrawn ? 'open' : null,
          accepted_until: accepted && i % 2000 === 0 ? '2099-01-01T00:00:00.000Z' : null,
          accepted_by: accepted ? 'cli:bench' : null,
          accepted_at: accepted ? now : null,
        };
      });
      await rawKysely(tx).insertInto('findings').values(rows).execute();
    }
  });
  // The anchor: one host whose agent reported a changed openssl.
  const inv = join(dir, `probe-${label}.tsv`);
  writeFileSync(inv, 'openssl\t0\t3.3.0\t1.azl3\tx86_64\topenssl-3.3.0-1.azl3.src.rpm\ncurl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm\n');
  const probe = await importRpmQaFile(db, { name: 'probe', release: 'azurelinux:3.0', file: inv });
  await scanTarget(db, 'probe');
  const clock = () => new Date(now);
  const rescanMs = await median(REPEAT, () => rescan(db, { targets: [probe.target.id], packages: ['openssl'] }, { clock }));
  const sweepMs = await median(REPEAT, () => expireAcceptances(db, now, SYSTEM));
  const ended = (await expireAcceptances(db, now, SYSTEM)).length;
  await rawKysely(db).schema.dropIndex('findings_accepted_until').execute();
  const unindexedMs = await median(REPEAT, () => expireAcceptances(db, now, SYSTEM));
  return [
    {
      issue: 'accept',
      name: `re-scan of one host's changed package (agent report), ${label}`,
      value: rescanMs,
      unit: 'ms',
      target: '',
      ok: null,
      note: `median of ${String(REPEAT)}; includes the look-up below`,
    },
    {
      issue: 'accept',
      name: `look-up of expired acceptances in ${(HOSTS * ADVISORIES).toLocaleString('en-US')} findings, ${label}`,
      value: sweepMs,
      unit: 'ms',
      target: '',
      ok: ended === 0,
      note: `${(sweepMs / rescanMs).toFixed(2)} of the re-scan; nothing expired (${String(ended)} ended)`,
    },
    {
      issue: 'accept',
      name: `the same look-up without the accepted_until index, ${label}`,
      value: unindexedMs,
      unit: 'ms',
      target: '',
      ok: null,
      note: `${(unindexedMs / sweepMs).toFixed(1)}x the indexed look-up`,
    },
  ];
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-accept-'));
  try {
    const db = await openStore({ dbPath: join(dir, 'b.db') });
    try {
      rows.push(...(await measure(db, dir, 'SQLite')));
    } finally {
      await db.close();
    }
    if (pgAvailable) {
      const schema = await freshPgSchema();
      const pg = await openStore({ dbPath: undefined, env: { BULWARK_DATABASE_URL: schema.url } });
      try {
        rows.push(...(await measure(pg, dir, 'PostgreSQL')));
      } finally {
        await pg.close();
        await schema.drop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
