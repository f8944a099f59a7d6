import type { Advisory, Severity } from '../core/advisory.js';
import { BulwarkError } from '../core/errors.js';
import type { OvalCriteria } from '../core/oval.js';
import { EXAMPLE_RELEASE, releaseFamily } from '../distros/registry.js';
import { knownArch, type InstalledPackage, type SourceOrigin } from '../core/target.js';
import type { FeedWarning } from '../feeds/types.js';
import { parseInventoryToScan, releaseFromPackages, type InventoryFormat } from '../inventory/imports.js';
import { resolveSourceNames, type SourceCounts } from '../inventory/source-names.js';
import { packagesToJudge } from '../matching/kernels.js';
import { matchPackages } from '../matching/match.js';
import { evaluateCriteria, indexByName, selectedPackages, type StrictInventory } from '../matching/oval-strict.js';
import { readFeedFile, type FeedRead } from './feed-cache.js';
import { MAX_INVENTORY_BYTES, readBoundedText } from './read-file.js';

/**
 * `bulwark scan --inventory FILE --feed FILE`: an inventory against feeds, with no database,
 * for CI pipelines and for checking Bulwark against other tools (issue #4).
 */
export interface FileScanInput {
  inventory: string;
  feeds: readonly string[];
  /** The inventory's release; inferred from dist tags or the feed when absent. */
  release?: string | undefined;
  /** Evaluate OVAL definitions literally, as `oscap oval eval` does. */
  ovalStrict?: boolean;
  /**
   * The running kernel (`uname -r`): strict mode's uname tests; in normal mode only its build of
   * an installonly kernel is judged, as in stored scans.
   */
  runningKernel?: string | null;
  /**
   * Resolve the source names the inventory does not carry (default true). Off only to measure
   * what resolving costs (bench/); off, a manifest's source fixes match nothing.
   */
  resolveSources?: boolean;
  /** The parsed-feed cache's directory (services/feed-cache.ts); null or absent: parse every time. */
  feedCache?: string | null;
  /** Told how each feed was read (tests and benches). */
  onFeedRead?: (file: string, read: FeedRead) => void;
}

export interface FileScanFinding {
  /** The feed's own id (for OVAL the definition id). */
  advisory: string;
  source: string;
  cves: string[];
  package: string;
  /** The installed package's arch; null when the inventory did not give one. */
  arch: string | null;
  installed: string;
  fixed: string | null;
  severity: Severity;
  /** open: a fix exists; no-fix: affected without one. */
  status: 'open' | 'no-fix';
  /** Why the verdict differs from a literal reading of the feed, or null. */
  reason: string | null;
  /** The installed package's source name and where it came from (normal mode), else null. */
  packageSource: { name: string; origin: SourceOrigin } | null;
}

export interface FileScanResult {
  /**
   * `sources`: how many packages had their source name given by the inventory, resolved (from
   * a repository or the shipped map), learned, or assumed to be the binary's name (issue #13).
   * A file scan uses no database: its resolution is the shipped map.
   * `warnings`: what the import left out and why (e.g. an SBOM component without a package URL).
   */
  inventory: { file: string; format: InventoryFormat; packages: number; sources: SourceCounts; warnings: string[] };
  release: string;
  mode: 'normal' | 'oval-strict';
  advisories: number;
  findings: FileScanFinding[];
  warnings: FeedWarning[];
}

async function readFeeds(input: FileScanInput, warn: (w: FeedWarning) => void): Promise<Advisory[]> {
  const out: Advisory[] = [];
  for (const file of input.feeds) {
    const r = await readFeedFile(file, input.release, warn, input.feedCache ?? null, input.ovalStrict === true);
    input.onFeedRead?.(file, r.read);
    for (const a of r.advisories) out.push(a);
  }
  return out;
}

