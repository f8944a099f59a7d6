import type { Fix } from '../core/advisory.js';
import type { PackageFamily } from '../core/release.js';
import type { SeverityVocabulary } from '../core/severity.js';

/**
 * What one distribution means to Bulwark (issue #19, DESIGN.md "Where the house grows next"):
 * one `src/distros/<id>/index.ts` exports a `DistroDescriptor`, and `src/distros/list.ts` lists
 * it. Nothing outside `src/distros/` names a distribution; it asks `src/distros/registry.ts`.
 * Descriptors are pure data and pure functions (no I/O): core-free layers such as policy may
 * read them.
 */

/** The package managers a release can default to (executor/types.ts `PackageManager`, one module each in executor/). */
export type DefaultPackageManager = 'dnf' | 'dnf5' | 'tdnf' | 'apt';

/**
 * Release lifecycle facts (issue #4): general availability, end of standard support (full
 * updates), end of security support (the vendor's end of life), end of extended support (paid
 * or LTS programmes: RHEL ELS, Ubuntu ESM/Pro, Debian LTS, AKS extension). Dates are ISO
 * (YYYY-MM-DD), the last day covered; null when there is none or it is not announced.
 */
export interface LifecycleFacts {
  /** Release id as Bulwark uses it (`<os-release ID>:<version>`). */
  release: string;
  name: string;
  ga: string | null;
  endOfStandardSupport: string | null;
  endOfSecuritySupport: string | null;
  endOfExtendedSupport: string | null;
  /** A release announced but not generally available. */
  preview?: boolean;
  sources: string[];
  note?: string;
}

/** One release's dates as a descriptor writes them: id, name, GA, end of standard, security and extended support. */
export type LifecycleRow = readonly [
  release: string,
  name: string,
  ga: string | null,
  standard: string | null,
  security: string | null,
  extended: string | null,
];

/** A descriptor's lifecycle table: its rows, each with the same sources. */
export function lifecycleTable(sources: readonly string[], rows: readonly LifecycleRow[]): LifecycleFacts[] {
  return rows.map(([release, name, ga, std, sec, ext]) => ({
    release,
    name,
    ga,
    endOfStandardSupport: std,
    endOfSecuritySupport: sec,
    endOfExtendedSupport: ext,
    sources: [...sources],
  }));
}

/**
 * A built-in feed source (src/feeds/catalog.ts lists every descriptor's). Locations checked
 * against the publishers' documentation; OSV ecosystem dumps follow
 * https://google.github.io/osv.dev/data/#data-dumps.
 */
export interface CatalogSource {
  id: string;
  /** A registered feed format id (src/feeds/api.ts). */
  format: string;
  /** http(s) URL or local path. */
  location: string;
  /** The release the feed is about when its documents do not say (OVAL without dist tags, updateinfo). */
  release: string | null;
  /**
   * For a source of several releases (release null): the distribution its documents must name
   * (as in release ids); a document of another one is refused (src/feeds/identity.ts).
   */
  distribution?: string;
  description: string;
  /** Licence of the published data, for the operator's records. */
  license: string;
  /**
   * How to find the real location: `redhat-archive-latest` reads a one-line text file naming
   * the newest complete archive next to it (Red Hat's CSAF `archive_latest.txt`); `csaf-provider`
   * reads a CSAF provider's `provider-metadata.json` and its directory's `changes.csv`, and
   * fetches the documents changed since the last sync (services/csaf-provider.ts).
   */
  resolve?: 'redhat-archive-latest' | 'csaf-provider';
}

/** How a publisher writes its OVAL definitions (feeds/oval/dialects.ts asks for these). */
export interface OvalDialect {
  /** The definition id's namespace (the part after `oval:`) says the document is this distribution's. */
  namespace?: RegExp;
  /** `<reference source="…">` values that are this publisher's advisories (`RHSA`), not other links. */
  advisoryReferenceSources?: readonly string[];
  /** The `<generator><product_name>` of this distribution's files. */
  generator?: RegExp;
  /**
   * Definition ids this publisher writes (a prefix such as `oval:com.example.`), when its
   * dialect differs from the default: package names are source packages, epochs unreliable.
   */
  idPrefix?: string;
  /** Package tests name source packages (default binary). */
  packageKind?: Fix['packageKind'];
  /** The fixed versions' epochs are written as 0 whatever the package's (a publisher's quirk). */
  epochUnreliable?: boolean;
  /** The release version a definition id names (a codename in the namespace), or null. */
  versionFromId?: (id: string) => string | null;
  /** The release version a criterion or extend_definition comment names ("… 9 is installed"), or null. */
  versionFromPlatformComment?: (comment: string) => string | null;
}

