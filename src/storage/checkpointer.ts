import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { sqliteOf, type Db } from './database.js';

/**
 * WAL checkpoints off the server's thread (issue #14). SQLite's automatic checkpoint runs in the
 * connection that commits the 1,000th page: every hundred agent reports or so, one of them waits
 * while the pages are copied into the database file and the file is synced (17–56 ms at p99 on a
 * busy machine, ~0.6 ms added to every report on average). `bulwark serve` starts this instead: a
 * worker thread with its own connection runs `wal_checkpoint(PASSIVE)` a few times a second,
 * which never blocks a writer or a reader, and the server's connection checkpoints itself only
 * past SAFETY_PAGES (the worker stuck or dead: the WAL still cannot grow without bound).
 */
export interface Checkpointer {
  /** Checkpoints the worker has run (for tests). */
  runs(): Promise<number>;
  close(): Promise<void>;
}

/** The server's own automatic checkpoint while the worker runs: 10,000 pages (40 MB at 4 KiB). */
export const SAFETY_PAGES = 10_000;
const DEFAULT_EVERY_MS = 200;

// Plain CommonJS for an eval worker: it needs no build step and no TypeScript loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
let runs = 0;
let stopped = false;
const tick = () => {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    runs++;
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  setTimeout(tick, workerData.everyMs);
};
parentPort.on('message', (m) => {
  if (m === 'runs') parentPort.postMessage({ runs });
  if (m === 'stop') {
    stopped = true;
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    db.close();
    parentPort.postMessage({ stopped: true });
  }
});
tick();
`;

/**
 * Starts the checkpoint worker for `db`, a SQLite file store (null otherwise: PostgreSQL, or a
 * database in memory). Closed before `db`; the server's automatic checkpoint goes back to
 * SQLite's default then.
 * @example const cp = startCheckpointer(db, '/var/lib/bulwark/bulwark.db'); … await cp?.close();
 */
export function startCheckpointer(db: Db, path: string, opts: { everyMs?: number; onError?: (message: string) => void } = {}): Checkpointer | null {
  const sqlite = sqliteOf(db);
  if (sqlite === undefined || path === ':memory:' || sqlite.memory || sqlite.readonly) return null;
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path, everyMs: opts.everyMs ?? DEFAULT_EVERY_MS },
  });
  // The worker must not keep the process alive on its own (a server that stops closes it).
  worker.unref();
  sqlite.pragma(`wal_autocheckpoint = ${String(SAFETY_PAGES)}`);
  const waiters: ((m: { runs?: number; stopped?: boolean }) => void)[] = [];
  let alive = true;
  worker.on('message', (m: { runs?: number; stopped?: boolean; error?: string }) => {
    if (m.error !== undefined) opts.onError?.(`WAL checkpoint: ${m.error}`);
    else waiters.shift()?.(m);
  });
  worker.on('error', (err) => {
    opts.onError?.(`WAL checkpoint worker: ${err.message}`);
  });
  worker.on('exit', () => {
    alive = false;
    // Without the worker the server checkpoints as SQLite does by default.
    if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
    for (const w of waiters.splice(0)) w({ stopped: true });
  });
  const ask = (m: string): Promise<{ runs?: number; stopped?: boolean }> =>
    alive
      ? new Promise((resolve) => {
          waiters.push(resolve);
          worker.postMessage(m);
        })
      : Promise.resolve({ stopped: true });
  return {
    runs: async () => (await ask('runs')).runs ?? 0,
    close: async () => {
      await ask('stop');
      await worker.terminate();
    },
  };
}
