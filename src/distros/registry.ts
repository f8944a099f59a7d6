import type { Fix } from '../core/advisory.js';
import { parseReleaseId, type PackageFamily, type ReleaseId } from '../core/release.js';
import { mergeVocabularies, type SeverityVocabulary } from '../core/severity.js';
import { DISTROS } from './api.js';
import type { CatalogSource, ChannelHints, CsafNamedComponent, DefaultPackageManager, DistroDescriptor, LifecycleFacts, OvalDialect } from './types.js';

/**
 * What the rest of Bulwark asks about distributions (issue #19). Every answer comes from the
 * descriptors listed in api.ts; no file outside src/distros/ names a distribution (the rule
 * and its grep are in boundary.test.ts and README's Architecture).
 */

export type { CatalogSource, DefaultPackageManager, DistroDescriptor, LifecycleFacts } from './types.js';

/** A release id for examples in messages and help texts. */
export const EXAMPLE_RELEASE = 'azurelinux:3.0';
/** A built-in feed source id for examples in messages and help texts. */
export const EXAMPLE_SOURCE = 'azurelinux-3.0-oval';

const bySpelling = new Map<string, DistroDescriptor>();
for (const d of DISTROS) for (const s of [d.id, ...(d.aliases ?? [])]) bySpelling.set(s, d);
const byOsReleaseId = new Map<string, DistroDescriptor>();
for (const d of DISTROS) for (const s of d.osRelease.ids) byOsReleaseId.set(s, d);

/**
 * The package family (and so the version scheme) of a release id, or null for a distribution
 * Bulwark does not know: guessing would compare versions by the wrong rules.
 * @example releaseFamily('ubuntu:24.04') // 'deb'
 */
export function releaseFamily(id: ReleaseId): PackageFamily | null {
  const p = parseReleaseId(id);
  return p === null ? null : (bySpelling.get(p.distro)?.family ?? null);
}

/**
 * A distribution id in the one spelling identity facts use (an alias becomes its id); an
 * unknown distribution is returned as given.
 * @example canonicalDistro('cbl-mariner') // 'mariner'
 */
export function canonicalDistro(distro: string): string {
  return bySpelling.get(distro)?.id ?? distro;
}

/**
 * Bulwark's release id from os-release(5) fields: `<ID>:<VERSION_ID>`, the version cut to its
 * major where the distribution says every minor is one release (`rhel:9.4` → `rhel:9`). An ID
 * Bulwark does not know is kept as given (the caller then finds no family for it); ID_LIKE is
 * not used: a derivative's VERSION_ID is its own, not its parent's.
 * @example releaseFromOsReleaseFields({ ID: 'rhel', VERSION_ID: '9.4' }) // 'rhel:9'
 */
export function releaseFromOsReleaseFields(f: Readonly<Record<string, string>>): string | null {
  const id = f['ID']?.toLowerCase();
  const ver = f['VERSION_ID'];
  if (id === undefined || ver === undefined || !/^[a-z][a-z0-9-]*$/.test(id) || !/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(ver)) return null;
  const d = byOsReleaseId.get(id);
  // The ID names the distribution; an accepted spelling of its release ids is kept as written.
  const distro = d === undefined || bySpelling.get(id) === d ? id : d.id;
  return `${distro}:${d?.osRelease.version === 'major' ? (ver.split('.')[0] ?? ver) : ver}`;
}

/** Every release's lifecycle facts, in api.ts's order. */
export const lifecycleFacts: readonly LifecycleFacts[] = DISTROS.flatMap((d) => d.lifecycle);

/**
 * The release's own package manager, or null for a distribution Bulwark does not know.
 * @example defaultPackageManager('azurelinux:3.0') // 'tdnf'
 */
export function defaultPackageManager(release: string | null): DefaultPackageManager | null {
  const p = release === null ? null : parseReleaseId(release);
  const d = p === null ? undefined : bySpelling.get(p.distro);
  return d === undefined || p === null ? null : d.packageManager(p.version);
}