function strictFindings(
  advisories: readonly Advisory[],
  packages: readonly InstalledPackage[],
  runningKernel: string | null,
  family: 'rpm' | 'deb',
): FileScanFinding[] {
  const inv: StrictInventory = {
    family,
    runningKernel,
    // An rpm epoch stays null when the inventory says "(none)" (%{EPOCH}): the rpminfo item's epoch
    // is then "(none)", its evr still 0:… (%{EPOCHNUM} inventories say 0 and cannot tell).
    packages: packages.map((p) => ({ name: p.name, epoch: family === 'rpm' ? p.epoch : null, version: p.version, release: p.release, arch: p.arch })),
  };
  const index = indexByName(inv);
  const out: FileScanFinding[] = [];
  for (const a of advisories) {
    if (a.oval === undefined || evaluateCriteria(a.oval, inv, index) !== 'true') continue;
    // Report the package tests' names that are installed, and the first upper bound.
    const names: string[] = [];
    const bound: { fixed: string | null; inclusive: boolean } = { fixed: null, inclusive: false };
    const walk = (n: OvalCriteria): void => {
      if (n.kind === 'criteria') n.children.forEach(walk);
      else if (n.kind === 'extend') {
        if (n.criteria !== undefined) walk(n.criteria);
      } else {
        // The packages the test's object selects (an exact name, or every name a pattern matches).
        for (const p of selectedPackages(n.test, inv, index)) if (!names.includes(p.name)) names.push(p.name);
        for (const s of n.test.states)
          for (const f of s)
            if (f.field === 'evr' && bound.fixed === null && (f.operation === 'less than' || f.operation === 'less than or equal')) {
              bound.fixed = f.value;
              bound.inclusive = f.operation === 'less than or equal';
            }
      }
    };
    walk(a.oval);
    for (const name of names.length > 0 ? names : ['-']) {
      const items = index.get(name) ?? [];
      out.push({
        advisory: a.id,
        source: a.source,
        cves: a.cves,
        package: name,
        arch: knownArch(items[0]?.arch ?? null),
        installed: items
          .map((p) => (family === 'rpm' ? `${String(p.epoch ?? 0)}:${p.version}${p.release === null ? '' : `-${p.release}`}` : p.version))
          .join(' '),
        fixed: bound.inclusive ? null : bound.fixed,
        severity: a.severity,
        status: bound.inclusive || bound.fixed === null ? 'no-fix' : 'open',
        reason: null,
        packageSource: null,
      });
    }
  }
  return out;
}

function countGiven(packages: readonly InstalledPackage[]): SourceCounts {
  const given = packages.filter((p) => p.sourceName !== null).length;
  return { given, repository: 0, learned: 0, shipped: 0, assumed: 0 };
}

/**
 * @example await scanFiles({ inventory: 'host.tsv', feeds: ['azurelinux-3.0-oval.xml.xz'] })
 */
export async function scanFiles(input: FileScanInput): Promise<FileScanResult> {
  const inv = parseInventoryToScan(await readBoundedText(input.inventory, MAX_INVENTORY_BYTES), input.inventory);
  const warnings: FeedWarning[] = [];
  const advisories = await readFeeds(input, (w) => warnings.push(w));
  let release = input.release ?? releaseFromPackages(inv.packages);
  if (release === null) {
    const releases = new Set(advisories.flatMap((a) => a.fixes.map((f) => f.release)));
    if (releases.size === 1) release = [...releases][0] ?? null;
  }
  if (release === null) throw new BulwarkError('usage', `${input.inventory}: cannot tell the release (give --release, e.g. ${EXAMPLE_RELEASE})`);
  const family = releaseFamily(release);
  if (family === null) throw new BulwarkError('usage', `"${release}" is not a release Bulwark knows`);
  if (family !== inv.family)
    throw new BulwarkError('usage', `${input.inventory} lists ${inv.family} packages but ${release} is ${family === 'rpm' ? 'an rpm' : 'a deb'} release`);
  const resolved = input.resolveSources === false ? { packages: inv.packages, counts: null } : resolveSourceNames(inv.packages, release);
  const findings: FileScanFinding[] =
    input.ovalStrict === true
      ? strictFindings(advisories, inv.packages, input.runningKernel ?? null, family)
      : // Only the running build of an installonly kernel is exposed, as scanTarget judges stored targets.
        matchPackages({ family, release, packages: packagesToJudge(resolved.packages, input.runningKernel ?? null), advisories }).map((m) => ({
          advisory: m.advisoryId,
          source: m.advisorySource,
          cves: m.cves,
          package: m.package,
          // Null when the inventory gave no arch (an SBOM purl without arch=), not a made-up one.
          arch: knownArch(m.arch),
          installed: m.installed,
          fixed: m.fixed,
          severity: m.severity,
          status: m.status,
          reason: m.reason,
          packageSource: m.packageSource,
        }));
  return {
    inventory: {
      file: input.inventory,
      format: inv.format,
      packages: inv.packages.length,
      sources: resolved.counts ?? countGiven(inv.packages),
      warnings: inv.warnings,
    },
    release,
    mode: input.ovalStrict === true ? 'oval-strict' : 'normal',
    advisories: advisories.length,
    findings,
    warnings,
  };
}
