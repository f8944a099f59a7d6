import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, SETTINGS, type LoadedConfig } from './settings-list.js';

/**
 * `loadConfig` (settings.ts), imported only when there is something to read or check: a
 * configuration file (named, or the default one existing) or a setting's variable in the
 * environment. Otherwise the answer loadConfig would give: no file, no settings, the environment.
 * @example const { env } = await loadConfigLazily({ file: undefined, env: process.env });
 */
export async function loadConfigLazily(o: { file?: string | undefined; env: NodeJS.ProcessEnv; defaultFile?: string }): Promise<LoadedConfig> {
  const set = (v: string | undefined): boolean => v !== undefined && v !== '';
  const trivial =
    o.file === undefined && !set(o.env['BULWARK_CONFIG']) && !existsSync(o.defaultFile ?? DEFAULT_CONFIG_FILE) && !SETTINGS.some((s) => set(o.env[s.env]));
  if (trivial) return { file: null, config: {}, env: { ...o.env }, sources: [] };
  return (await import('./settings.js')).loadConfig(o);
}