/**
 * Whether the release's own rpm keeps its database in /usr/lib/sysimage/rpm (rpm 4.16+ layouts).
 * @example rpmDbInSysimage('azurelinux:4.0') // true
 */
export function rpmDbInSysimage(release: string): boolean {
  const r = parseReleaseId(release);
  const major = Number((r?.version ?? '0').split('.')[0]);
  // Only the id itself (not an alias) carries the fact, as before the registry.
  const since = r === null ? undefined : DISTROS.find((d) => d.id === r.distro)?.image?.rpmDbSysimageSinceMajor;
  return since !== undefined && major >= since;
}

/**
 * The purl namespace (vendor) of a distribution's packages: the descriptor's, else the id.
 * @example purlVendor('rhel') // 'redhat'
 */
export function purlVendor(distro: string): string {
  return DISTROS.find((d) => d.id === distro)?.purlVendor ?? distro;
}

/** Every built-in feed source, in api.ts's order. */
export const feedCatalog: readonly CatalogSource[] = DISTROS.flatMap((d) => d.feeds);

/**
 * The severity words the publishers of a feed format write, merged (a word two publishers mean
 * differently fails here, at load, not silently in a feed).
 * @example severityWords('oval').negligible // 'low'
 */
export function severityWords(format: string): SeverityVocabulary {
  return mergeVocabularies(...DISTROS.flatMap((d) => (d.severity?.formats.includes(format) === true ? [d.severity.words] : [])));
}

/**
 * The release an updateinfo `<release>` text names ("Rocky Linux 8", "Fedora 41").
 * @example releaseFromUpdateinfoText('Rocky Linux 8') // 'rocky:8'
 */
export function releaseFromUpdateinfoText(text: string): string | null {
  for (const d of DISTROS) {
    const v = d.updateinfoRelease?.exec(text)?.[1];
    if (v !== undefined) return `${d.id}:${v}`;
  }
  return null;
}

const DIST_TAG_RELEASE = new Map(DISTROS.flatMap((d) => (d.distTags ?? []).map((t): [string, string] => [t.tag, `${d.id}:${t.version}`])));
const DIST_TAG = new RegExp(`\\.(${[...DIST_TAG_RELEASE.keys()].join('|')})(?=$|[._~^+-])`, 'g');

/**
 * The release a version's dist tag names, for distributions whose tags name one release. When a
 * version carries two, the last one is the release's: a package rebuilt from an older release
 * keeps the old tag before its own (`2023.05.07-1.cm2.azl3` is Azure Linux 3.0's).
 * @example releaseFromDistTag('0:1.20.7-1.azl3') // 'azurelinux:3.0'
 */
export function releaseFromDistTag(evr: string): string | null {
  if (DIST_TAG_RELEASE.size === 0) return null;
  const last = [...evr.matchAll(DIST_TAG)].at(-1)?.[1];
  return last === undefined ? null : (DIST_TAG_RELEASE.get(last) ?? null);
}

/** The distributions that share the RHEL family's `.elN` dist tags. */
export const elFamily: readonly string[] = DISTROS.filter((d) => d.elFamily === true).map((d) => d.id);

/** The OVAL namespace part of a definition id (`oval:<namespace>:def:1`). */
function ovalNamespace(id: string): string | undefined {
  return /^oval:([^:]+):/.exec(id)?.[1];
}

/**
 * The distribution an OVAL definition id's namespace names (the OVAL id's second part is the
 * author's reversed domain).
 * @example ovalNamespaceDistribution('oval:com.microsoft.cbl-mariner:def:33517') // 'mariner'
 */
export function ovalNamespaceDistribution(id: string): string | null {
  const ns = ovalNamespace(id);
  return ns === undefined ? null : (DISTROS.find((d) => d.oval?.namespace?.test(ns) === true)?.id ?? null);
}

