import { bigint, integer, serial, table, text, timestamp } from './columns.js';

// What Bulwark tells people (issue #18): deadline profiles of the compliance reports (migration
// 0047), and the notification outbox with one delivery per event and channel (migration 0048).

/** A deadline profile an operator edited or added; the built-in ones live in code until edited. */
export const deadlineProfiles = table({
  columns: {
    name: text(),
    /** JSON: { description, days: { severity: days }, kevDueDate }. */
    document: text(),
    updated_at: timestamp(),
    updated_by: text(),
  },
  primaryKey: ['name'],
  indexes: [],
});

/** Events to notify about, once each: `key` says what happened (e.g. `finding.critical:42`). */
export const notifyEvents = table({
  columns: {
    pk: serial(),
    key: text(),
    kind: text(),
    /** JSON: the event as channels render it (never a secret). */
    payload: text(),
    created_at: timestamp(),
  },
  primaryKey: ['pk'],
  indexes: ['unique (key)'],
});

/** One event to one channel: pending until sent, retried with backoff, dead after the last attempt. */
export const notifyDeliveries = table({
  columns: {
    pk: serial(),
    event_pk: bigint(),
    channel: text(),
    /** pending | sent | dead */
    state: text(),
    attempts: integer(),
    next_at: timestamp(),
    last_error: text().orNull(),
    sent_at: timestamp().orNull(),
  },
  primaryKey: ['pk'],
  indexes: ['unique (event_pk, channel)', 'index (state, next_at)'],
});
