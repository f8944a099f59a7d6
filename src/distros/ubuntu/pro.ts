import type { ChannelHints } from '../types.js';

/**
 * Ubuntu Pro's Expanded Security Maintenance (issue #16 item 7): fixes for esm-infra (main) and
 * esm-apps (universe) ship from esm.ubuntu.com to attached machines only. Canonical's OSV marks
 * them with a `:Pro:` ecosystem ("Ubuntu:Pro:20.04:LTS") and a purl `distro=esm-infra/focal`
 * (docs: canonical/ubuntu-security-notices `osv/README`); a host has them enabled when
 * `pro status --format json` says so, or (without the client) when apt has esm.ubuntu.com sources.
 */

/** How Bulwark names a Pro channel, on fixes and on hosts alike. */
export function proChannel(service: string): string {
  return `Ubuntu Pro (${service})`;
}

/** The channel of a Pro ecosystem's fix, from its purl's `distro=esm-apps/jammy` (esm-infra-legacy for 14.04), else Pro itself. */
export function proChannelOfPurl(purl: string | null): string {
  const q = purl === null ? null : /[?&]distro=([^&#]+)/.exec(purl)?.[1];
  const service = q === undefined || q === null ? null : /^(esm-[a-z-]+)\//.exec(decodeURIComponent(q))?.[1];
  return proChannel(service ?? 'esm');
}

/** `pro status --format json`: the enabled ESM services (null when the output is not the client's). */
export function proStatusChannels(stdout: string): string[] | null {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch {
    return null;
  }
  const services = (raw as { services?: unknown } | null)?.services;
  if (!Array.isArray(services)) return null;
  return withAnyEsm(
    services.flatMap((s) => {
      const o = s as { name?: unknown; status?: unknown };
      return typeof o.name === 'string' && o.status === 'enabled' && o.name.startsWith('esm-') ? [proChannel(o.name)] : [];
    }),
  );
}

/** A fix whose record names no ESM service (no purl) needs "Pro's ESM": any enabled service is that. */
function withAnyEsm(channels: string[]): string[] {
  return channels.length === 0 ? [] : [...channels, proChannel('esm')];
}

/** An apt source (one-line or deb822) pointing at esm.ubuntu.com: which ESM services it enables. */
export function esmSources(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l.startsWith('#')) continue;
    const m = /https?:\/\/esm\.ubuntu\.com\/(infra|apps|infra-legacy)\//.exec(l);
    if (m?.[1] !== undefined && !/^Enabled:\s*no/i.test(l)) out.add(proChannel(`esm-${m[1]}`));
  }
  // A deb822 stanza switched off as a whole.
  if (/^Enabled:\s*no\s*$/im.test(text)) return [];
  return withAnyEsm([...out]);
}

export const PRO_CHANNELS: ChannelHints = {
  command: ['pro', 'status', '--format', 'json'],
  fromCommand: proStatusChannels,
  sourcesDir: '/etc/apt/sources.list.d',
  fileName: /^ubuntu-esm-[a-z-]+\.(list|sources)$/,
  fromSource: esmSources,
};
