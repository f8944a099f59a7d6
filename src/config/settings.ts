import { existsSync, readFileSync } from 'node:fs';
import { BulwarkError } from '../core/errors.js';
import { parseYamlWith } from '../policy/load.js';
import { BulwarkConfig } from './schema.js';

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

function leaf(config: BulwarkConfig, path: readonly [string, string]): unknown {
  const section = (config as Record<string, Record<string, unknown> | undefined>)[path[0]];
  return section?.[path[1]];
}

function asEnv(value: unknown, kind: Setting['kind']): string {
  if (kind === 'list') return (value as string[]).join(',');
  return String(value);
}

/**
 * An environment variable's value checked as its setting would be in the file, so a bad
 * BULWARK_LISTEN is said as such at start (exit 3), with the variable's name.
 */
function checkEnv(s: Setting, raw: string): void {
  let value: unknown = raw;
  if (s.kind === 'int') value = /^\d+$/.test(raw) ? Number(raw) : raw;
  if (s.kind === 'bool') {
    if (!/^(true|false|1|0|yes|no)$/i.test(raw))
      throw new BulwarkError('config.invalid', `${s.env}: expected true or false, not "${raw}"`, { variable: s.env });
    return;
  }
  if (s.kind === 'list') value = raw.split(/[\s,]+/).filter((x) => x !== '');
  const r = BulwarkConfig.safeParse({ [s.path[0]]: { [s.path[1]]: value } });
  if (!r.success) {
    const message = r.error.issues[0]?.message ?? 'invalid';
    // The database URL may hold a password: not echoed.
    const shown = s.env === 'BULWARK_DATABASE_URL' || s.env === 'BULWARK_AGENT_KEY' ? '' : ` (got "${raw}")`;
    throw new BulwarkError('config.invalid', `${s.env}: ${message}${shown}`, { variable: s.env });
  }
}

/** True for a boolean setting's variable that says yes (true, 1, yes). */
export function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  return /^(true|1|yes)$/i.test(v);
}

/**
 * Reads the configuration: `file` (from --config) or BULWARK_CONFIG, else /etc/bulwark/bulwark.yaml
 * when it exists. A named file that is missing, or any bad value, is `config.invalid` (exit 3)
 * naming the file, line and column, or the variable.
 * @example const { env } = loadConfig({ file: '/etc/bulwark/bulwark.yaml', env: process.env });
 */
export function loadConfig(o: { file?: string | undefined; env: NodeJS.ProcessEnv; defaultFile?: string }): LoadedConfig {
  const named = o.file ?? (o.env['BULWARK_CONFIG'] !== undefined && o.env['BULWARK_CONFIG'] !== '' ? o.env['BULWARK_CONFIG'] : undefined);
  const fallback = o.defaultFile ?? DEFAULT_CONFIG_FILE;
  const file = named ?? (existsSync(fallback) ? fallback : null);
  let config: BulwarkConfig = {};
  if (file !== null) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new BulwarkError('config.invalid', `cannot read the configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        file,
      });
    }
    config = text.trim() === '' ? {} : parseYamlWith(BulwarkConfig, text, file);
    if (config.database?.url !== undefined && config.database.path !== undefined)
      throw new BulwarkError('config.invalid', `${file}: database: give url or path, not both`, { file });
    if ((config.server?.tls_cert === undefined) !== (config.server?.tls_key === undefined))
      throw new BulwarkError('config.invalid', `${file}: server: tls_cert and tls_key go together`, { file });
  }
  const env: NodeJS.ProcessEnv = { ...o.env };
  const sources: { env: string; from: 'file' | 'environment'; value: string }[] = [];
  for (const s of SETTINGS) {
    const fromEnv = o.env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      checkEnv(s, fromEnv);
      sources.push({ env: s.env, from: 'environment', value: fromEnv });
      continue;
    }
    const v = leaf(config, s.path);
    if (v === undefined) continue;
    env[s.env] = asEnv(v, s.kind);
    sources.push({ env: s.env, from: 'file', value: env[s.env] ?? '' });
  }
  // database.path is the SQLite file: a URL of its own unless the environment named another database.
  const dbPath = env['BULWARK_DATABASE_PATH'];
  if (dbPath !== undefined && dbPath !== '' && (env['BULWARK_DATABASE_URL'] === undefined || env['BULWARK_DATABASE_URL'] === ''))
    env['BULWARK_DATABASE_URL'] = `sqlite:${dbPath}`;
  return { file, config, env, sources };
}
