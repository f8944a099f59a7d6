import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { BulwarkError } from '../core/errors.js';
import { checkHostName, type InstalledPackage } from '../core/target.js';
import { EXAMPLE_RELEASE, releaseFamily } from '../distros/registry.js';
import { parseInventoryToScan, releaseFromPackages } from '../inventory/imports.js';
import { feedDocuments } from '../lib/archive.js';
import {
  countInventoried,
  learnSourceNamesOfMany,
  restoreIndexes,
  saveInventories,
  suspendIndexes,
  transaction,
  upsertTarget,
  widenPageCache,
  writePendingLinks,
  type Db,
  type PendingLinks,
  type Tx,
} from '../storage/index.js';
import { expireAcceptances } from './acceptance-expiry.js';
import { recordAudit, SYSTEM, type Actor } from './audit.js';
import { rescan, rescanWithin, type RescanResult } from './fleet-scan.js';
import { MAX_INVENTORY_BYTES } from './inventory.js';
import { readBoundedText } from './read-file.js';
import { saveInventoryWithSources } from './source-names.js';
import { systemClock, type Clock } from './store.js';

/**
 * Bulk import (issue #14): many inventories in one command, from a directory of files, a tar
 * (plain or compressed) of files, each named by its host (`web-01.tsv` → `web-01`), or JSON
 * lines (`{"name": "web-01", "release": "azurelinux:3.0", "inventory": "<rpm -qa output …>"}`).
 * Each inventory is any format `scan --inventory` reads. A batch of hosts is stored per
 * transaction, and the fleet is matched once at the end, through the fleet index (distinct
 * builds matched once). A record that cannot be read is named and left out; the others are
 * imported.
 */
export interface BulkImportOptions {
  /** The release of inventories that do not tell it (Azure Linux dist tags do). */
  release?: string | undefined;
  /** Hosts per transaction (default 500). */
  batch?: number;
  actor?: Actor;
  clock?: Clock;
}

export interface BulkImportReport {
  hosts: number;
  packages: number;
  /** Distinct builds no target had before. */
  newPackages: number;
  /** Records left out, each named, with why. */
  failures: { record: string; error: string }[];
  /** Distinct builds matched once for the whole import. */
  matched: number;
  opened: number;
  importSeconds: number;
  matchSeconds: number;
}

interface Entry {
  name: string;
  /** How an error names the record: `dir/web-01.tsv`, `fleet.tar:web-01.tsv`, `fleet.jsonl:12`. */
  record: string;
  text: () => Promise<string>;
  release?: string;
}

const hostOf = (file: string): string => basename(file).replace(/\.(txt|tsv|list|json|cdx\.json|spdx\.json|csv)$/i, '');

