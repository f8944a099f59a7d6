/**
 * A distribution release such as `azurelinux:3.0` or `debian:12` (DESIGN.md "release").
 * The id is `<distro>:<version>`; the family decides the version scheme (rpm or deb).
 */
export type PackageFamily = 'rpm' | 'deb';

/** `<distro>:<version>`, e.g. `azurelinux:3.0`, `ubuntu:24.04`. */
export type ReleaseId = string;

export interface Release {
  id: ReleaseId;
  distro: string;
  version: string;
  family: PackageFamily;
  /** Display name, e.g. "Azure Linux 3.0". */
  name: string;
  /** ISO dates (YYYY-MM-DD); null when unknown or not yet announced. */
  ga: string | null;
  endOfStandardSupport: string | null;
  endOfSecuritySupport: string | null;
}

const RELEASE_ID = /^([a-z][a-z0-9-]*):([0-9A-Za-z][0-9A-Za-z._-]*)$/;

/**
 * Splits a release id into distro and version.
 * @example parseReleaseId('azurelinux:3.0') // { distro: 'azurelinux', version: '3.0' }
 */
export function parseReleaseId(id: string): { distro: string; version: string } | null {
  const m = RELEASE_ID.exec(id);
  if (!m?.[1] || !m[2]) return null;
  return { distro: m[1], version: m[2] };
}

// A release's package family comes from its distribution's descriptor: releaseFamily in
// src/distros/registry.ts (core names no distribution).
