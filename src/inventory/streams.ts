import type { TargetStreams } from '../core/target.js';
import { channelHints } from '../distros/registry.js';

/** The part of a transport (collector.ts `Transport`) this module uses: argv in, answer out. */
interface Asks {
  exec: (argv: readonly string[], o?: { privileged?: boolean }) => Promise<{ code: number | null; stdout: string }>;
}

/**
 * What a host has enabled beside its packages (issue #16 items 7, 8), read with fixed argv:
 * - module streams (RHEL family 8/9, dnf): libdnf keeps one `/etc/dnf/modules.d/<name>.module`
 *   per module it has a state for (`[nodejs]` `name=nodejs` `stream=20` `state=enabled`); the
 *   enabled ones are the host's streams. No such directory: not known (null; tdnf, deb hosts);
 * - subscription channels, for a distribution that has them (src/distros/<id>/ `channels`): its
 *   client's own answer (`pro status --format json`), else the apt sources that point at them.
 */
export const MODULES_DIR = '/etc/dnf/modules.d';

/** Reads a libdnf module state file: the `name:stream` of each enabled module in it. */
export function enabledModules(text: string): string[] {
  const out: string[] = [];
  let cur: Record<string, string> | null = null;
  const flush = (): void => {
    const state = cur?.['state']?.toLowerCase();
    if (cur?.['name'] !== undefined && cur['stream'] !== undefined && cur['stream'] !== '' && (state === 'enabled' || state === 'installed'))
      out.push(`${cur['name']}:${cur['stream']}`);
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (/^\[.+\]$/.test(line)) {
      flush();
      cur = {};
      continue;
    }
    const m = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined && cur !== null) cur[m[1].toLowerCase()] = (m[2] ?? '').trim();
  }
  flush();
  return out;
}

async function list(t: Asks, dir: string): Promise<string[] | null> {
  const r = await t.exec(['ls', '-1', dir]);
  if (r.code !== 0) return null;
  return r.stdout
    .split('\n')
    .map((x) => x.trim())
    .filter((x) => x !== '' && !x.includes('/'));
}

async function moduleStreams(t: Asks): Promise<string[] | null> {
  const names = await list(t, MODULES_DIR);
  if (names === null) return null;
  const out = new Set<string>();
  for (const n of names.filter((x) => x.endsWith('.module')).sort()) {
    const r = await t.exec(['cat', `${MODULES_DIR}/${n}`]);
    if (r.code === 0) for (const s of enabledModules(r.stdout)) out.add(s);
  }
  return [...out].sort();
}

async function channels(t: Asks, release: string | null): Promise<string[] | null> {
  const hints = release === null ? null : channelHints(release);
  if (hints === null) return null;
  const asked = await t.exec(hints.command, { privileged: true });
  const said = asked.code === 0 ? hints.fromCommand(asked.stdout) : null;
  if (said !== null) return [...new Set(said)].sort();
  // No client (or an image tree): the apt sources say what apt can install from.
  const names = (await list(t, hints.sourcesDir)) ?? [];
  const out = new Set<string>();
  for (const n of names.filter((x) => hints.fileName.test(x)).sort()) {
    const r = await t.exec(['cat', `${hints.sourcesDir}/${n}`]);
    if (r.code === 0) for (const c of hints.fromSource(r.stdout)) out.add(c);
  }
  return [...out].sort();
}

/**
 * @example await collectStreams(transport, 'rocky:9', 'rpm') // { modules: ['nodejs:20'], channels: null }
 */
export async function collectStreams(t: Asks, release: string | null, family: 'rpm' | 'deb'): Promise<TargetStreams> {
  return { modules: family === 'rpm' ? await moduleStreams(t) : null, channels: await channels(t, release) };
}
