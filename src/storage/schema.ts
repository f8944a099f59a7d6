import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The database as Kysely sees it. One schema for both dialects; the migrations choose the
 * column types (timestamps are `timestamptz` on PostgreSQL and ISO 8601 text on SQLite, read
 * back as ISO strings on both; ids are bigserial / integer autoincrement, read back as numbers).
 */
export interface Database {
  releases: ReleasesTable;
  advisories: AdvisoriesTable;
  advisory_cves: AdvisoryCvesTable;
  advisory_references: AdvisoryReferencesTable;
  fixes: FixesTable;
  advisory_events: AdvisoryEventsTable;
  targets: TargetsTable;
  packages: PackagesTable;
  learned_source_claims: LearnedSourceClaimsTable;
  repo_sources: RepoSourcesTable;
  target_packages: TargetPackagesTable;
  findings: FindingsTable;
  feed_sources: FeedSourcesTable;
  feed_state: FeedStateTable;
  kev_entries: KevEntriesTable;
  epss_scores: EpssScoresTable;
  epss_history: EpssHistoryTable;
  policies: PoliciesTable;
  plans: PlansTable;
  decisions: DecisionsTable;
  api_tokens: ApiTokensTable;
  enrollment_tokens: EnrollmentTokensTable;
  agents: AgentsTable;
  agent_nonces: AgentNoncesTable;
  agent_tasks: AgentTasksTable;
  leases: LeasesTable;
  users: UsersTable;
  sessions: SessionsTable;
  repos: ReposTable;
  repo_snapshots: RepoSnapshotsTable;
  view_versions: ViewVersionsTable;
  view_environments: ViewEnvironmentsTable;
  view_promotions: ViewEnvironmentsTable;
  image_builds: ImageBuildsTable;
  audit: AuditTable;
  runs: RunsTable;
  run_steps: RunStepsTable;
}

export interface RunsTable {
  pk: Generated<number>;
  policy: string;
  plan_pk: number | null;
  /** running | paused | cancelled | halted | done */
  status: string;
  failure_threshold: number;
  max_concurrency: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  note: string | null;
  soak_hours: ColumnType<number, number | undefined, number>;
  /** When a `waiting` run's next ring may start. */
  resume_at: Timestamp | null;
}

export interface RunStepsTable {
  pk: Generated<number>;
  run_pk: number;
  seq: number;
  ring_index: number;
  target_id: string;
  target_name: string;
  /** precheck | update | reboot | rescan */
  kind: string;
  /** JSON: what the step does (argv for commands). */
  spec: string;
  /** pending | started | done | failed | skipped */
  state: string;
  attempts: ColumnType<number, number | undefined, number>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  exit_code: number | null;
  output: string | null;
}

export interface AuditTable {
  pk: Generated<number>;
  at: Timestamp;
  actor: string;
  action: string;
  subject: string;
  /** JSON */
  detail: string;
}

export interface PoliciesTable {
  name: string;
  version: number;
  /** The YAML as applied. */
  source: string;
  /** JSON: the validated policy with defaults. */
  document: string;
  applied_at: Timestamp;
}

export interface ViewVersionsTable {
  view: string;
  version: number;
  created_at: Timestamp;
  created_by: string;
  /** The YAML as published. */
  spec: string;
  packages: number;
  /** JSON: the deviation report. */
  deviations: string;
  /** Where the published repository is. */
  dir: string;
}

export interface ImageBuildsTable {
  image: string;
  build: number;
  type: string;
  release: string;
  view: string;
  view_version: number;
  created_at: Timestamp;
  created_by: string;
  /** The definition as built. */
  spec: string;
  dir: string;
  /** The artifact, relative to dir: `oci` (a layout) or a tarball. */
  artifact: string;
  /** sha256:… of the OCI manifest or of the tarball. */
  digest: string;
  packages: number;
  /** The target name the image's inventory is stored and scanned as. */
  target: string;
}

export interface ViewEnvironmentsTable {
  view: string;
  environment: string;
  version: number;
  promoted_at: Timestamp;
  promoted_by: string;
}

export interface ReposTable {
  id: string;
  kind: 'rpm-md' | 'deb';
  url: string;
  suite: string | null;
  components: Generated<string>;
  arches: Generated<string>;
  keys: string;
  verify: number;
  created_at: Timestamp;
}

export interface RepoSnapshotsTable {
  id: string;
  repo_id: string;
  created_at: Timestamp;
  revision: string | null;
  packages: number;
  signed_by: string | null;
  files: string;
}

