/**
 * Telling which release an OVAL definition is about when the feed source does not say:
 * Microsoft's files name no release but glue the dist tag onto every version (data notes
 * 1.4-3); Canonical's ids carry the codename; Red Hat's criteria say "Red Hat Enterprise Linux 9
 * is installed".
 */
const DIST_TAGS: readonly [RegExp, string][] = [
  [/\.azl3(?:$|[._~^+-])/, 'azurelinux:3.0'],
  [/\.azl4(?:$|[._~^+-])/, 'azurelinux:4.0'],
  [/\.cm2(?:$|[._~^+-])/, 'mariner:2.0'],
  [/\.cm1(?:$|[._~^+-])/, 'mariner:1.0'],
];

/** @example releaseFromDistTag('0:1.20.7-1.azl3') // 'azurelinux:3.0' */
export function releaseFromDistTag(evr: string): string | null {
  for (const [re, rel] of DIST_TAGS) if (re.test(evr)) return rel;
  return null;
}

/** Ubuntu codenames (https://wiki.ubuntu.com/Releases). */
const UBUNTU: Readonly<Record<string, string>> = {
  trusty: '14.04',
  xenial: '16.04',
  bionic: '18.04',
  focal: '20.04',
  jammy: '22.04',
  mantic: '23.10',
  noble: '24.04',
  oracular: '24.10',
  plucky: '25.04',
  questing: '25.10',
};

/** @example releaseFromOvalId('oval:com.ubuntu.noble:def:77861000000') // 'ubuntu:24.04' */
export function releaseFromOvalId(id: string): string | null {
  const m = /^oval:com\.ubuntu\.([a-z]+):/.exec(id);
  const v = m?.[1] === undefined ? undefined : UBUNTU[m[1]];
  return v === undefined ? null : `ubuntu:${v}`;
}

/** @example releaseFromPlatformComment('Red Hat Enterprise Linux 9 is installed') // 'rhel:9' */
export function releaseFromPlatformComment(comment: string): string | null {
  const m = /^Red Hat Enterprise Linux (\d+) is installed$/.exec(comment.trim());
  return m?.[1] === undefined ? null : `rhel:${m[1]}`;
}
