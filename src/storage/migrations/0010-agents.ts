import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The pull agent (issue #6): one-time enrollment tokens (only their SHA-256 stored), enrolled
 * agents (their signing keys are derived from a server key kept outside the database, never
 * stored), the nonces of recent requests (a replay is a primary-key conflict), and the tasks a
 * patch run gives an agent, with their results.
 */
export function agents(dialect: Dialect): Migration {
  const ts = dialect === 'postgres' ? 'timestamptz' : 'text';
  const serialType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('enrollment_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_sha256', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', ts, (c) => c.notNull())
        .addColumn('used_at', ts)
        .addColumn('agent_id', 'text')
        .execute();
      await db.schema
        .createTable('agents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('target_id', 'text', (c) => c.notNull().references('targets.id').onDelete('cascade'))
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('enrolled_at', ts, (c) => c.notNull())
        .addColumn('last_seen_at', ts)
        .addColumn('revoked_at', ts)
        .execute();
      await db.schema
        .createTable('agent_nonces')
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('at', ts, (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_nonces_pk', ['agent_id', 'nonce'])
        .execute();
      await db.schema.createIndex('agent_nonces_at').on('agent_nonces').columns(['at']).execute();
      await db.schema
        .createTable('agent_tasks')
        .addColumn('pk', serialType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('exec', 'report')`))
        .addColumn('argv', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'sent', 'done')`))
        .addColumn('created_at', ts, (c) => c.notNull())
        .addColumn('sent_at', ts)
        .addColumn('finished_at', ts)
        .addColumn('exit_code', 'integer')
        .addColumn('output', 'text')
        .execute();
      await db.schema.createIndex('agent_tasks_agent').on('agent_tasks').columns(['agent_id', 'state']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['agent_tasks', 'agent_nonces', 'agents', 'enrollment_tokens']) await db.schema.dropTable(t).execute();
    },
  };
}
