import type { Fix, FixStatus } from '../../core/advisory.js';
import { BulwarkError } from '../../core/errors.js';
import { versionScheme } from '../../core/version/registry.js';
import { csafClaimedBy, csafDialectOf, csafNamedComponent, csafStreamRelease } from '../../distros/registry.js';
import type { CsafBranch, CsafVulnerability } from './schema.js';

/**
 * A CSAF product tree read into products and `default_component_of` relationships, and the
 * fixes a vulnerability's product status states (CSAF 2.0 §3.1.3, §3.2.3.9). Who names what:
 * Red Hat's components carry purls or NEVRA product ids; Microsoft's only a product name that
 * the distribution's descriptor reads (src/distros/<id>/ `csaf.componentFromName`).
 */

export interface ProductInfo {
  cpe: string | null;
  purl: string | null;
  name: string | null;
}

export interface Tree {
  products: Map<string, ProductInfo>;
  relationships: Map<string, { component: string; stream: string }>;
}

export interface Collected {
  fixes: Fix[];
  skippedProducts: number;
  badVersions: string[];
}

/**
 * The release of a product stream, as the publisher's descriptor reads its stream ids, CPEs or
 * names (src/distros/<id>/ `csaf`); null when the stream is no known distribution's (Satellite,
 * JBoss, OpenShift, Windows…).
 * @example streamRelease('AppStream-9.3.0.Z.MAIN', 'cpe:/a:redhat:enterprise_linux:9::appstream') // 'rhel:9'
 */
export function streamRelease(productId: string, cpe: string | null, name: string | null = null): string | null {
  return csafStreamRelease(productId, cpe, name);
}

export interface Component {
  name: string;
  /** Explicit-epoch EVR, or null for an unversioned component (unfixed entries). */
  evr: string | null;
  arch: string | null;
  module: string | null;
}

