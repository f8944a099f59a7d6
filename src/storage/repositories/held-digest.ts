import { hash } from 'node:crypto';
import { PostgresAdapter, sql, type RawBuilder } from 'kysely';
import { kx, type Executor } from '../database.js';

/**
 * What a target holds, in digest (issue #14): its builds' keys grouped in BUCKETS buckets by
 * package name, one SHA-256 (16 hex digits) per bucket. An inventory whose buckets all match is
 * what the target holds; one that changed three packages differs in at most three buckets, and
 * only the held builds of those are read back (saveInventory). The bucket of a name is
 * (characters × 31 + first character × 1 + last character × 7) mod BUCKETS, computed the same in
 * SQL (bucketOfName); names that are not printable ASCII (or empty) have no bucket: an inventory
 * holding one keeps no digest, and is read whole.
 */
export const BUCKETS = 64;

/** The bucket of a package name, or null (not printable ASCII, or empty). */
export function nameBucket(name: string): number | null {
  if (name === '' || !/^[ -~]+$/.test(name)) return null;
  return (name.length * 31 + name.charCodeAt(0) + name.charCodeAt(name.length - 1) * 7) % BUCKETS;
}

/** The bucket of `packages.name` in SQL, as nameBucket computes it for an ASCII name. */
export function bucketOfName(on: Executor): RawBuilder<number> {
  return kx(on).getExecutor().adapter instanceof PostgresAdapter
    ? sql<number>`((length(packages.name) * 31 + ascii(packages.name) + ascii(right(packages.name, 1)) * 7) % ${sql.lit(BUCKETS)})`
    : sql<number>`${sql.raw(SQLITE_BUCKET_OF_NAME)}`;
}

/** bucketOfName's text on SQLite. */
export const SQLITE_BUCKET_OF_NAME = `((length(packages.name) * 31 + unicode(packages.name) + unicode(substr(packages.name, -1)) * 7) % ${String(BUCKETS)})`;

/**
 * The digest of builds (their keys, and names in the same order): one entry per bucket, and the
 * bucket of each build; null when a name has no bucket or a key holds a NUL.
 */
export function digestOf(keys: readonly string[], names: readonly string[]): { digest: string[]; buckets: Uint8Array } | null {
  const groups: string[][] = Array.from({ length: BUCKETS }, () => []);
  const buckets = new Uint8Array(keys.length);
  for (let j = 0; j < keys.length; j++) {
    const i = nameBucket(names[j] as string);
    const key = keys[j] as string;
    if (i === null || key.includes('\u0000')) return null;
    buckets[j] = i;
    (groups[i] as string[]).push(key);
  }
  return { digest: groups.map(bucketDigest), buckets };
}

/** One bucket's entry of a digest: the keys it holds, sorted (in place), hashed; '' for none. */
export function bucketDigest(keys: string[]): string {
  return keys.length === 0 ? '' : hash('sha256', keys.sort().join('\u0000')).slice(0, 16);
}

/** As stored in targets.held_digest: the fingerprint of the report that stored the builds, then the buckets. */
export function heldDigestText(fingerprint: string, digest: readonly string[]): string {
  return `${fingerprint}:${digest.join(',')}`;
}

/**
 * The entries of a held digest's text (heldDigestText), each a slice of that one text: a
 * remembered host keeps these (agent-report-delta.ts), not bucketDigest's, each of which keeps
 * the whole hex hash it was cut from (~7 KB a host).
 */
export function digestEntries(text: string): string[] {
  return text.slice(text.indexOf(':') + 1).split(',');
}

/** The stored digest when it is still the target's (its fingerprint is the target's inventory_sha256), else null. */
export function validHeldDigest(stored: string | null | undefined, inventorySha256: string | null | undefined): string[] | null {
  if (stored === null || stored === undefined || inventorySha256 === null || inventorySha256 === undefined) return null;
  const colon = stored.indexOf(':');
  if (colon < 0 || stored.slice(0, colon) !== inventorySha256) return null;
  const d = stored.slice(colon + 1).split(',');
  return d.length === BUCKETS ? d : null;
}
