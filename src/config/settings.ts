import { existsSync, readFileSync } from 'node:fs';
import { BulwarkError } from '../core/errors.js';
import { parseYamlWith } from '../policy/load.js';
import { BulwarkConfig } from './schema.js';
import { DEFAULT_CONFIG_FILE, SETTINGS, type LoadedConfig, type Setting } from './settings-list.js';

export { DEFAULT_CONFIG_FILE, envFlag, SETTINGS, type LoadedConfig, type Setting } from './settings-list.js';

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
