import type { Fix } from '../core/advisory.js';

/**
 * Whether a fix applies to a host, from what the host has enabled beside its packages (issue
 * #16 items 7 and 8). Pure: the collector's facts come in as `HostStreams`.
 *
 * - A fix that names a module stream (`nodejs:18`: an updateinfo `<module>`, an OSV/CSAF
 *   modular build of a RHEL-family 8/9 AppStream module) applies only to hosts with that stream
 *   enabled: a host on `nodejs:20` is not affected by the `nodejs:18` build's fix, whose version
 *   would otherwise compare as newer (grype #820's false positives). A host whose streams were
 *   not collected (null) keeps the match: an unknown must never lose one.
 * - A fix shipped only in a subscription channel (Ubuntu Pro's esm-infra, esm-apps) applies in
 *   full to hosts with the channel enabled; on other hosts the package is as affected as it
 *   is, but the fix is out of reach: `needs-channel`, shown as "fix needs …", never as fixable.
 */
export interface HostStreams {
  /** Enabled module streams, `name:stream`; null when not collected (not an rpm host, an import). */
  modules: readonly string[] | null;
  /** Enabled subscription channels as the distribution names them; null when not collected. */
  channels: readonly string[] | null;
}

export type Applicability = { kind: 'applies' } | { kind: 'other-stream'; stream: string } | { kind: 'needs-channel'; channel: string };

/** Nothing known about the host's streams: every fix applies as it reads. */
export const UNKNOWN_STREAMS: HostStreams = { modules: null, channels: null };

/**
 * @example fixApplicability({ ...fix, module: 'nodejs:18' }, { modules: ['nodejs:20'], channels: null }) // { kind: 'other-stream', stream: 'nodejs:18' }
 * @example fixApplicability({ ...fix, channel: 'Ubuntu Pro (esm-infra)' }, { modules: null, channels: [] }) // { kind: 'needs-channel', … }
 */
export function fixApplicability(fix: Pick<Fix, 'module' | 'channel'>, host: HostStreams): Applicability {
  const stream = fix.module ?? null;
  if (stream !== null && host.modules !== null && !host.modules.includes(stream)) return { kind: 'other-stream', stream };
  const channel = fix.channel ?? null;
  // A channel the collector could not ask about is not enabled: only an enabled one installs the fix.
  if (channel !== null && !(host.channels ?? []).includes(channel)) return { kind: 'needs-channel', channel };
  return { kind: 'applies' };
}