async function* entries(path: string): AsyncGenerator<Entry> {
  const s = await stat(path).catch((err: unknown) => {
    throw new BulwarkError('usage', `cannot read ${path}: ${(err as Error).message}`, { file: path });
  });
  if (s.isDirectory()) {
    // Hidden files are left out (editors' copies); anything else is a host, or a record named as
    // left out: a symbolic link to an inventory (a directory kept by a configuration tool) and
    // a subdirectory were passed over in silence, their hosts neither imported nor named.
    const files = (await readdir(path, { withFileTypes: true })).filter((d) => !d.name.startsWith('.')).map((d) => d.name);
    for (const f of files.sort()) {
      const record = join(path, f);
      const isFile = await stat(record).then(
        (st) => st.isFile(),
        () => false,
      );
      const why = `${record}: not a file (a directory, or a link to none); not imported`;
      yield isFile
        ? { name: hostOf(f), record, text: () => readBoundedText(record, MAX_INVENTORY_BYTES) }
        : { name: hostOf(f), record, text: () => Promise.reject(new BulwarkError('input.invalid', why)) };
    }
    return;
  }
  if (/\.jsonl$/i.test(path)) {
    let line = 0;
    for await (const raw of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      line++;
      if (raw.trim() === '') continue;
      const record = `${path}:${String(line)}`;
      let o: unknown;
      try {
        o = JSON.parse(raw);
      } catch (err) {
        yield { name: '', record, text: () => Promise.reject(new BulwarkError('input.invalid', `${record}: not JSON (${(err as Error).message})`)) };
        continue;
      }
      const r = o as { name?: unknown; release?: unknown; inventory?: unknown };
      if (typeof r.name !== 'string' || r.name === '' || typeof r.inventory !== 'string' || (r.release !== undefined && typeof r.release !== 'string')) {
        const why = `${record}: a line is {"name": "<host>", "inventory": "<inventory text>"} with an optional "release"`;
        yield { name: '', record, text: () => Promise.reject(new BulwarkError('input.invalid', why)) };
        continue;
      }
      const text = r.inventory;
      yield { name: r.name, record, text: () => Promise.resolve(text), ...(typeof r.release === 'string' ? { release: r.release } : {}) };
    }
    return;
  }
  // A tar (plain or compressed): one inventory per member.
  for await (const doc of feedDocuments(createReadStream(path), path, {
    maxDocumentBytes: MAX_INVENTORY_BYTES,
    maxTotalBytes: 64 * MAX_INVENTORY_BYTES,
    member: (p) => !p.endsWith('/') && !p.split('/').some((x) => x.startsWith('.') && x !== '.'),
  })) {
    const chunks: Buffer[] = [];
    for await (const c of doc.bytes) chunks.push(Buffer.from(c));
    const text = Buffer.concat(chunks).toString('utf8');
    if (doc.name === path) throw new BulwarkError('usage', `${path}: not a directory, a tar of inventories or a .jsonl file`, { file: path });
    yield { name: hostOf(doc.name.slice(path.length + 1)), record: doc.name, text: () => Promise.resolve(text) };
  }
}

/**
 * Imports every inventory under `path` as hosts, then matches them once.
 * @example await importInventories(db, '/srv/inventories', { release: 'azurelinux:3.0' })
 */