/** The OVAL `<reference source>` values that name a publisher's own advisory (upper case). */
export const ovalAdvisoryReferenceSources: ReadonlySet<string> = new Set(DISTROS.flatMap((d) => d.oval?.advisoryReferenceSources ?? []));

/**
 * The distribution an OVAL `<generator><product_name>` names, when it is one Bulwark knows.
 * @example ovalGeneratorDistribution('CBL-Mariner OVAL Definition Generator') // 'mariner'
 */
export function ovalGeneratorDistribution(productName: string): string | null {
  const p = productName.trim();
  return DISTROS.find((d) => d.oval?.generator?.test(p) === true)?.id ?? null;
}

/**
 * The release an OVAL definition id names (a codename in its namespace), or null.
 * @example releaseFromOvalId('oval:com.ubuntu.noble:def:77861000000') // 'ubuntu:24.04'
 */
export function releaseFromOvalId(id: string): string | null {
  for (const d of DISTROS) {
    const v = d.oval?.versionFromId?.(id);
    if (v !== undefined && v !== null) return `${d.id}:${v}`;
  }
  return null;
}

/**
 * The release an OVAL platform comment names, or null.
 * @example releaseFromPlatformComment('Red Hat Enterprise Linux 9 is installed') // 'rhel:9'
 */
export function releaseFromPlatformComment(comment: string): string | null {
  for (const d of DISTROS) {
    const v = d.oval?.versionFromPlatformComment?.(comment);
    if (v !== undefined && v !== null) return `${d.id}:${v}`;
  }
  return null;
}

/**
 * How the publisher of an OVAL definition writes it: which package names its tests give and
 * whether its epochs can be trusted (default: binary packages, epochs as written).
 * @example ovalIdDialect('oval:com.microsoft.azurelinux:def:1').packageKind // 'source'
 */
export function ovalIdDialect(id: string): { packageKind: Fix['packageKind']; epochUnreliable: boolean } {
  const o: OvalDialect | undefined = DISTROS.find((d) => d.oval?.idPrefix !== undefined && id.startsWith(d.oval.idPrefix))?.oval;
  return { packageKind: o?.packageKind ?? 'binary', epochUnreliable: o?.epochUnreliable === true };
}

/**
 * An OSV ecosystem as a release (https://ossf.github.io/osv-schema/#affectedpackage-field,
 * "Defined ecosystems"), or a reason it is not matched.
 * @example osvEcosystemRelease('Ubuntu:22.04:LTS') // { release: 'ubuntu:22.04', packageKind: 'source' }
 */
export function osvEcosystemRelease(
  ecosystem: string,
  purl: string | null = null,
): { release: string; packageKind: Fix['packageKind']; channel?: string } | string {
  for (const d of DISTROS) {
    const c = d.osv?.channelEcosystem;
    const m = c?.ecosystem.exec(ecosystem);
    if (c !== undefined && d.osv !== undefined && m) return { release: `${d.id}:${m[1] ?? ''}`, packageKind: d.osv.packageKind, channel: c.channel(purl) };
  }
  for (const d of DISTROS) for (const r of d.osv?.refused ?? []) if (r.ecosystem.test(ecosystem)) return r.why(ecosystem);
  for (const d of DISTROS) {
    if (d.osv === undefined) continue;
    const m = d.osv.ecosystem.exec(ecosystem);
    if (m) return { release: `${d.id}:${m[1] ?? ''}`, packageKind: d.osv.packageKind };
  }
  return `ecosystem "${ecosystem}" is not a distribution Bulwark matches`;
}

/** The `ecosystem_specific` keys where OSV publishers write their own priority word. */
export const osvPriorityKeys: readonly string[] = DISTROS.flatMap((d) => (d.osv?.priorityKey === undefined ? [] : [d.osv.priorityKey]));

/**
 * The distribution whose CSAF documents a publisher host writes, or null.
 * @example csafPublisherDistribution('www.redhat.com') // 'rhel'
 */
