import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Notifications (issue #18 item 4): an outbox of events, one row per thing that happened (its
 * `key` unique, so two servers noticing the same thing store it once), and one delivery per
 * event and channel, retried with backoff and dead-lettered after its last attempt.
 */
export function notifyOutbox(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('notify_events')
        .addColumn('pk', serialType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', ts, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('notify_events_key').on('notify_events').column('key').unique().execute();
      await db.schema
        .createTable('notify_deliveries')
        .addColumn('pk', serialType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('event_pk', 'bigint', (c) => c.notNull().references('notify_events.pk').onDelete('cascade'))
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_at', ts, (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('sent_at', ts)
        .execute();
      await db.schema.createIndex('notify_deliveries_event_channel').on('notify_deliveries').columns(['event_pk', 'channel']).unique().execute();
      await db.schema.createIndex('notify_deliveries_state_next').on('notify_deliveries').columns(['state', 'next_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('notify_deliveries').execute();
      await db.schema.dropTable('notify_events').execute();
    },
  };
}
