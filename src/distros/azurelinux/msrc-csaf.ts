import type { CsafDialect, CsafNamedComponent } from '../types.js';

/**
 * How Microsoft's Security Response Center writes Azure Linux into its CSAF 2.0 VEX documents
 * (msrc.microsoft.com/csaf, one document per CVE, every Microsoft product in one product tree).
 * No real document for Azure Linux was found to copy (data notes 1.1 and 7): this follows the
 * CSAF 2.0 standard and the product naming Microsoft uses for Azure Linux in its Security
 * Update Guide — a release product named "Azure Linux 3.0", package products named
 * "<dist tag> <source package> <version-release>" ("azl3 openssl 3.3.2-1"), joined by
 * `default_component_of` relationships. Anything that names Azure Linux in another way fails the
 * document loudly rather than quietly matching nothing.
 */

/** The dist tag of a release version, as Microsoft's package products and rpm releases write it. */
const TAGS: Readonly<Record<string, string>> = { '3.0': 'azl3', '4.0': 'azl4' };

/** A release product: "Azure Linux 3.0". */
const RELEASE = /^Azure Linux (\d+\.\d+)$/;
/** A package product: "azl3 openssl 3.3.2-1" (source package name, version-release, no epoch, no dist tag). */
const PACKAGE = /^(azl\d+) ([A-Za-z0-9][A-Za-z0-9._+-]*) ([0-9A-Za-z][0-9A-Za-z._+~^]*-[0-9A-Za-z][0-9A-Za-z._+~^]*)$/;

/**
 * The release version of an MSRC release product, by its name (MSRC product ids are numbers).
 * @example msrcStreamVersion('17084', null, 'Azure Linux 3.0') // '3.0'
 */
export function msrcStreamVersion(_productId: string, _cpe: string | null, name: string | null): string | null {
  const v = name === null ? undefined : RELEASE.exec(name.trim())?.[1];
  return v !== undefined && TAGS[v] !== undefined ? v : null;
}

/**
 * The component an MSRC package product names, for a release version: the source package and
 * its fixed or affected version with the dist tag glued on as Microsoft's OVAL and rpm write it,
 * or why it cannot be read.
 * @example msrcComponent('azl3 openssl 3.3.2-1', '3.0') // { name: 'openssl', evr: '0:3.3.2-1.azl3', packageKind: 'source' }
 */
export function msrcComponent(name: string, version: string): CsafNamedComponent | string {
  const tag = TAGS[version];
  if (tag === undefined) return `Azure Linux ${version} has no known dist tag`;
  const m = PACKAGE.exec(name.trim());
  if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined)
    return `product "${name.slice(0, 120)}" is not named "<dist tag> <package> <version-release>" as Microsoft names Azure Linux packages`;
  if (m[1] !== tag) return `product "${name.slice(0, 120)}" carries dist tag ${m[1]}, but is a component of Azure Linux ${version} (${tag})`;
  return { name: m[2], evr: `0:${m[3]}.${tag}`, packageKind: 'source' };
}

export const MSRC_CSAF: CsafDialect = {
  publisherDomains: ['msrc.microsoft.com'],
  streamVersion: msrcStreamVersion,
  componentFromName: msrcComponent,
  // Release products named like Azure Linux but not as above ("Azure Linux 3", "Azure Linux 3.0 openssl").
  claims: (name) => /^\s*(azure linux|azl\d)/i.test(name),
  // Product names carry no epoch: the version is compared as Microsoft's OVAL's "0:" is.
  epochUnreliable: true,
  mixedProducts: true,
};
