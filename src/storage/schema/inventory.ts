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
  indexes: ['index (package_pk)'],
});

/** Binary → source names that inventories of a release carried (issue #13). */
export const learnedSourceClaims = table({
  columns: {
    release_id: text(),
    name: text(),
    /** The target whose inventory carried the pair (its latest report). */
    target_id: text(),
    source_name: text(),
    learned_at: timestamp(),
  },
  primaryKey: ['release_id', 'name', 'target_id'],
  indexes: ['index (target_id)'],
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
    deadline: timestamp().orNull(),
    /** The status it had when it closed as `withdrawn` (`accepted` comes back accepted; migration 0028). */
    closed_from: text().orNull(),
    /** When an `accepted` finding's acceptance expires; null: it does not (migration 0028). */
    accepted_until: timestamp().orNull(),
  },
  primaryKey: ['pk'],
  indexes: [
    'index (severity_rank desc, first_seen_at, pk)',
    'index (status, severity)',
    'unique (target_id, advisory_pk, package, arch)',
    // Migration 0042: the console's filters (a host's page, a CVE, the fleet by first seen).
    'index (target_id, severity_rank desc, first_seen_at, pk)',
    'index (advisory_pk)',
    'index (first_seen_at, pk)',
  ],
});
