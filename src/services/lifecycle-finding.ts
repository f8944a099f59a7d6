import type { Advisory } from '../core/advisory.js';
import { lifecycleStatus } from '../lifecycle/catalog.js';
import type { FindingInput } from '../storage/index.js';

/** The advisory source of end-of-support findings. */
export const LIFECYCLE_SOURCE = 'bulwark-lifecycle';

/**
 * A release past its end of security support is itself a finding (issue #4): its advisory (to
 * store) and the finding on the pseudo-package `(release)`, or null while the release is supported.
 * @example lifecycleFinding('mariner:2.0', new Date())
 */
export function lifecycleFinding(release: string, now: Date): { advisory: Advisory; finding: FindingInput } | null {
  const life = lifecycleStatus(release, now);
  if (!((life.state === 'end-of-life' || life.state === 'extended-only') && life.facts !== null)) return null;
  const f = life.facts;
  const advisory: Advisory = {
    source: LIFECYCLE_SOURCE,
    id: `EOL-${release}`,
    kind: 'security',
    title: `${f.name} is past the end of its security support (${f.endOfSecuritySupport ?? '?'})`,
    description: `${f.name}: end of security support ${f.endOfSecuritySupport ?? '?'}${f.endOfExtendedSupport === null ? '' : `, end of extended support ${f.endOfExtendedSupport}`}. Sources: ${f.sources.join(', ')}`,
    severity: life.state === 'end-of-life' ? 'high' : 'medium',
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: f.sources.map((u) => ({ type: 'web' as const, id: null, url: u })),
    publishedAt: f.endOfSecuritySupport === null ? null : `${f.endOfSecuritySupport}T23:59:59.000Z`,
    updatedAt: null,
    parser: 'lifecycle@1',
    fixes: [],
  };
  return {
    advisory,
    finding: {
      advisorySource: LIFECYCLE_SOURCE,
      advisoryId: advisory.id,
      package: '(release)',
      arch: '-',
      installed: release,
      fixed: null,
      severity: advisory.severity,
      status: 'no-fix',
      reason:
        life.state === 'end-of-life' ? 'no vendor security updates any more' : `only extended (paid or LTS) support until ${f.endOfExtendedSupport ?? '?'}`,
    },
  };
}
