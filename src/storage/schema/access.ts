import { integer, serial, table, text, timestamp } from './columns.js';

// Who may talk to Bulwark: API tokens, users and sessions, agents with their enrollment tokens, nonces and tasks.

export const apiTokens = table({
  columns: {
    id: text(),
    name: text(),
    role: text<'viewer' | 'operator' | 'admin'>(),
    secret_sha256: text(),
    created_at: timestamp(),
    created_by: text(),
    expires_at: timestamp().orNull(),
    revoked_at: timestamp().orNull(),
    revoked_by: text().orNull(),
    last_used_at: timestamp().orNull(),
  },
  primaryKey: ['id'],
  indexes: [],
});

export const users = table({
  columns: {
    name: text(),
    role: text<'viewer' | 'operator' | 'admin'>(),
    /** scrypt$N$r$p$salt$hash (base64url). */
    password_hash: text(),
    created_at: timestamp(),
    disabled_at: timestamp().orNull(),
  },
  primaryKey: ['name'],
  indexes: [],
});

export const sessions = table({
  columns: {
    id_sha256: text(),
    user_name: text(),
    created_at: timestamp(),
    expires_at: timestamp(),
    ended_at: timestamp().orNull(),
  },
  primaryKey: ['id_sha256'],
  indexes: [],
});

export const enrollmentTokens = table({
  columns: {
    id: text(),
    secret_sha256: text(),
    /** JSON array of tags the enrolled host gets. */
    tags: text().withDefault(),
    created_at: timestamp(),
    created_by: text(),
    expires_at: timestamp(),
    used_at: timestamp().orNull(),
    agent_id: text().orNull(),
  },
  primaryKey: ['id'],
  indexes: [],
});

export const agents = table({
  columns: {
    id: text(),
    target_id: text(),
    hostname: text(),
    enrolled_at: timestamp(),
    last_seen_at: timestamp().orNull(),
    revoked_at: timestamp().orNull(),
    /** The boot id of the host's last report. */
    boot_id: text().orNull(),
    /** When the host booted, as its last report says (/proc/stat btime); null from older agents. */
    booted_at: timestamp().orNull(),
  },
  primaryKey: ['id'],
  indexes: [],
});

export const agentNonces = table({
  columns: {
    agent_id: text(),
    nonce: text(),
    at: timestamp(),
  },
  primaryKey: ['agent_id', 'nonce'],
  indexes: ['index (at)'],
});

export const agentTasks = table({
  columns: {
    pk: serial(),
    agent_id: text(),
    kind: text<'exec' | 'report'>(),
    /** JSON array of words. */
    argv: text(),
    state: text<'pending' | 'sent' | 'done'>(),
    created_at: timestamp(),
    sent_at: timestamp().orNull(),
    finished_at: timestamp().orNull(),
    exit_code: integer().orNull(),
    output: text().orNull(),
  },
  primaryKey: ['pk'],
  indexes: ['index (agent_id, state)'],
});
