import { parentPort, workerData } from 'node:worker_threads';
import { BulwarkError } from '../core/errors.js';
import { dataVersion, openDatabase, storageErrorOf } from '../storage/index.js';
import { ReadCache, type ReadOp } from './read-ops.js';

/**
 * A read worker (services/read-pool.ts): its own read-only connection to the SQLite store (WAL:
 * readers never wait for the writer, nor for each other), answering read questions with the same
 * service functions the API runs in-process, from a cache exact to the store's data version.
 */
export interface ReadRequest {
  id: number;
  op: ReadOp;
  args: unknown[];
}
/** An answer as JSON text, or an error; `ready` once the connection is open. */
export type ReadReply = { id: number; json: string } | { id: number; error: { code?: string; message: string; details?: unknown } } | 'ready';

const { path, busyTimeoutMs, cache } = workerData as { path: string; busyTimeoutMs?: number; cache: boolean };
const port = parentPort;
if (port === null) throw new Error('read-worker.ts runs as a worker thread');
const opened = openDatabase({ kind: 'sqlite', path, readOnly: true, ...(busyTimeoutMs !== undefined ? { busyTimeoutMs } : {}) }, { migrate: false });
const kept = new ReadCache(cache);
// Ready once its modules are loaded and its connection answers: the server says it serves after that.
void opened
  .then(
    (db) => dataVersion(db),
    () => null,
  )
  .then(() => {
    port.postMessage('ready' satisfies ReadReply);
  });

port.on('message', (m: ReadRequest | 'close') => {
  if (m === 'close') {
    void opened
      .then((db) => db.close())
      .finally(() => {
        // In a worker thread this ends the thread, not the server.
        process.exit(0);
      });
    return;
  }
  opened
    .then((db) => kept.answer(db, m.op, m.args as never))
    .then(
      (json) => {
        port.postMessage({ id: m.id, json } satisfies ReadReply);
      },
      (err: unknown) => {
        const e = storageErrorOf(err) ?? err;
        const error =
          e instanceof BulwarkError
            ? { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) }
            : { message: e instanceof Error ? e.message : String(e) };
        port.postMessage({ id: m.id, error } satisfies ReadReply);
      },
    );
});
