import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BulwarkError, type ErrorCode } from '../core/errors.js';
import { runReadJson, type ReadArgs, type ReadOp } from './read-ops.js';
import type { ReadReply, ReadRequest } from './read-worker.js';
import { storeLocation, type Db } from './store.js';
import { writeMark } from '../storage/index.js';

/**
 * Read workers for the API on SQLite (issue #17). better-sqlite3 is synchronous: a findings page
 * computed in the server's thread holds its event loop, and nine other requests wait behind it
 * (p99 ≈ ten times one request). The findings pages are handed instead to a few worker threads,
 * each with its own read-only connection (WAL: concurrent readers), running the very same service
 * functions (services/read-ops.ts) with a cache exact to the store's data version. PostgreSQL
 * needs none: its driver is asynchronous, and the Db has no pool, so `pooledRead` runs in-process.
 */
export interface ReadPool {
  readonly size: number;
  /** Settled when every worker has opened its connection (or failed to: questions then fail, and the worker is replaced). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const POOL: unique symbol = Symbol('bulwark.readPool');

interface Slot {
  worker: Worker;
  busy: number;
  ready: Promise<void>;
  /** It said it was ready (its module loaded, its connection opened). */
  served: boolean;
  dead: boolean;
}

/** The worker's module: the built .js, or under tsx/vitest the .ts source loaded through tsx's hooks. */
function spawn(data: unknown): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./read-worker.js', self), { workerData: data });
  const tsx = pathToFileURL(
    createRequire(self)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const file = new URL('./read-worker.ts', self).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })`, {
    eval: true,
    workerData: data,
  });
}

/**
 * Starts `size` read workers on the SQLite file at `path` and attaches them to `db`: from then
 * on `pooledRead(db, …)` answers in a worker. Closed with the returned pool (before `db`).
 * @example const pool = startReadPool(db, '/var/lib/bulwark/bulwark.db'); … await pool.close();
 */
export function startReadPool(db: Db, path: string, opts: { size?: number; cache?: boolean; coalesce?: boolean; busyTimeoutMs?: number } = {}): ReadPool {
  const size = opts.size ?? Math.max(1, Math.min(4, availableParallelism()));
  const data = {
    path,
    cache: opts.cache !== false,
    coalesce: opts.coalesce !== false,
    ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}),
  };
  const pending = new Map<number, { slot: Slot; key: string; resolve: (json: string) => void; reject: (e: Error) => void }>();
  // Questions being answered, by their text, and the worker answering: the same question goes to
  // the same worker, which answers both with one computation (ReadCache: single flight).
  const flying = new Map<string, { slot: Slot; count: number }>();
  // Before a worker has started, questions are answered here, with the same single flight: at
  // the same write mark (storage writeMark: this connection writes too) a question shares the
  // computation of the same one in flight; the server's first pages wait neither for the
  // workers nor behind ten copies of themselves.
  const local = new Map<string, { mark: string; answer: Promise<string> }>();
  const here = async (op: ReadOp, args: unknown[]): Promise<string> => {
    const mark = await writeMark(db);
    if (mark === null || opts.coalesce === false) return runReadJson(db, op as 'findingsPage', args as ReadArgs<'findingsPage'>);
    const key = JSON.stringify([op, args]);
    const same = local.get(key);
    if (same !== undefined && same.mark === mark) return same.answer;
    const mine = { mark, answer: runReadJson(db, op as 'findingsPage', args as ReadArgs<'findingsPage'>) };
    local.set(key, mine);
    const land = (): void => {
      if (local.get(key) === mine) local.delete(key);
    };
    void mine.answer.then(land, land);
    return mine.answer;
  };
  const landed = (key: string): void => {
    const f = flying.get(key);
    if (f !== undefined && --f.count === 0) flying.delete(key);
  };
  let next = 0;
  let closed = false;
  const slots: Slot[] = [];
  const start = (i: number): void => {
    const worker = spawn(data);
    let isReady: () => void = () => undefined;
    const slot: Slot = { worker, busy: 0, ready: new Promise<void>((resolve) => (isReady = resolve)), served: false, dead: false };
    slot.worker.unref();
    slot.worker.on('message', (m: ReadReply) => {
      if (m === 'ready') {
        slot.served = true;
        isReady();
        return;
      }
      const p = pending.get(m.id);
      if (p === undefined) return;
      pending.delete(m.id);
      landed(p.key);
      slot.busy--;
      if ('json' in m) p.resolve(m.json);
      else if (m.error.code !== undefined)
        p.reject(new BulwarkError(m.error.code as ErrorCode, m.error.message, m.error.details as Record<string, unknown> | undefined));
      else p.reject(new Error(m.error.message));
    });
    // A worker that dies fails what it had in hand, and is replaced if it had served (one that
    // cannot even start is not started again and again: the questions are answered in-process).
    const died = (why: string): void => {
      slot.dead = true;
      isReady();
      for (const [id, p] of pending)
        if (p.slot === slot) {
          pending.delete(id);
          landed(p.key);
          p.reject(new Error(`read worker: ${why}`));
        }
      slot.busy = 0;
      if (!closed && slots[i] === slot && slot.served) start(i);
    };
    slot.worker.on('error', (err) => {
      died(err.message);
    });
    slot.worker.on('exit', (code) => {
      died(`exited with code ${String(code)}`);
    });
    slots[i] = slot;
  };
  for (let i = 0; i < size; i++) start(i);
  const pool = {
    size,
    ready: Promise.all(slots.map((s) => s.ready)).then(() => undefined),
    run(op: ReadOp, args: unknown[]): Promise<string> {
      // Until a worker has started (its modules loaded, its connection open: a second or more on
      // a busy machine), questions are answered here: the server's first pages do not wait for it.
      const alive = slots.filter((s) => s.served && !s.dead);
      if (closed) return runReadJson(db, op as 'findingsPage', args as ReadArgs<'findingsPage'>);
      if (alive.length === 0) return here(op, args);
      const key = JSON.stringify([op, args]);
      const same = flying.get(key);
      const slot = same !== undefined && !same.slot.dead ? same.slot : alive.reduce((a, b) => (b.busy < a.busy ? b : a));
      if (same !== undefined && same.slot === slot) same.count++;
      else flying.set(key, { slot, count: 1 });
      const id = next++;
      slot.busy++;
      return new Promise((resolve, reject) => {
        pending.set(id, { slot, key, resolve, reject });
        slot.worker.postMessage({ id, op, args } satisfies ReadRequest);
      });
    },
    async close(): Promise<void> {
      closed = true;
      Object.assign(db, { [POOL]: undefined });
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (s.dead) {
                resolve();
                return;
              }
              s.worker.once('exit', () => {
                resolve();
              });
              // Held until it has exited: the server's loop may have nothing else left to wait for.
              s.worker.ref();
              s.worker.postMessage('close');
              // A worker stuck in a query is stopped.
              setTimeout(() => void s.worker.terminate(), 5000).unref();
            }),
        ),
      );
    },
  };
  Object.assign(db, { [POOL]: pool });
  return pool;
}

/**
 * Answers a read question, as the JSON text the API sends, in a read worker when `db` has a pool
 * (startReadPool), else here: the same service function either way, so the same answer.
 * @example new Raw(await pooledJson(db, 'findingGroupsPage', ['advisory', { tag: 'prod' }, { limit: 50, offset: 0, sort: '-severity' }]), 'application/json')
 */
export function pooledJson<K extends ReadOp>(db: Db, op: K, args: ReadArgs<K>): Promise<string> {
  const pool = (db as { [POOL]?: { run(op: ReadOp, args: unknown[]): Promise<string> } })[POOL];
  if (pool === undefined) return runReadJson(db, op, args);
  return pool.run(op, args);
}

/**
 * The read workers of `bulwark serve` for the configured store: started on a SQLite file, none
 * on PostgreSQL (asynchronous already) or in memory (a worker cannot share it).
 * @example const reads = readPoolForStore(db, { dbPath: undefined }); … await reads?.close();
 */
export function readPoolForStore(db: Db, opts: { dbPath?: string | undefined; env?: NodeJS.ProcessEnv }): ReadPool | null {
  const at = storeLocation(opts);
  if (at.kind !== 'sqlite' || at.path === ':memory:' || db.dialect !== 'sqlite') return null;
  // For measuring the work itself (bench/console.bench.ts): BULWARK_READ_CACHE=off computes every
  // page anew (concurrent identical questions still share one computation), =none shares nothing.
  const knob = opts.env?.['BULWARK_READ_CACHE'];
  const tuning = { cache: knob !== 'off' && knob !== 'none', coalesce: knob !== 'none' };
  return startReadPool(db, at.path, { ...tuning, ...(at.busyTimeoutMs !== undefined ? { busyTimeoutMs: at.busyTimeoutMs } : {}) });
}
