import { bigint, integer, real, serial, table, text, timestamp } from './columns.js';

// What Bulwark decides and does: policies, plans, decisions, runs and their steps, leases, the audit trail.

export const policies = table({
  columns: {
    name: text(),
    version: integer(),
    /** The YAML as applied. */
    source: text(),
    /** JSON: the validated policy with defaults. */
    document: text(),
    applied_at: timestamp(),
  },
  primaryKey: ['name', 'version'],
  indexes: [],
});

export const plans = table({
  columns: {
    pk: serial(),
    policy: text(),
    policy_version: integer(),
    created_at: timestamp(),
    /** JSON: the plan as assemblePlan returned it. */
    plan: text(),
  },
  primaryKey: ['pk'],
  indexes: ['index (policy, pk)'],
});

export const decisions = table({
  columns: {
    pk: serial(),
    policy: text(),
    advisory_id: text(),
    kind: text<'approve' | 'hold'>(),
    reason: text(),
    until: timestamp().orNull(),
    actor: text(),
    created_at: timestamp(),
    revoked_at: timestamp().orNull(),
    revoked_by: text().orNull(),
  },
  primaryKey: ['pk'],
  indexes: ['index (policy, advisory_id)'],
});

export const runs = table({
  columns: {
    pk: serial(),
    policy: text(),
    plan_pk: bigint().orNull(),
    /** running | paused | cancelled | halted | done */
    status: text(),
    failure_threshold: real(),
    max_concurrency: integer(),
    created_at: timestamp(),
    updated_at: timestamp(),
    note: text().orNull(),
    soak_hours: real().withDefault(),
    /** When a `waiting` run's next ring may start. */
    resume_at: timestamp().orNull(),
  },
  primaryKey: ['pk'],
  indexes: [],
});

export const runSteps = table({
  columns: {
    pk: serial(),
    run_pk: bigint(),
    seq: integer(),
    ring_index: integer(),
    target_id: text(),
    target_name: text(),
    /** precheck | hook | update | restart | reboot | gate | rescan | rollback */
    kind: text(),
    /** JSON: what the step does (argv for commands). */
    spec: text(),
    /** pending | started | done | failed | skipped */
    state: text(),
    attempts: integer().withDefault(),
    started_at: timestamp().orNull(),
    finished_at: timestamp().orNull(),
    exit_code: integer().orNull(),
    output: text().orNull(),
    /** JSON: what the step learned on its host that later steps use (versions before the update, services restarted). */
    facts: text().orNull(),
  },
  primaryKey: ['pk'],
  indexes: ['index (run_pk, seq)'],
});

export const leases = table({
  columns: {
    name: text(),
    holder: text(),
    expires_at: timestamp(),
  },
  primaryKey: ['name'],
  indexes: [],
});

export const audit = table({
  columns: {
    pk: serial(),
    at: timestamp(),
    actor: text(),
    action: text(),
    subject: text(),
    /** JSON */
    detail: text(),
  },
  primaryKey: ['pk'],
  indexes: [],
});