export async function importInventories(db: Db, path: string, o: BulkImportOptions = {}): Promise<BulkImportReport> {
  const clock = o.clock ?? systemClock;
  const started = performance.now();
  if (o.release !== undefined && releaseFamily(o.release) === null)
    throw new BulwarkError('usage', `"${o.release}" is not a release Bulwark knows (e.g. ${EXAMPLE_RELEASE})`);
  const report: BulkImportReport = { hosts: 0, packages: 0, newPackages: 0, failures: [], matched: 0, opened: 0, importSeconds: 0, matchSeconds: 0 };
  const ids = new Set<string>();
  const size = Math.max(1, o.batch ?? 500);
  let batch: { name: string; release: string; packages: InstalledPackage[] }[] = [];
  // An initial load (the store holds no more hosts with an inventory than one batch) runs in ONE
  // transaction: the links' secondary index, and the findings' when the match at least doubles
  // them, are dropped and built once at the end (a sorted build, not a random insert per row;
  // rolled back with the rest on failure). Other writers wait for it. Otherwise a transaction
  // per batch.
  const initial = (await countInventoried(db)) <= size;
  let inTx: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T> = (fn) => transaction(db, fn);
  // An initial load also holds back every host's links until all are stored, then writes them
  // in key order (saveInventories, writePendingLinks).
  let pending: PendingLinks | undefined;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const now = clock().toISOString();
    const todo = batch;
    batch = [];
    await inTx(async (tx) => {
      // Inventories that name every package's source (rpm -qa, dpkg-query) are stored together:
      // their builds looked up and linked for the whole batch. Others resolve their source
      // names host by host first (repositories, learned claims, the shipped map).
      const given: { targetId: string; release: string; arch: string | null; packages: InstalledPackage[] }[] = [];
      for (const h of todo) {
        // The host's one arch (noarch and the like aside); none when it lists two.
        let arch: string | null = null;
        for (const p of h.packages) {
          if (p.arch === 'noarch' || p.arch === 'all' || p.arch === '(none)' || p.arch === arch) continue;
          if (arch !== null) {
            arch = null;
            break;
          }
          arch = p.arch;
        }
        const t = await upsertTarget(tx, { name: h.name, kind: 'host', release: h.release }, now);
        ids.add(t.id);
        // Its inventory replaced whole below: links held back for an earlier one are void.
        pending?.delete(t.id);
        if (h.packages.every((p) => p.sourceName !== null)) {
          given.push({ targetId: t.id, release: h.release, arch, packages: h.packages });
          continue;
        }
        const r = await saveInventoryWithSources(
          tx,
          { targetId: t.id, collectedAt: now, release: h.release, arch, runningKernel: null, rebootRequired: null, packages: h.packages },
          now,
        );
        report.packages += r.packages;
        report.newPackages += r.newPackages;
      }
      for (const release of new Set(given.map((g) => g.release)))
        await learnSourceNamesOfMany(
          tx,
          release,
          given.filter((g) => g.release === release),
          now,
        );
      const saved = await saveInventories(
        tx,
        given.map((g) => ({
          targetId: g.targetId,
          collectedAt: now,
          release: g.release,
          arch: g.arch,
          runningKernel: null,
          rebootRequired: null,
          packages: g.packages,
        })),
        pending,
      );
      for (const r of saved.values()) {
        report.packages += r.packages;
        report.newPackages += r.newPackages;
      }
    });
  };
  const store = async (): Promise<void> => {
    for await (const e of entries(path)) {
      try {
        const inv = parseInventoryToScan(await e.text(), e.record);
        // A file named `web 02.tsv` or a JSON line naming `../x` is a record left out, named
        // (after its text: a record that cannot be read says why, and has no name).
        checkHostName(e.name);
        const release = e.release ?? o.release ?? releaseFromPackages(inv.packages);
        if (release === null) throw new BulwarkError('usage', `${e.record}: cannot tell the release; give --release (e.g. ${EXAMPLE_RELEASE})`);
        const family = releaseFamily(release);
        if (family === null) throw new BulwarkError('usage', `${e.record}: "${release}" is not a release Bulwark knows`);
        if (family !== inv.family) throw new BulwarkError('usage', `${e.record}: lists ${inv.family} packages but ${release} is a ${family} release`);
        batch.push({ name: e.name, release, packages: inv.packages });
      } catch (err) {
        if (!(err instanceof BulwarkError)) throw err;
        report.failures.push({ record: e.record, error: err.message });
      }
      if (batch.length >= size) await flush();
    }
    await flush();
    report.hosts = ids.size;
    report.importSeconds = Math.round(performance.now() - started) / 1000;
  };
  let matchStarted = 0;
  const matched = (r: RescanResult): void => {
    report.matched = r.distinctMatched;
    for (const c of r.counts.values()) report.opened += c.opened;
    for (const f of r.failures) report.failures.push({ record: f.target, error: f.error });
  };
  if (initial) {
    // What every stored scan does first, before the transaction (rescan does it in its own).
    await expireAcceptances(db, clock().toISOString(), SYSTEM);
    await transaction(db, async (tx) => {
      inTx = (fn) => fn(tx);
      pending = new Map();
      const restoreCache = widenPageCache(tx, 256);
      try {
        const links = await suspendIndexes(tx, 'target_packages');
        await store();
        await writePendingLinks(tx, pending);
        await restoreIndexes(tx, links);
        // Storing ends when the links and their index are written.
        report.importSeconds = Math.round(performance.now() - started) / 1000;
        matchStarted = performance.now();
        if (ids.size > 0) matched(await rescanWithin(tx, { targets: [...ids] }, { clock, links: pending }));
      } finally {
        restoreCache();
      }
    });
  } else {
    await store();
    matchStarted = performance.now();
    if (ids.size > 0) matched(await rescan(db, { targets: [...ids] }, { clock }));
  }
  report.matchSeconds = Math.round(performance.now() - matchStarted) / 1000;
  await recordAudit(
    db,
    o.actor ?? SYSTEM,
    'host.import',
    path,
    { hosts: report.hosts, packages: report.packages, failures: report.failures.length, opened: report.opened },
    clock,
  );
  return report;
}
