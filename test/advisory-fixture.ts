import type { Advisory, Fix } from '../src/core/advisory.js';

/**
 * A made-up advisory for a test: high severity, no CVE, no reference, no date, unless `o` says
 * otherwise. Tests that store a handful of advisories write only what they are about.
 * @example testAdvisory({ source: 'store-test', id: 'ST-1', fixes: [fixedIn('azurelinux:3.0', 'app-a', '1.5-1.azl3')] })
 */
export function testAdvisory(o: Pick<Advisory, 'source' | 'id'> & Partial<Advisory>): Advisory {
  return {
    title: o.id,
    description: '',
    severity: 'high',
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: null,
    updatedAt: null,
    parser: 'test@1',
    fixes: [],
    ...o,
  };
}

/** A fix of `pkg` (a source package unless `o` says otherwise) in `release` at `fixed`, every arch. */
export function fixedIn(release: string, pkg: string, fixed: string | null, o: Partial<Fix> = {}): Fix {
  return { release, package: pkg, packageKind: 'source', arch: null, status: 'fixed', fixed, lastAffected: null, introduced: null, ...o };
}
