import { z } from 'zod';
import { notifyRulesSchema } from '../notify/schema.js';
import { hookAllowListSchema } from '../policy/hook-allow-schema.js';

/**
 * The configuration file (`/etc/bulwark/bulwark.yaml`, or `--config FILE`, or BULWARK_CONFIG):
 * strict (an unknown key is an error naming the key meant), every key optional. Each setting is
 * also an environment variable (SETTINGS in settings.ts), which wins over the file.
 *
 * A section of its own is one key here with its zod schema, e.g.
 *   notify: notifyRulesSchema.optional(),
 * and its reader takes `config.notify`, already checked, with file:line:col errors for free.
 */
const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 0.0.0.0:8080');
const absolutePath = z.string().regex(/^\//, 'expected an absolute path');

/**
 * One message for every way a busy timeout can be wrong (not a whole number, out of range); the
 * storage layer says the same of BULWARK_SQLITE_BUSY_TIMEOUT_MS when it is opened without a
 * configuration file (storage/database.ts resolveLocation).
 */
const BUSY_MS = 'must be a number of milliseconds (0 to 9999999)';

const DatabaseConfig = z.strictObject({
  /** postgres://user:password@host:port/database[?schema=NAME], or sqlite:PATH */
  url: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'expected postgres://… or sqlite:PATH')
    .optional(),
  /** the SQLite file (shorthand for url: sqlite:PATH) */
  path: absolutePath.optional(),
  sqlite_busy_timeout_ms: z.int({ error: BUSY_MS }).min(0, BUSY_MS).max(9_999_999, BUSY_MS).optional(),
});
export type DatabaseConfig = z.infer<typeof DatabaseConfig>;

export const ServerConfig = z.strictObject({
  listen: hostPort.optional(),
  public_url: z.url({ protocol: /^https?$/ }).optional(),
  tls_cert: absolutePath.optional(),
  tls_key: absolutePath.optional(),
  trust_proxy: z.array(z.string().min(1)).optional(),
  scheduler: z.boolean().optional(),
  interval_seconds: z.int().min(1).optional(),
  lease_seconds: z.int().min(1).max(3600).optional(),
  repos_need_token: z.boolean().optional(),
});
export type ServerConfig = z.infer<typeof ServerConfig>;

export const PathsConfig = z.strictObject({
  /** content-addressed objects (repository snapshots, published views) */
  objects: absolutePath.optional(),
  images: absolutePath.optional(),
  ssh_keys: absolutePath.optional(),
  known_hosts: absolutePath.optional(),
  signing_key: absolutePath.optional(),
});
export type PathsConfig = z.infer<typeof PathsConfig>;

export const FeedsConfig = z.strictObject({
  /** hosts, *.domains and CIDRs feeds may be fetched from besides public addresses */
  allow: z.array(z.string().min(1)).optional(),
  /** feed sources added through the API may use `allow` too */
  allow_api: z.boolean().optional(),
});

const AGENT_MEMORY = 'expected a whole number of megabytes, 0 to 65536';

export const AgentsConfig = z.strictObject({
  /** the server key every server of one installation shares: 64 hex digits (openssl rand -hex 32) */
  server_key: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits (openssl rand -hex 32)')
    .optional(),
  /** MB of memory `serve` keeps agents' last reports in, so the next is stored as its difference (default 128; 0: none) */
  memory_mb: z.int({ error: AGENT_MEMORY }).min(0, AGENT_MEMORY).max(65_536, AGENT_MEMORY).optional(),
});

export const BulwarkConfig = z.strictObject({
  database: DatabaseConfig.optional(),
  server: ServerConfig.optional(),
  paths: PathsConfig.optional(),
  feeds: FeedsConfig.optional(),
  agents: AgentsConfig.optional(),
  // Notification rules (README "Notifications"): checked here with the file's line numbers, and
  // read by `serve` from this same file.
  notify: notifyRulesSchema.optional(),
  // The hook allow-list (README "Safe patching"): checked here by its own schema, and read by the
  // processes that execute runs when BULWARK_HOOKS_FILE does not name a file of its own.
  hooks: hookAllowListSchema.optional(),
});
export type BulwarkConfig = z.infer<typeof BulwarkConfig>;