/** `pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=x86_64&epoch=1&rpmmod=nodejs:20:…` (purl-spec rpm type). */
export function componentFromPurl(purl: string): Component | null {
  const m = /^pkg:rpm\/[^/]+\/([^@?#]+)(?:@([^?#]+))?(?:\?([^#]*))?/.exec(purl);
  if (m?.[1] === undefined) return null;
  const q = new URLSearchParams(m[3] ?? '');
  const name = decodeURIComponent(m[1]);
  const ver = m[2] === undefined ? null : decodeURIComponent(m[2]);
  const epoch = q.get('epoch') ?? '0';
  const mod = q.get('rpmmod');
  const modParts = mod?.split(':') ?? [];
  return {
    name,
    evr: ver === null ? null : `${epoch}:${ver}`,
    arch: q.get('arch'),
    module: modParts.length >= 2 ? `${modParts[0] ?? ''}:${modParts[1] ?? ''}` : null,
  };
}

/** `telnet-1:0.17-65.el7_6.x86_64` (Red Hat's product ids write N-E:V-R.A) or a bare name. */
export function componentFromNevra(ref: string): Component {
  const m = /^(.+)-(\d+):([^-:]+)-([^-]+)\.([A-Za-z0-9_]+)$/.exec(ref);
  if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined && m[4] !== undefined)
    return { name: m[1], evr: `${m[2]}:${m[3]}-${m[4]}`, arch: m[5] ?? null, module: null };
  const src = /^(.+)\.src$/.exec(ref);
  if (src?.[1] !== undefined) return { name: src[1], evr: null, arch: 'src', module: null };
  return { name: ref, evr: null, arch: null, module: null };
}

export function walkBranches(branches: readonly CsafBranch[], out: Map<string, ProductInfo>): void {
  for (const b of branches) {
    if (b.product !== undefined) {
      const h = b.product.product_identification_helper;
      out.set(b.product.product_id, { cpe: h?.cpe ?? null, purl: h?.purl ?? null, name: b.product.name ?? null });
    }
    if (b.branches !== undefined) walkBranches(b.branches, out);
  }
}

/** A component named by product name only: read by the release's distribution, or the document fails. */
function namedComponent(release: string, pid: string, productName: string | null, file: string): (Component & { packageKind: Fix['packageKind'] }) | null {
  const read = csafNamedComponent(release);
  if (read === null) return null;
  const c = read(productName ?? '');
  if (typeof c === 'string')
    throw new BulwarkError('input.invalid', `${file}: product ${pid}: ${c}; the document is not in a shape Bulwark reads, and was not stored`, { file });
  return { name: c.name, evr: c.evr, arch: null, module: null, packageKind: c.packageKind };
}

/**
 * The fixes a vulnerability's product status states, one per (release, component, status).
 * Throws when a product names a distribution's release in a way its descriptor does not read.
 */
export function collectFixes(v: CsafVulnerability, tree: Tree, file: string): Collected {
  const out: Collected = { fixes: [], skippedProducts: 0, badVersions: [] };
  const seen = new Set<string>();
  const remediation = new Map<string, string>();
  for (const r of v.remediations ?? [])
    for (const p of r.product_ids ?? []) if (r.category === 'no_fix_planned' || !remediation.has(p)) remediation.set(p, r.category);
  const scheme = versionScheme('rpm');
  const statuses: [FixStatus | 'known_affected', readonly string[]][] = [
    ['fixed', v.product_status?.fixed ?? []],
    ['known_affected', v.product_status?.known_affected ?? []],
    ['not-affected', v.product_status?.known_not_affected ?? []],
    ['under-investigation', v.product_status?.under_investigation ?? []],
  ];
  for (const [listed, pids] of statuses) {
    for (const pid of pids) {
      const rel = tree.relationships.get(pid);
      if (rel === undefined) {
        out.skippedProducts++;
        continue;
      }
      const stream = tree.products.get(rel.stream);
      const release = streamRelease(rel.stream, stream?.cpe ?? null, stream?.name ?? null);
      if (release === null) {
        const claimed = stream?.name === undefined || stream.name === null ? null : csafClaimedBy(stream.name);
        if (claimed !== null)
          throw new BulwarkError(
            'input.invalid',
            `${file}: product ${rel.stream} "${(stream?.name ?? '').slice(0, 120)}" names ${claimed} in a way Bulwark does not read (no release); the document was not stored`,
            { file },
          );
        out.skippedProducts++;
        continue;
      }
      const named = namedComponent(release, pid, tree.products.get(rel.component)?.name ?? null, file);
      const purl = tree.products.get(rel.component)?.purl ?? null;
      const comp = named ?? (purl === null ? null : componentFromPurl(purl)) ?? componentFromNevra(rel.component);
      if (comp.name === '' || comp.name.includes('\u0000')) {
        out.skippedProducts++;
        continue;
      }
      let status: FixStatus;
      if (listed === 'known_affected') status = remediation.get(pid) === 'no_fix_planned' ? 'will-not-fix' : 'no-fix-yet';
      else status = listed;
      if (status === 'fixed' || (named !== null && comp.evr !== null)) {
        if (comp.evr === null) {
          out.badVersions.push(`${pid}: listed as fixed without a version`);
          continue;
        }
        const why = scheme.check(comp.evr);
        if (why !== null) {
          out.badVersions.push(`${pid}: version "${comp.evr}": ${why}`);
          continue;
        }
      }
      const fix: Fix = {
        release,
        package: comp.name,
        packageKind: named?.packageKind ?? (comp.arch === 'src' ? 'source' : 'binary'),
        arch: comp.arch === 'src' || comp.arch === null ? null : comp.arch,
        status,
        fixed: status === 'fixed' ? comp.evr : null,
        // A versioned affected product (Microsoft names the version it found affected): affected up to it.
        lastAffected: named !== null && (status === 'no-fix-yet' || status === 'will-not-fix') ? comp.evr : null,
        introduced: null,
      };
      if (comp.module !== null) fix.module = comp.module;
      if (named !== null && csafDialectOf(release).epochUnreliable) fix.epochUnreliable = true;
      const key = JSON.stringify(fix);
      if (!seen.has(key)) {
        seen.add(key);
        out.fixes.push(fix);
      }
    }
  }
  // A versioned affected product beside a fixed one of the same package is the version the fix
  // replaces, not a second statement: the fix says it all (as the OVAL of the same facts does).
  const fixedKeys = new Set(out.fixes.filter((f) => f.status === 'fixed' && f.epochUnreliable === true).map((f) => `${f.release}\u0000${f.package}`));
  out.fixes = out.fixes.filter((f) => !(f.lastAffected !== null && f.epochUnreliable === true && fixedKeys.has(`${f.release}\u0000${f.package}`)));
  return out;
}
