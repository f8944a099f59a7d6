import { integer, table, text, timestamp } from './columns.js';

// Curated content: repositories and their snapshots, content view versions, environments and promotions, image builds.

export const repos = table({
  columns: {
    id: text(),
    kind: text<'rpm-md' | 'deb'>(),
    url: text(),
    suite: text().orNull(),
    components: text().withDefault(),
    arches: text().withDefault(),
    keys: text(),
    verify: integer(),
    created_at: timestamp(),
  },
  primaryKey: ['id'],
  indexes: [],
});

export const repoSnapshots = table({
  columns: {
    id: text(),
    repo_id: text(),
    created_at: timestamp(),
    revision: text().orNull(),
    packages: integer(),
    signed_by: text().orNull(),
    files: text(),
  },
  primaryKey: ['repo_id', 'id'],
  indexes: [],
});

export const viewVersions = table({
  columns: {
    view: text(),
    version: integer(),
    created_at: timestamp(),
    created_by: text(),
    /** The YAML as published. */
    spec: text(),
    packages: integer(),
    /** JSON: the deviation report. */
    deviations: text(),
    /** Where the published repository is. */
    dir: text(),
    /** SHA-256 of what the version was made of (migration 0029); null before. */
    fingerprint: text().orNull(),
    /** JSON `[{ view, environment, version }]`: the parts of a composite view it was made from (migration 0030); null without parts or before. */
    parts: text().orNull(),
  },
  primaryKey: ['view', 'version'],
  indexes: [],
});

export const viewEnvironments = table({
  columns: {
    view: text(),
    environment: text(),
    version: integer(),
    promoted_at: timestamp(),
    promoted_by: text(),
  },
  primaryKey: ['view', 'environment'],
  indexes: [],
});

export const viewPromotions = table({
  columns: {
    view: text(),
    environment: text(),
    version: integer(),
    promoted_at: timestamp(),
    promoted_by: text(),
  },
  primaryKey: [],
  indexes: ['index (view, version)'],
});

export const imageBuilds = table({
  columns: {
    image: text(),
    build: integer(),
    type: text(),
    release: text(),
    view: text(),
    view_version: integer(),
    created_at: timestamp(),
    created_by: text(),
    /** The definition as built. */
    spec: text(),
    dir: text(),
    /** The artifact, relative to dir: `oci` (a layout) or a tarball. */
    artifact: text(),
    /** sha256:… of the OCI manifest or of the tarball. */
    digest: text(),
    packages: integer(),
    /** The target name the image's inventory is stored and scanned as. */
    target: text(),
  },
  primaryKey: ['image', 'build'],
  indexes: [],
});
