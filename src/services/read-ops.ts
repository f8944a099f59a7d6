import { dataVersion } from '../storage/index.js';
import { findingGroupsPage } from './finding-groups.js';
import { findingsPageOf } from './report.js';
import type { Db } from './store.js';

/**
 * The read-only questions the API may hand to a read worker (services/read-pool.ts): each a
 * service function of the database and arguments that survive a structured clone, answered the
 * same wherever it runs.
 */
export const READ_OPS = {
  findingsPage: findingsPageOf,
  findingGroupsPage,
} as const;

export type ReadOp = keyof typeof READ_OPS;
type Fn<K extends ReadOp> = (typeof READ_OPS)[K];
export type ReadArgs<K extends ReadOp> = Parameters<Fn<K>> extends [Db, ...infer A] ? A : never;
export type ReadResult<K extends ReadOp> = Awaited<ReturnType<Fn<K>>>;

/** Runs one read question on `db`, here. */
export function runRead<K extends ReadOp>(db: Db, op: K, args: ReadArgs<K>): Promise<ReadResult<K>> {
  const fn = READ_OPS[op] as unknown as (db: Db, ...a: ReadArgs<K>) => Promise<ReadResult<K>>;
  return fn(db, ...args);
}

/** One read question's answer as the API sends it: JSON text (what c.json would write for it). */
export async function runReadJson<K extends ReadOp>(db: Db, op: K, args: ReadArgs<K>): Promise<string> {
  return JSON.stringify(await runRead(db, op, args));
}

/** Answers kept, in characters of JSON in all (a page of 1,000 findings is about a megabyte); forgotten wholesale past it. */
const CACHE_CHARS = 32 * 1024 * 1024;

/**
 * Answers of read questions kept for as long as the store is unchanged (SQLite only): each is
 * kept under the store's data version (storage dataVersion) read before it was computed, and
 * only when the version read after it is the same, so that no write can have happened while it
 * was read; any later write changes the version and forgets them all. Exact by construction: an
 * answer is given again only for the very state of the store it was computed from. The
 * connection must never write (a connection's own commits do not change its data version): the
 * read workers' connections are read-only.
 */
export class ReadCache {
  private version: number | null = null;
  private readonly kept = new Map<string, string>();
  private chars = 0;

  /** `enabled` false: every question computed anew (for measuring the work itself). */
  constructor(private readonly enabled = true) {}

  /** The answer to a question as JSON text, computed, or kept from the same state of the store. */
  async answer<K extends ReadOp>(db: Db, op: K, args: ReadArgs<K>): Promise<string> {
    const before = this.enabled ? await dataVersion(db) : null;
    if (before === null) return runReadJson(db, op, args);
    const key = JSON.stringify([op, args]);
    if (before !== this.version) {
      this.kept.clear();
      this.chars = 0;
      this.version = before;
    } else {
      const hit = this.kept.get(key);
      if (hit !== undefined) return hit;
    }
    const result = await runReadJson(db, op, args);
    if ((await dataVersion(db)) === before && this.version === before) {
      if (this.chars + result.length > CACHE_CHARS) {
        this.kept.clear();
        this.chars = 0;
      }
      this.kept.set(key, result);
      this.chars += result.length;
    }
    return result;
  }
}
