import type { BulwarkConfig } from './schema.js';

/*
 * The configuration's names, without its schema: every command reads the configuration before it
 * runs, and most runs have no file and no setting in the environment; `loadConfigLazily` (load.ts)
 * then answers without loading zod, yaml and the policy schemas (issue #14: start-up).
 */

/** Where the configuration file is looked for when neither --config nor BULWARK_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = '/etc/bulwark/bulwark.yaml';

/**
 * Every setting of the file and its environment variable. The rest of Bulwark reads the
 * variables (BULWARK_DATABASE_URL, BULWARK_OBJECTS_DIR, …), so the file is applied by turning
 * its values into variables the environment has not set: the environment overrides the file,
 * and a command-line option overrides both.
 */
export interface Setting {
  readonly path: readonly [string, string];
  readonly env: string;
  readonly kind: 'string' | 'int' | 'bool' | 'list';
}

export const SETTINGS: readonly Setting[] = [
  { path: ['database', 'url'], env: 'BULWARK_DATABASE_URL', kind: 'string' },
  { path: ['database', 'path'], env: 'BULWARK_DATABASE_PATH', kind: 'string' },
  { path: ['database', 'sqlite_busy_timeout_ms'], env: 'BULWARK_SQLITE_BUSY_TIMEOUT_MS', kind: 'int' },
  { path: ['server', 'listen'], env: 'BULWARK_LISTEN', kind: 'string' },
  { path: ['server', 'public_url'], env: 'BULWARK_PUBLIC_URL', kind: 'string' },
  { path: ['server', 'tls_cert'], env: 'BULWARK_TLS_CERT', kind: 'string' },
  { path: ['server', 'tls_key'], env: 'BULWARK_TLS_KEY', kind: 'string' },
  { path: ['server', 'trust_proxy'], env: 'BULWARK_TRUST_PROXY', kind: 'list' },
  { path: ['server', 'scheduler'], env: 'BULWARK_SCHEDULER', kind: 'bool' },
  { path: ['server', 'interval_seconds'], env: 'BULWARK_INTERVAL_SECONDS', kind: 'int' },
  { path: ['server', 'lease_seconds'], env: 'BULWARK_LEASE_SECONDS', kind: 'int' },
  { path: ['server', 'repos_need_token'], env: 'BULWARK_REPOS_NEED_TOKEN', kind: 'bool' },
  { path: ['paths', 'objects'], env: 'BULWARK_OBJECTS_DIR', kind: 'string' },
  { path: ['paths', 'images'], env: 'BULWARK_IMAGES_DIR', kind: 'string' },
  { path: ['paths', 'ssh_keys'], env: 'BULWARK_SSH_KEY_DIR', kind: 'string' },
  { path: ['paths', 'known_hosts'], env: 'BULWARK_KNOWN_HOSTS', kind: 'string' },
  { path: ['paths', 'signing_key'], env: 'BULWARK_SIGNING_KEY_FILE', kind: 'string' },
  { path: ['feeds', 'allow'], env: 'BULWARK_FEED_ALLOW', kind: 'list' },
  { path: ['feeds', 'allow_api'], env: 'BULWARK_FEED_ALLOW_API', kind: 'bool' },
  { path: ['agents', 'server_key'], env: 'BULWARK_AGENT_KEY', kind: 'string' },
  { path: ['agents', 'memory_mb'], env: 'BULWARK_AGENT_MEMORY_MB', kind: 'int' },
];

export interface LoadedConfig {
  /** The file read, or null when there is none (no --config, no BULWARK_CONFIG, no /etc/bulwark/bulwark.yaml). */
  readonly file: string | null;
  readonly config: BulwarkConfig;
  /** The environment with the file's settings added where the environment had none. */
  readonly env: NodeJS.ProcessEnv;
  /** Which variable came from where, for `bulwark config check`. */
  readonly sources: readonly { env: string; from: 'file' | 'environment'; value: string }[];
}

/** True for a boolean setting's variable that says yes (true, 1, yes). */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  return /^(true|1|yes)$/i.test(v);
}