export function csafPublisherDistribution(host: string): string | null {
  return DISTROS.find((d) => d.csaf?.publisherDomains.some((p) => host === p || host.endsWith(`.${p}`)) === true)?.id ?? null;
}

/**
 * The release of a CSAF product stream, or null when it is no known distribution's.
 * @example csafStreamRelease('AppStream-9.3.0.Z.MAIN', 'cpe:/a:redhat:enterprise_linux:9::appstream') // 'rhel:9'
 */
export function csafStreamRelease(productId: string, cpe: string | null, name: string | null = null): string | null {
  for (const d of DISTROS) {
    const v = d.csaf?.streamVersion(productId, cpe, name);
    if (v !== undefined && v !== null) return `${d.id}:${v}`;
  }
  return null;
}

/**
 * How a CSAF publisher names the components of a release by product name alone: the
 * distribution's reader for `release`, or null when it names them by purl or NEVRA.
 * @example csafNamedComponent('azurelinux:3.0')?.('azl3 openssl 3.3.2-1') // { name: 'openssl', evr: '0:3.3.2-1.azl3', … }
 */
export function csafNamedComponent(release: string): ((name: string) => CsafNamedComponent | string) | null {
  const p = parseReleaseId(release);
  const d = DISTROS.find((x) => x.id === p?.distro);
  const read = d?.csaf?.componentFromName;
  if (p === null || read === undefined) return null;
  return (name) => read(name, p.version);
}

/** The CSAF dialect facts of a release's distribution (epochs unreliable, documents of mixed products). */
export function csafDialectOf(release: string): { epochUnreliable: boolean; mixedProducts: boolean } {
  const d = DISTROS.find((x) => x.id === parseReleaseId(release)?.distro);
  return { epochUnreliable: d?.csaf?.epochUnreliable === true, mixedProducts: d?.csaf?.mixedProducts === true };
}

/**
 * The distribution that claims a CSAF product name as one of its releases (its own naming),
 * though the name names none: such a document is of a shape Bulwark does not know.
 * @example csafClaimedBy('Azure Linux 3') // 'azurelinux'
 */
export function csafClaimedBy(name: string): string | null {
  return DISTROS.find((d) => d.csaf?.claims?.(name) === true)?.id ?? null;
}

/** Whether a CSAF publisher's documents cover other products beside its distribution's. */
export function csafPublisherMixed(host: string): boolean {
  return DISTROS.some((d) => d.csaf?.mixedProducts === true && d.csaf.publisherDomains.some((p) => host === p || host.endsWith(`.${p}`)));
}

/**
 * The binary → source map shipped for a release (also under an alias spelling), or null.
 * @example shippedSourceMap('mariner:2.0')?.dist // /\.cm2$/
 */
export function shippedSourceMap(release: string): { text: string; dist: RegExp } | null {
  const p = parseReleaseId(release);
  return p === null ? null : (bySpelling.get(p.distro)?.sourceMaps?.[p.version] ?? null);
}

/** Every release id (aliases' spellings included) a source map is shipped for. */
export function shippedSourceMapReleaseIds(): string[] {
  return DISTROS.flatMap((d) => Object.keys(d.sourceMaps ?? {}).flatMap((v) => [d.id, ...(d.aliases ?? [])].map((s) => `${s}:${v}`)));
}

/**
 * How to read which subscription channels a host of `release` has enabled, or null when its
 * distribution has none.
 * @example channelHints('ubuntu:20.04')?.sourcesDir // '/etc/apt/sources.list.d'
 */
export function channelHints(release: string): ChannelHints | null {
  return DISTROS.find((d) => d.id === parseReleaseId(release)?.distro)?.channels ?? null;
}

/** The commands that say a host's enabled subscription channels (each distribution's that has them): an agent report carries their answer. */
export const channelCommands: readonly (readonly string[])[] = DISTROS.flatMap((d) => (d.channels === undefined ? [] : [d.channels.command]));
