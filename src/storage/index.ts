/**
 * Storage: the only place that knows SQL (DESIGN.md). Services open a database, run
 * repository functions inside transactions, and never see a query.
 */
export { openDatabase, resolveLocation, defaultSqlitePath, redactUrl, migrateToLatest, transaction, rawKysely, MIGRATION_LOCK_ID } from './database.js';
export type { Db, Tx, Dialect, DatabaseLocation, Executor } from './database.js';
export { storageErrorOf } from './errors.js';
export { readSnapshot, snapshotStream } from './snapshot.js';
export { startCheckpointer, SAFETY_PAGES, type Checkpointer } from './checkpointer.js';
export * from './repositories/releases.js';
export * from './repositories/advisories.js';
export * from './repositories/advisory-reads.js';
export * from './repositories/advisory-staging.js';
export * from './repositories/targets.js';
export * from './repositories/inventory-delta.js';
export { BUCKETS, bucketDigest, digestEntries, digestOf, heldDigestText, nameBucket, validHeldDigest } from './repositories/held-digest.js';
export * from './repositories/findings.js';
export * from './repositories/findings-write.js';
export * from './repositories/findings-bulk.js';
export { withScopeSession, type ScopeSession, type ScopeSignature, type SignatureFinding } from './repositories/findings-scope-pg.js';
export * from './repositories/findings-accept.js';
export * from './repositories/builds.js';
export * from './repositories/inventory-bulk.js';
export * from './repositories/findings-summary.js';
export * from './repositories/findings-groups.js';
export * from './repositories/data-version.js';
export * from './repositories/findings-stream.js';
export * from './repositories/feeds.js';
export * from './repositories/policies.js';
export * from './repositories/audit.js';
export * from './repositories/runs.js';
export * from './repositories/tokens.js';
export * from './repositories/agents.js';
export * from './repositories/leases.js';
export * from './repositories/users.js';
export * from './repositories/repos.js';
export * from './repositories/source-names.js';
export * from './repositories/signals.js';
export { migrationStatus, databaseClock, newestRecordedTime, backupDatabase, restoreDatabase } from './maintenance.js';
export * from './repositories/compliance.js';
export * from './repositories/metrics.js';
export * from './repositories/notify.js';
