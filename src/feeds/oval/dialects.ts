import type { Fix } from '../../core/advisory.js';
import type { OvalCriteria } from '../../core/oval.js';
import {
  ovalGeneratorDistribution,
  ovalIdDialect,
  ovalNamespaceDistribution,
  releaseFromDistTag,
  releaseFromOvalId,
  releaseFromPlatformComment,
} from '../../distros/registry.js';
import { releaseFact } from '../identity.js';
import type { ParseOptions } from '../types.js';
import { commentsIn, versionsIn } from './resolve.js';

/**
 * What differs between OVAL publishers, asked of their descriptors (src/distros/<id>/ `oval`,
 * `distTags`): which distribution an id namespace or generator names, how a definition tells its
 * release when the source does not (dist tags glued onto versions, a codename in the id, a
 * platform comment such as "… 9 is installed"), and whether its package names are source
 * packages with unreliable epochs. The parser names no publisher.
 */

/** Reports the distribution a `<generator><product_name>` names. */
export function reportGenerator(product: string | null, opts: ParseOptions): void {
  const d = product === null ? null : ovalGeneratorDistribution(product);
  if (d !== null) opts.identity?.({ distribution: d, release: null, evidence: `generator "${product ?? ''}"` });
}

/** Reports the distribution (and release) a definition id's namespace names, whatever the criteria hold. */
export function reportNamespace(defId: string, opts: ParseOptions): void {
  const d = ovalNamespaceDistribution(defId);
  if (d !== null) opts.identity?.({ distribution: d, release: releaseFromOvalId(defId), evidence: `definition id ${defId}` });
}

/**
 * The release a definition says it is for, and where it says it: a version's dist tag first,
 * then its id, then a platform comment. Reported as an identity fact too.
 */
export function releaseSaid(defId: string, criteria: OvalCriteria, opts: ParseOptions): { release: string; evidence: string } | null {
  let said: { release: string; evidence: string } | null = null;
  for (const v of versionsIn(criteria)) {
    const r = releaseFromDistTag(v);
    if (r !== null) {
      said = { release: r, evidence: `${defId}: version ${v}` };
      break;
    }
  }
  if (said === null) {
    const r = releaseFromOvalId(defId);
    if (r !== null) said = { release: r, evidence: `definition id ${defId}` };
  }
  if (said === null)
    for (const c of commentsIn(criteria)) {
      const r = releaseFromPlatformComment(c);
      if (r !== null) {
        said = { release: r, evidence: `${defId}: "${c}"` };
        break;
      }
    }
  if (said !== null) {
    const f = releaseFact(said.release, said.evidence);
    if (f !== null) opts.identity?.(f);
  }
  return said;
}

/** How the definition's publisher names packages and writes epochs. */
export function packageDialect(defId: string): { packageKind: Fix['packageKind']; epochUnreliable: boolean } {
  return ovalIdDialect(defId);
}
