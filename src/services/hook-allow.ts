import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { hookAllowListSchema, type HookAllowList } from '../policy/hook-allow-schema.js';
import { parseYamlWith } from '../policy/load.js';

/**
 * The operator's hook allow-list (issue #15 items 3 and 4): the only commands and HTTP calls a
 * policy's hooks and health gates may use. A policy names an entry; the argv or URL is here, in a
 * YAML file on the server that the process executing runs (`bulwark serve`, `bulwark scheduler`,
 * `bulwark run resume`) reads from the path in `BULWARK_HOOKS_FILE`, else from the `hooks:` section
 * of its configuration file — never from a feed or the API.
 *
 * ```yaml
 * commands:
 *   app-check: { argv: ["/usr/local/bin/app-check", "--quick"], timeoutSeconds: 60 }
 *   lvm-snapshot: { argv: ["/usr/sbin/lvcreate", "-s", "-n", "pre-patch", "-L", "2G", "vg0/root"] }
 * http:
 *   lb-drain: { url: "https://lb.corp.example/api/pools/web/members/{host}/drain", method: POST, timeoutSeconds: 30 }
 *   app-health: { url: "http://{address}:8080/healthz" }
 * ```
 *
 * Commands run on the host through its transport as argv arrays, under coreutils `timeout`
 * (killed after their `timeoutSeconds`, default 300). In an argv word or a URL, `{host}` is the
 * host's name in Bulwark and `{address}` the name or address Bulwark reaches it by (in a URL,
 * percent-encoded); nothing else is substituted, and no shell ever reads the result.
 */
export const HOOKS_FILE_VARIABLE = 'BULWARK_HOOKS_FILE';

export type { HookAllowList };

/** Reads the allow-list text (YAML); errors name the file, line and field. */
export function parseHookAllowList(text: string, file = '<hooks>'): HookAllowList {
  return parseYamlWith(hookAllowListSchema, text, file);
}

/**
 * The allow-list `BULWARK_HOOKS_FILE` names, read afresh each time (an operator's edit applies to
 * the next hook); an empty list when the variable is not set.
 */
export function loadHookAllowList(env: NodeJS.ProcessEnv = process.env): HookAllowList {
  const file = env[HOOKS_FILE_VARIABLE];
  if (file === undefined || file === '') return { commands: {}, http: {} };
  if (!isAbsolute(file))
    throw new BulwarkError('config.invalid', `${HOOKS_FILE_VARIABLE} must be an absolute path, not "${file}"`, { variable: HOOKS_FILE_VARIABLE });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BulwarkError('config.invalid', `${HOOKS_FILE_VARIABLE}: cannot read ${file}: ${(err as Error).message}`, { file });
  }
  return parseHookAllowList(text, file);
}

export interface HookPlace {
  /** The host's name in Bulwark. */
  host: string;
  /** The name or address Bulwark reaches it by (the host's name when its transport has none). */
  address: string;
}

const fill = (word: string, p: HookPlace, encode: (s: string) => string): string =>
  word.replace(/\{(host|address)\}/g, (_, k: 'host' | 'address') => encode(p[k]));

/** The allow-listed command `name` for this host: its argv (placeholders filled) and timeout. */
export function allowedCommand(list: HookAllowList, name: string, p: HookPlace): { argv: string[]; timeoutSeconds: number } {
  const c = list.commands[name];
  if (c === undefined)
    throw new BulwarkError('config.invalid', `no command "${name}" in the hook allow-list (${HOOKS_FILE_VARIABLE}); the policy names it`, { name });
  return { argv: c.argv.map((w) => fill(w, p, (s) => s)), timeoutSeconds: c.timeoutSeconds };
}

/** The allow-listed HTTP call `name` for this host. */
export function allowedHttp(list: HookAllowList, name: string, p: HookPlace): HookAllowList['http'][string] {
  const h = list.http[name];
  if (h === undefined)
    throw new BulwarkError('config.invalid', `no HTTP call "${name}" in the hook allow-list (${HOOKS_FILE_VARIABLE}); the policy names it`, { name });
  return { ...h, url: fill(h.url, p, encodeURIComponent) };
}

/**
 * The allow-list of a process executing runs: the file `hooksFile` names (its BULWARK_HOOKS_FILE,
 * read afresh each time) when set, else its configuration file's `hooks:` section, else the file
 * this process's own environment names (none: an empty list).
 */
export function hookAllowListOf(o: { hooksFile?: string | undefined; hooks?: HookAllowList | undefined }, env: NodeJS.ProcessEnv = process.env): HookAllowList {
  if (o.hooksFile !== undefined && o.hooksFile !== '') return loadHookAllowList({ [HOOKS_FILE_VARIABLE]: o.hooksFile });
  return o.hooks ?? loadHookAllowList(env);
}
