import { describe, expect, it } from 'vitest';
import type { Fix } from '../core/advisory.js';
import type { InstalledPackage } from '../core/target.js';
import { fixApplicability, type HostStreams } from './applicability.js';
import { indexFixes, matchPackage } from './match.js';

const none: HostStreams = { modules: [], channels: [] };

describe('which fixes apply to a host (issue #16 items 7, 8)', () => {
  it.each<[string, Pick<Fix, 'module' | 'channel'>, HostStreams, ReturnType<typeof fixApplicability>['kind']]>([
    ['an ordinary fix, anywhere', {}, none, 'applies'],
    ['a module fix on a host with that stream', { module: 'nodejs:20' }, { modules: ['nodejs:20'], channels: null }, 'applies'],
    ['a module fix on a host with another stream', { module: 'nodejs:18' }, { modules: ['nodejs:20'], channels: null }, 'other-stream'],
    ['a module fix on a host with no stream enabled', { module: 'nodejs:18' }, none, 'other-stream'],
    ['a module fix on a host whose streams were not collected: kept', { module: 'nodejs:18' }, { modules: null, channels: null }, 'applies'],
    ['a channel fix on a host with the channel', { channel: 'Ubuntu Pro (esm-infra)' }, { modules: null, channels: ['Ubuntu Pro (esm-infra)'] }, 'applies'],
    ['a channel fix on a host without it', { channel: 'Ubuntu Pro (esm-apps)' }, { modules: null, channels: ['Ubuntu Pro (esm-infra)'] }, 'needs-channel'],
    ['a channel fix on a host whose channels are unknown', { channel: 'Ubuntu Pro (esm-infra)' }, { modules: null, channels: null }, 'needs-channel'],
  ])('%s', (_what, fix, host, kind) => {
    expect(fixApplicability(fix, host).kind).toBe(kind);
  });

  const pkg: InstalledPackage = {
    family: 'deb',
    name: 'openssl',
    epoch: null,
    version: '1.1.1f-1ubuntu2.24',
    release: null,
    arch: 'amd64',
    sourceName: 'openssl',
    sourceVersion: null,
  };
  const fix = (channel: string | null, fixed: string): Fix => ({
    release: 'ubuntu:20.04',
    package: 'openssl',
    packageKind: 'source',
    arch: null,
    status: 'fixed',
    fixed,
    lastAffected: null,
    introduced: null,
    ...(channel === null ? {} : { channel }),
  });
  const advisory = (fixes: Fix[]) => ({
    source: 's',
    id: 'USN-1',
    title: '',
    description: '',
    severity: 'medium' as const,
    cvssScore: null,
    cvssVector: null,
    cves: [],
    references: [],
    publishedAt: null,
    updatedAt: null,
    parser: 't',
    fixes,
  });

  it('a fix anyone can install is preferred to one behind a channel, whichever comes first', () => {
    const index = indexFixes([advisory([fix('Ubuntu Pro (esm-infra)', '1.1.1f-1ubuntu2.24+esm1'), fix(null, '1.1.1f-1ubuntu2.25')])], 'ubuntu:20.04', 'deb');
    expect(matchPackage(index, pkg, none)).toMatchObject([{ status: 'open', fixed: '1.1.1f-1ubuntu2.25', reason: null }]);
  });

  it('a channel fix out of reach is no fix, saying what it needs; in reach it is an ordinary open finding', () => {
    const index = indexFixes([advisory([fix('Ubuntu Pro (esm-infra)', '1.1.1f-1ubuntu2.24+esm1')])], 'ubuntu:20.04', 'deb');
    expect(matchPackage(index, pkg, none)).toMatchObject([
      { status: 'no-fix', fixed: null, reason: 'fix needs Ubuntu Pro (esm-infra), not enabled on this host (1.1.1f-1ubuntu2.24+esm1)' },
    ]);
    expect(matchPackage(index, pkg, { modules: null, channels: ['Ubuntu Pro (esm-infra)'] })).toMatchObject([
      { status: 'open', fixed: '1.1.1f-1ubuntu2.24+esm1', reason: null },
    ]);
  });
});
