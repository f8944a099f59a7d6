import type { Insertable, Selectable } from 'kysely';
import { advisories, advisoryCves, advisoryEvents, advisoryReferences, feedSources, feedState, fixes, releases } from './schema/advisories.js';
import { findings, packages, repoSources, sourceClaimCounts, sourceClaimSets, targetPackages, targets } from './schema/inventory.js';
import { audit, decisions, leases, plans, policies, runSteps, runs } from './schema/operations.js';
import { agentNonces, agentTasks, agents, apiTokens, enrollmentTokens, sessions, users } from './schema/access.js';
import { imageBuilds, repoSnapshots, repos, viewEnvironments, viewPromotions, viewVersions } from './schema/content.js';
import { epssHistory, epssScores, kevEntries } from './schema/signals.js';
import { deadlineProfiles, notifyDeliveries, notifyEvents } from './schema/reporting.js';
import type { TableType } from './schema/columns.js';

export { DATA_TYPES, type ColumnKind, type TableDef, type Timestamp } from './schema/columns.js';

/**
 * Every table, described once (src/storage/schema/<area>.ts): columns with their kind,
 * nullability and default, the primary key and the indexes. The TypeScript types Kysely works
 * with are derived from it (Database below), and schema.test.ts migrates an empty SQLite and an
 * empty PostgreSQL database and compares what they hold with it, so the migrations and this
 * description cannot drift apart. A migration that changes a table changes its line here.
 */
export const TABLES = {
  releases: releases,
  advisories: advisories,
  advisory_cves: advisoryCves,
  advisory_references: advisoryReferences,
  fixes: fixes,
  advisory_events: advisoryEvents,
  feed_sources: feedSources,
  feed_state: feedState,
  kev_entries: kevEntries,
  epss_scores: epssScores,
  epss_history: epssHistory,
  targets: targets,
  packages: packages,
  target_packages: targetPackages,
  source_claim_sets: sourceClaimSets,
  source_claim_counts: sourceClaimCounts,
  repo_sources: repoSources,
  findings: findings,
  policies: policies,
  plans: plans,
  decisions: decisions,
  runs: runs,
  run_steps: runSteps,
  leases: leases,
  audit: audit,
  api_tokens: apiTokens,
  users: users,
  sessions: sessions,
  enrollment_tokens: enrollmentTokens,
  agents: agents,
  agent_nonces: agentNonces,
  agent_tasks: agentTasks,
  repos: repos,
  repo_snapshots: repoSnapshots,
  view_versions: viewVersions,
  view_environments: viewEnvironments,
  view_promotions: viewPromotions,
  image_builds: imageBuilds,
  deadline_profiles: deadlineProfiles,
  notify_events: notifyEvents,
  notify_deliveries: notifyDeliveries,
} as const;

/** The database as Kysely sees it: one schema for both dialects, derived from TABLES. */
export type Database = { [K in keyof typeof TABLES]: TableType<(typeof TABLES)[K]> };

export type ReleasesTable = Database['releases'];
export type AdvisoriesTable = Database['advisories'];
export type AdvisoryCvesTable = Database['advisory_cves'];
export type AdvisoryReferencesTable = Database['advisory_references'];
export type FixesTable = Database['fixes'];
export type AdvisoryEventsTable = Database['advisory_events'];
export type TargetsTable = Database['targets'];
export type PackagesTable = Database['packages'];
export type SourceClaimSetsTable = Database['source_claim_sets'];
export type SourceClaimCountsTable = Database['source_claim_counts'];
export type RepoSourcesTable = Database['repo_sources'];
export type TargetPackagesTable = Database['target_packages'];
export type FindingsTable = Database['findings'];
export type FeedSourcesTable = Database['feed_sources'];
export type FeedStateTable = Database['feed_state'];
export type PoliciesTable = Database['policies'];
export type PlansTable = Database['plans'];
export type DecisionsTable = Database['decisions'];
export type ApiTokensTable = Database['api_tokens'];
export type EnrollmentTokensTable = Database['enrollment_tokens'];
export type AgentsTable = Database['agents'];
export type AgentNoncesTable = Database['agent_nonces'];
export type AgentTasksTable = Database['agent_tasks'];
export type LeasesTable = Database['leases'];
export type UsersTable = Database['users'];
export type SessionsTable = Database['sessions'];
export type ReposTable = Database['repos'];
export type RepoSnapshotsTable = Database['repo_snapshots'];
export type ViewVersionsTable = Database['view_versions'];
export type ViewEnvironmentsTable = Database['view_environments'];
export type ImageBuildsTable = Database['image_builds'];
export type AuditTable = Database['audit'];
export type RunsTable = Database['runs'];
export type RunStepsTable = Database['run_steps'];

export type AdvisoryRow = Selectable<AdvisoriesTable>;
export type NewAdvisoryRow = Insertable<AdvisoriesTable>;
export type PackageRow = Selectable<PackagesTable>;
export type FindingRow = Selectable<FindingsTable>;