export interface UsersTable {
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  /** scrypt$N$r$p$salt$hash (base64url). */
  password_hash: string;
  created_at: Timestamp;
  disabled_at: Timestamp | null;
}

export interface SessionsTable {
  id_sha256: string;
  user_name: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  ended_at: Timestamp | null;
}

export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}

export interface EnrollmentTokensTable {
  id: string;
  secret_sha256: string;
  /** JSON array of tags the enrolled host gets. */
  tags: string;
  created_at: Timestamp;
  created_by: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  agent_id: string | null;
}

export interface AgentsTable {
  id: string;
  target_id: string;
  hostname: string;
  enrolled_at: Timestamp;
  last_seen_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** The boot id of the host's last report. */
  boot_id: string | null;
  /** When the host booted, as its last report says (/proc/stat btime); null from older agents. */
  booted_at: Timestamp | null;
}

export interface AgentNoncesTable {
  agent_id: string;
  nonce: string;
  at: Timestamp;
}

export interface AgentTasksTable {
  pk: Generated<number>;
  agent_id: string;
  kind: 'exec' | 'report';
  /** JSON array of words. */
  argv: string;
  state: 'pending' | 'sent' | 'done';
  created_at: Timestamp;
  sent_at: Timestamp | null;
  finished_at: Timestamp | null;
  exit_code: number | null;
  output: string | null;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  secret_sha256: string;
  created_at: Timestamp;
  created_by: string;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
  last_used_at: Timestamp | null;
}

export interface DecisionsTable {
  pk: Generated<number>;
  policy: string;
  advisory_id: string;
  kind: 'approve' | 'hold';
  reason: string;
  until: Timestamp | null;
  actor: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
}

export interface PlansTable {
  pk: Generated<number>;
  policy: string;
  policy_version: number;
  created_at: Timestamp;
  /** JSON: the plan as assemblePlan returned it. */
  plan: string;
}

/** Timestamps: written and read as ISO 8601 strings. */
type Timestamp = string;
/** Booleans: 0/1 integers on SQLite, which has no boolean type; the repositories convert. */
type Flag = ColumnType<number, number, number>;

export interface ReleasesTable {
  id: string;
  distro: string;
  version: string;
  family: string;
  name: string;
  ga: string | null;
  end_of_standard_support: string | null;
  end_of_security_support: string | null;
}

export interface AdvisoriesTable {
  pk: Generated<number>;
  source: string;
  advisory_id: string;
  title: string;
  description: string;
  severity: string;
  cvss_score: number | null;
  cvss_vector: string | null;
  published_at: string | null;
  updated_at: string | null;
  parser: string;
  /** security | bugfix | enhancement | other */
  kind: string;
  /** JSON: an OVAL definition's criteria tree, for literal evaluation; null for other formats. */
  oval: string | null;
  /** sha256 of the normalised advisory: an unchanged record is not rewritten. */
  fingerprint: string;
  first_seen_at: Timestamp;
  last_changed_at: Timestamp;
  /** Set when the advisory disappeared from its feed; cleared when it comes back. */
  withdrawn_at: Timestamp | null;
}

export interface AdvisoryCvesTable {
  advisory_pk: number;
  cve: string;
}

export interface AdvisoryReferencesTable {
  advisory_pk: number;
  seq: number;
  type: string;
  ref_id: string | null;
  url: string | null;
}

export interface FixesTable {
  advisory_pk: number;
  seq: number;
  release_id: string;
  package: string;
  package_kind: string;
  arch: string | null;
  status: string;
  fixed: string | null;
  last_affected: string | null;
  introduced: string | null;
  introduced_inclusive: Flag;
  /** `name:stream` of a modular build. */
  module: string | null;
  /** 0/1, null when the feed does not say. */
  reboot_suggested: number | null;
  /** 1: the feed's epoch is not to be trusted (see Fix.epochUnreliable). */
  epoch_unreliable: ColumnType<number, number | undefined, number>;
}

export interface AdvisoryEventsTable {
  pk: Generated<number>;
  advisory_pk: number;
  at: Timestamp;
  /** added | changed | withdrawn | restored */
  kind: string;
  /** JSON: what changed, e.g. {"severity":["medium","high"]}. */
  detail: string;
}

