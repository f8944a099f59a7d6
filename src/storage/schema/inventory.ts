import { bigint, integer, serial, table, text, timestamp } from './columns.js';

// What targets hold and what applies to them: targets, deduplicated packages, source-name knowledge, findings.

export const targets = table({
  columns: {
    id: text(),
    name: text(),
    kind: text(),
    platform: text().orNull(),
    release_id: text().orNull(),
    arch: text().orNull(),
    address: text().orNull(),
    /** JSON array of strings. */
    tags: text().withDefault(),
    created_at: timestamp(),
    inventory_at: timestamp().orNull(),
    /** SHA-256 of the raw package list of the last agent report (unchanged reports skip re-matching). */
    inventory_sha256: text().orNull(),
    running_kernel: text().orNull(),
    reboot_required: integer().orNull(),
    /** `<image>@<build>` the host was made from, when it carries /etc/bulwark-image. */
    image: text().orNull(),
    /** JSON array of enabled module streams (`nodejs:20`); null when not collected. */
    module_streams: text().orNull(),
    /** JSON array of enabled subscription channels; null when not collected. */
    channels: text().orNull(),
    /** JSON array of the running kernel's live patches (core/target.ts LivePatch); null when not collected. */
    live_patches: text().orNull(),
    /** `<inventory_sha256>:<digest per bucket of names>` of the builds it holds, as the last agent report stored them (repositories/held-digest.ts). */
    held_digest: text().orNull(),
  },
  primaryKey: ['id'],
  indexes: ['unique (name)'],
});

export const packages = table({
  columns: {
    pk: serial(),
    /** Canonical identity (family, name, epoch, version, release, arch, source): the dedup key. */
    key: text(),
    family: text(),
    name: text(),
    epoch: bigint().orNull(),
    version: text(),
    release: text().orNull(),
    arch: text(),
    source_name: text().orNull(),
    source_version: text().orNull(),
    /** Where source_name came from when the inventory did not say (SourceOrigin); null: given. */
    source_origin: text().orNull(),
  },
  primaryKey: ['pk'],
  indexes: ['index (name)', 'index (source_name)', 'unique (key)'],
});

export const targetPackages = table({
  columns: {
    target_id: text(),
    package_pk: bigint(),
  },
  primaryKey: ['target_id', 'package_pk'],
  // Migration 0057: the inverted index ranges over targets too (a sync's fan-out, a batch at a time).
  indexes: ['index (package_pk, target_id)'],
  // Migration 0081: one B-tree for the rows and their key (bulk import writes 6 M links at 10,000 hosts).
  sqliteWithoutRowid: true,
});

/**
 * Binary → source names that inventories of a release carried (issue #13), per target: its
 * claims as one JSON object `{"<binary>": "<source>"}` per release (issue #14: not a row per
 * host x binary). A target's later report replaces its own claims; they go with it.
 */
export const sourceClaimSets = table({
  columns: {
    target_id: text(),
    release_id: text(),
    /** JSON object: binary name → source name. */
    claims: text(),
    /** When the set last changed. */
    learned_at: timestamp(),
  },
  primaryKey: ['target_id', 'release_id'],
  indexes: [],
});

/** How many targets claim each binary → source fact of a release (the sum over source_claim_sets). */
export const sourceClaimCounts = table({
  columns: {
    release_id: text(),
    name: text(),
    source_name: text(),
    targets: integer(),
    /** When the first target still claiming it claimed it. */
    learned_at: timestamp(),
  },
  primaryKey: ['release_id', 'name', 'source_name'],
  indexes: [],
});

/** What snapshotted rpm-md repositories' primary.xml say each build was built from. */
export const repoSources = table({
  columns: {
    name: text(),
    version: text(),
    release: text(),
    source_name: text(),
    snapshot_id: text(),
  },
  primaryKey: ['name', 'version', 'release'],
  indexes: [],
});

export const findings = table({
  columns: {
    pk: serial(),
    target_id: text(),
    advisory_pk: bigint(),
    package: text(),
    arch: text(),
    installed: text(),
    fixed: text().orNull(),
    severity: text(),
    /** critical 5 … unknown 0 (severityRank), for ordering in SQL. */
    severity_rank: integer().withDefault(),
    status: text(),
    reason: text().orNull(),
    first_seen_at: timestamp(),
    last_seen_at: timestamp(),
    closed_at: timestamp().orNull(),
    /** The status it had when it closed as `withdrawn` (`accepted` comes back accepted; migration 0028). */
    closed_from: text().orNull(),
    /** When an `accepted` finding's acceptance expires; null: it does not (migration 0028). */
    accepted_until: timestamp().orNull(),
    /** The source package the binary was built from on that host (its inventory's, else its own name): set by the writer, filled for older rows by migration 0060. */
    source_package: text().orNull(),
    /** Who accepted it (an audit actor label, `cli:alice`); null unless `accepted` (migration 0064). */
    accepted_by: text().orNull(),
    /** When it was accepted; null unless `accepted` (migration 0064). */
    accepted_at: timestamp().orNull(),
  },
  primaryKey: ['pk'],
  indexes: [
    'index (severity_rank desc, first_seen_at, pk)',
    'index (status, severity)',
    'unique (target_id, advisory_pk, package, arch)',
    // Migration 0082 (was 0057's (advisory_pk, target_id), 0038's advisory_pk): a sync's findings on an
    // advisory, a range of targets at a time, read from the index alone.
    'index (advisory_pk, target_id, package, arch, installed, pk)',
    // Migration 0042: the console's filters (the fleet by first seen; a host's page is the identity
    // index's range of the host, sorted: 0083 dropped 0042's index for it).
    'index (first_seen_at, pk)',
    // Migration 0060: the grouped views (issue #17) count from these alone.
    'index (advisory_pk, package, installed, fixed, target_id, status, severity_rank, first_seen_at)',
    'index (source_package, package, installed, fixed, advisory_pk, target_id, status, severity_rank, first_seen_at)',
    // Migration 0064: expired acceptances, looked for by every scan; 0078: only rows that have one.
    'index (accepted_until) partial',
    // Migration 0062: the risk order's counts per (advisory, severity), from the index alone.
    'index (advisory_pk, severity, status)',
  ],
});
