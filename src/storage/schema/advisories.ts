import { bigint, integer, real, serial, table, text, timestamp } from './columns.js';

// Advisories and where they come from: releases, advisories with their CVEs, references, fixes and change events, feed sources and their sync state.

export const releases = table({
  columns: {
    id: text(),
    distro: text(),
    version: text(),
    family: text(),
    name: text(),
    ga: text().orNull(),
    end_of_standard_support: text().orNull(),
    end_of_security_support: text().orNull(),
  },
  primaryKey: ['id'],
  indexes: [],
});

export const advisories = table({
  columns: {
    pk: serial(),
    source: text(),
    advisory_id: text(),
    title: text(),
    description: text(),
    severity: text(),
    cvss_score: real().orNull(),
    cvss_vector: text().orNull(),
    /** CVSS v4.0, beside v3 (never in cvss_score): null when the feed gives none. */
    cvss_v4_score: real().orNull(),
    cvss_v4_vector: text().orNull(),
    published_at: text().orNull(),
    updated_at: text().orNull(),
    parser: text(),
    /** security | bugfix | enhancement | other */
    kind: text().withDefault(),
    /** JSON: an OVAL definition's criteria tree, for literal evaluation; null for other formats. */
    oval: text().orNull(),
    /** sha256 of the normalised advisory: an unchanged record is not rewritten. */
    fingerprint: text(),
    first_seen_at: timestamp(),
    last_changed_at: timestamp(),
    /** Set when the advisory disappeared from its feed; cleared when it comes back. */
    withdrawn_at: timestamp().orNull(),
  },
  primaryKey: ['pk'],
  indexes: ['unique (source, advisory_id)'],
});

export const advisoryCves = table({
  columns: {
    advisory_pk: bigint(),
    cve: text(),
  },
  primaryKey: ['advisory_pk', 'cve'],
  indexes: ['index (cve)'],
});

export const advisoryReferences = table({
  columns: {
    advisory_pk: bigint(),
    seq: integer(),
    type: text(),
    ref_id: text().orNull(),
    url: text().orNull(),
  },
  primaryKey: ['advisory_pk', 'seq'],
  indexes: [],
});

export const fixes = table({
  columns: {
    advisory_pk: bigint(),
    seq: integer(),
    release_id: text(),
    package: text(),
    package_kind: text(),
    arch: text().orNull(),
    status: text(),
    fixed: text().orNull(),
    last_affected: text().orNull(),
    introduced: text().orNull(),
    introduced_inclusive: integer().withDefault(),
    /** `name:stream` of a modular build. */
    module: text().orNull(),
    /** The subscription channel the fix ships only in (Fix.channel), or null. */
    channel: text().orNull(),
    /** 0/1, null when the feed does not say. */
    reboot_suggested: integer().orNull(),
    /** 1: the feed's epoch is not to be trusted (see Fix.epochUnreliable). */
    epoch_unreliable: integer().withDefault(),
  },
  primaryKey: ['advisory_pk', 'seq'],
  indexes: ['index (release_id, package)'],
});

export const advisoryEvents = table({
  columns: {
    pk: serial(),
    advisory_pk: bigint(),
    at: timestamp(),
    /** added | changed | withdrawn | restored */
    kind: text(),
    /** JSON: what changed, e.g. {"severity":["medium","high"]}. */
    detail: text(),
  },
  primaryKey: ['pk'],
  indexes: ['index (advisory_pk, pk)'],
});

export const feedSources = table({
  columns: {
    id: text(),
    format: text(),
    /** A URL (http, https) or a local path. */
    location: text(),
    release_id: text().orNull(),
    description: text().orNull(),
    added_at: timestamp(),
    /** `cli` or `api`: who may have chosen the location (migration 0026). */
    added_via: text().withDefault(),
    /** Days after which the source is stale; null: its format's default (migration 0035). */
    stale_after_days: integer().orNull(),
  },
  primaryKey: ['id'],
  indexes: [],
});

export const feedState = table({
  columns: {
    source: text(),
    location: text(),
    etag: text().orNull(),
    last_modified: text().orNull(),
    /** sha256 of the raw bytes plus the parser version: equal means nothing to do. */
    fingerprint: text().orNull(),
    synced_at: timestamp(),
    /** JSON: the last sync's counts. */
    summary: text(),
  },
  primaryKey: ['source'],
  indexes: [],
});
