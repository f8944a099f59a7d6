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
    ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}),
  };
  const pending = new Map<number, { slot: Slot; resolve: (json: string) => void; reject: (e: Error) => void }>();
  // Single flight: a question asked while the same one is being answered (by a worker, or here),
  // with no write since it was asked (storage writeMark: the data version, which moves at others'
  // commits, with this connection's own changes), shares its answer: ten clients asking for one
  // page cost one computation. A question asked after a write is computed anew.
  const flying = new Map<string, { mark: string; answer: Promise<string> }>();
  const shared = async (op: ReadOp, args: unknown[], compute: () => Promise<string>): Promise<string> => {
    const mark = opts.coalesce === false ? null : await writeMark(db);
    if (mark === null) return compute();
    const key = JSON.stringify([op, args]);
    const same = flying.get(key);
    if (same !== undefined && same.mark === mark) return same.answer;
    const mine = { mark, answer: compute() };
    flying.set(key, mine);
    const land = (): void => {
      if (flying.get(key) === mine) flying.delete(key);
    };
    void mine.answer.then(land, land);
    return mine.answer;
  };
  // Answered here (before a worker has started), after the requests already received have asked:
  // a computation here runs to its end without letting them in, and they would not share it.
  const here = async (op: ReadOp, args: unknown[]): Promise<string> => {
    await new Promise((resolve) => setImmediate(resolve));
    return runReadJson(db, op as 'findingsPage', args as ReadArgs<'findingsPage'>);
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
  // One worker first, the others once it has started: starting one (loading its modules) takes a
  // core for a second or more, and the server, answering meanwhile, needs one too.
  start(0);
  const started = (slots[0] as Slot).ready.then(async () => {
    for (let i = 1; i < size && !closed; i++) start(i);
    await Promise.all(slots.map((s) => s.ready));
  });
  const pool = {
    size,
    ready: started,
    run(op: ReadOp, args: unknown[]): Promise<string> {
      if (closed) return runReadJson(db, op as 'findingsPage', args as ReadArgs<'findingsPage'>);
      return shared(op, args, () => {
        // Until a worker has started (its modules loaded, its connection open: a second or more
        // on a busy machine), questions are answered here: the first pages do not wait for it.
        const alive = slots.filter((s) => s.served && !s.dead);
        if (alive.length === 0) return here(op, args);
        const slot = alive.reduce((a, b) => (b.busy < a.busy ? b : a));
        const id = next++;
        slot.busy++;
        return new Promise<string>((resolve, reject) => {
          pending.set(id, { slot, resolve, reject });
          slot.worker.postMessage({ id, op, args } satisfies ReadRequest);
        });
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