/** A publisher's OSV ecosystem names (https://ossf.github.io/osv-schema/#affectedpackage-field). */
export interface OsvDialect {
  /** The ecosystem, with the release version as group 1. */
  ecosystem: RegExp;
  packageKind: Fix['packageKind'];
  /** The `ecosystem_specific` key where the publisher writes its own priority word. */
  priorityKey?: string;
  /**
   * Ecosystems of fixes shipped only in a subscription channel (`Ubuntu:Pro:20.04:LTS`): the
   * release version as group 1, and the channel (as ChannelHints names it) from the purl, if any.
   */
  channelEcosystem?: { ecosystem: RegExp; channel: (purl: string | null) => string };
  /** Ecosystems of this publisher that are read but not matched, and why. */
  refused?: readonly { ecosystem: RegExp; why: (ecosystem: string) => string }[];
}

/** A component a CSAF publisher names by product name alone (no purl, no NEVRA). */
export interface CsafNamedComponent {
  name: string;
  /** Explicit-epoch EVR as the distribution's rpm writes it. */
  evr: string;
  packageKind: Fix['packageKind'];
}

/** A publisher of CSAF documents. */
export interface CsafDialect {
  /** document.publisher.namespace hosts (and their subdomains). */
  publisherDomains: readonly string[];
  /** The release version of a product stream (by id, CPE or name), or null when the stream is not one of this distribution's. */
  streamVersion: (productId: string, cpe: string | null, name: string | null) => string | null;
  /**
   * Components named only by their product name (Microsoft: "azl3 openssl 3.3.2-1"): the
   * component for a release version, or why the name cannot be read (the document then fails).
   */
  componentFromName?: (name: string, version: string) => CsafNamedComponent | string;
  /** Product names this publisher uses for its releases: one that names no release fails the document, loudly. */
  claims?: (name: string) => boolean;
  /** The fixed versions' epochs are not given (compared as Microsoft's OVAL's "0:"). */
  epochUnreliable?: boolean;
  /** Its documents cover many other products (MSRC: Windows, Office…): a vulnerability naming none of the distribution's releases is left out without a warning. */
  mixedProducts?: boolean;
}

/**
 * Subscription channels whose packages only entitled hosts can install (Ubuntu Pro's esm-infra,
 * esm-apps): how advisories name them and how the collector reads which a host has enabled.
 */
export interface ChannelHints {
  /** A command that says which channels are enabled, its output read by `fromCommand` (null: it said nothing usable). */
  command: readonly string[];
  fromCommand: (stdout: string) => string[] | null;
  /** Else: apt source files in this directory (`fileName` picks them), each read by `fromSource`. */
  sourcesDir: string;
  fileName: RegExp;
  fromSource: (text: string) => string[];
}

export interface DistroDescriptor {
  /** The distribution part of release ids (`<id>:<version>`), and the folder's name. */
  id: string;
  displayName: string;
  /** Where its facts come from. */
  urls: readonly string[];
  /** Other spellings accepted in release ids for the same releases (e.g. an older os-release ID). */
  aliases?: readonly string[];
  family: PackageFamily;
  /**
   * os-release(5): the `ID` values that are this distribution (the id itself and its aliases),
   * and how `VERSION_ID` becomes the release version: `as-is`, or `major` when every minor of a
   * major is one release for matching.
   */
  osRelease: { ids: readonly string[]; version: 'as-is' | 'major' };
  /** Its releases' lifecycle (lifecycle/catalog.ts lists every descriptor's). */
  lifecycle: readonly LifecycleFacts[];
  /** The release's own package manager, from the release version. */
  packageManager: (version: string) => DefaultPackageManager;
  /** Image bootstrap facts: the first major whose rpm keeps its database in /usr/lib/sysimage/rpm. */
  image?: { rpmDbSysimageSinceMajor?: number };
  /** The purl namespace of its packages (purl-spec PURL-TYPES: the vendor); default the id. */
  purlVendor?: string;
  /** Dist tags glued onto its package releases (`.azl3`) and the release version each means. */
  distTags?: readonly { tag: string; version: string }[];
  /** Shares the RHEL family's `.elN` dist tags (one of RHEL's rebuilds or itself). */
  elFamily?: boolean;
  /** Built-in feed sources. */
  feeds: readonly CatalogSource[];
  /** The publisher's severity words, and the feed formats it writes them in. */
  severity?: { formats: readonly string[]; words: SeverityVocabulary };
  /** An updateinfo `<release>` text, with the release version as group 1 ("Rocky Linux 8"). */
  updateinfoRelease?: RegExp;
  oval?: OvalDialect;
  osv?: OsvDialect;
  channels?: ChannelHints;
  csaf?: CsafDialect;
  /** A shipped binary → source package map per release version (inventory/source-names.ts). */
  sourceMaps?: Readonly<Record<string, { text: string; dist: RegExp }>>;
}