export interface TargetsTable {
  id: string;
  name: string;
  kind: string;
  platform: string | null;
  release_id: string | null;
  arch: string | null;
  address: string | null;
  /** JSON array of strings. */
  tags: string;
  created_at: Timestamp;
  inventory_at: Timestamp | null;
  /** SHA-256 of the raw package list of the last agent report (unchanged reports skip re-matching). */
  inventory_sha256: string | null;
  running_kernel: string | null;
  reboot_required: number | null;
  /** `<image>@<build>` the host was made from, when it carries /etc/bulwark-image. */
  image: string | null;
}

export interface PackagesTable {
  pk: Generated<number>;
  /** Canonical identity (family, name, epoch, version, release, arch, source): the dedup key. */
  key: string;
  family: string;
  name: string;
  epoch: number | null;
  version: string;
  release: string | null;
  arch: string;
  source_name: string | null;
  source_version: string | null;
  /** Where source_name came from when the inventory did not say (SourceOrigin); null: given. */
  source_origin: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Binary → source names that inventories of a release carried (issue #13). */
export interface LearnedSourceClaimsTable {
  release_id: string;
  name: string;
  /** The target whose inventory carried the pair (its latest report). */
  target_id: string;
  source_name: string;
  learned_at: Timestamp;
}

/** What snapshotted rpm-md repositories' primary.xml say each build was built from. */
export interface RepoSourcesTable {
  name: string;
  version: string;
  release: string;
  source_name: string;
  snapshot_id: string;
}

export interface TargetPackagesTable {
  target_id: string;
  package_pk: number;
}

export interface FindingsTable {
  pk: Generated<number>;
  target_id: string;
  advisory_pk: number;
  package: string;
  arch: string;
  installed: string;
  fixed: string | null;
  severity: string;
  /** critical 5 … unknown 0 (severityRank), for ordering in SQL. */
  severity_rank: Generated<number>;
  status: string;
  reason: string | null;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  closed_at: Timestamp | null;
  deadline: Timestamp | null;
  /** The status it had when it closed as `withdrawn` (`accepted` comes back accepted; migration 0028). */
  closed_from: string | null;
  /** When an `accepted` finding's acceptance expires; null: it does not (migration 0028). */
  accepted_until: Timestamp | null;
}

export interface FeedSourcesTable {
  id: string;
  format: string;
  /** A URL (http, https) or a local path. */
  location: string;
  release_id: string | null;
  description: string | null;
  added_at: Timestamp;
  /** `cli` or `api`: who may have chosen the location (migration 0026). */
  added_via: ColumnType<string, string | undefined, string>;
  /** Days after which the source is stale; null: its format's default (migration 0035). */
  stale_after_days: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface FeedStateTable {
  source: string;
  location: string;
  etag: string | null;
  last_modified: string | null;
  /** sha256 of the raw bytes plus the parser version: equal means nothing to do. */
  fingerprint: string | null;
  synced_at: Timestamp;
  /** JSON: the last sync's counts. */
  summary: string;
}

/** CISA KEV entries, kept after CISA drops one (`removed_at`) (migration 0034). */
export interface KevEntriesTable {
  cve: string;
  vendor_project: string;
  product: string;
  vulnerability_name: string;
  /** YYYY-MM-DD */
  date_added: string;
  short_description: string;
  required_action: string;
  /** YYYY-MM-DD */
  due_date: string;
  /** knownRansomwareCampaignUse "Known": 1. */
  ransomware: Flag;
  notes: string;
  /** JSON array of CWE ids. */
  cwes: string;
  catalog_version: string;
  first_seen_at: Timestamp;
  last_changed_at: Timestamp;
  removed_at: Timestamp | null;
}

/** Each CVE's latest EPSS score (migration 0034). */
export interface EpssScoresTable {
  cve: string;
  epss: number;
  percentile: number;
  /** YYYY-MM-DD */
  score_date: string;
  model_version: string;
  /** The last point of the CVE's trend (its first score, or the last that moved). */
  noted_epss: number;
  noted_percentile: number;
  noted_date: string;
}

/** EPSS scores over time, one row when a CVE is first scored or its score moved (migration 0034). */
export interface EpssHistoryTable {
  cve: string;
  score_date: string;
  epss: number;
  percentile: number;
}

export type AdvisoryRow = Selectable<AdvisoriesTable>;
export type NewAdvisoryRow = Insertable<AdvisoriesTable>;
export type PackageRow = Selectable<PackagesTable>;
export type FindingRow = Selectable<FindingsTable>;
