import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test/cli.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { createApp } from '../api/app.js';
import { judgeFreshness } from './freshness.js';
import { openStore } from './store.js';
import { createToken } from './tokens.js';

const run = (...args: string[]): Promise<{ code: number; out: string; err: string }> => runCli(args);
const DAY = 86_400_000;
const daysAgo = (n: number): string => new Date(Date.now() - n * DAY).toISOString();

const feed = (source: string, publishedAt: string) => ({
  source,
  advisories: [
    {
      id: `${source}-1`,
      title: 'curl',
      description: '',
      severity: 'high',
      cvssScore: null,
      cvssVector: null,
      cves: ['CVE-2026-0001'],
      references: [],
      publishedAt,
      updatedAt: null,
      parser: 'native@1',
      fixes: [
        {
          release: 'azurelinux:3.0',
          package: 'curl',
          packageKind: 'binary',
          arch: null,
          status: 'fixed',
          fixed: '99:1-1',
          lastAffected: null,
          introduced: null,
        },
      ],
    },
  ],
});

describe('feed freshness (judged)', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const base = { format: 'oval', lastSuccessAt: '2026-12-06T06:00:00Z', lastAttempt: null, staleAfterDays: 14, thresholdFrom: 'default' as const };
  it.each([
    ['fresh', { ...base, newestAt: '2026-12-01T00:00:00Z' }, 'fresh', null],
    [
      'the newest advisory older than the threshold, though synced today',
      { ...base, newestAt: '2026-10-26T00:00:00Z' },
      'stale',
      'the newest of advisories is 41 days old (2026-10-26; stale after 14)',
    ],
    [
      'not synced for longer than the threshold',
      { ...base, newestAt: '2026-12-01T00:00:00Z', lastSuccessAt: '2026-11-01T00:00:00Z' },
      'stale',
      'last synced 35 days ago (stale after 14)',
    ],
    [
      'EPSS two days behind',
      { ...base, format: 'epss', staleAfterDays: 2, newestAt: '2026-12-03T00:00:00Z' },
      'stale',
      'the newest of the EPSS scores is 3 days old (2026-12-03; stale after 2)',
    ],
    [
      'never synced, its last attempt failed',
      { ...base, newestAt: null, lastSuccessAt: null, lastAttempt: { at: '2026-12-06T11:00:00Z', status: 'failed', error: 'HTTP 503' } },
      'never-synced',
      'never synced; the last attempt (2026-12-06T11:00:00Z) failed: HTTP 503',
    ],
    [
      'fresh, but the last attempt failed',
      { ...base, newestAt: '2026-12-05T00:00:00Z', lastAttempt: { at: '2026-12-06T11:00:00Z', status: 'failed', error: 'HTTP 503' } },
      'fresh',
      'the last attempt (2026-12-06T11:00:00Z) failed: HTTP 503',
    ],
  ] as const)('%s', (_what, facts, state, reason) => {
    const f = judgeFreshness(facts, now);
    expect([f.state, f.reason]).toEqual([state, reason]);
  });
});

describe('stale feeds are reported in feeds list, the API and scan summaries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-fresh-'));
  const db = join(dir, 'b.db');
  beforeAll(async () => {
    // Like Microsoft's OSV export for Azure Linux: syncs fine, but its newest advisory is 41 days old.
    writeFileSync(join(dir, 'old.json'), JSON.stringify(feed('old-azl', daysAgo(41.5))));
    writeFileSync(join(dir, 'new.json'), JSON.stringify(feed('new-azl', daysAgo(1.5))));
    for (const id of ['old', 'new']) {
      expect((await run('--db', db, 'feeds', 'add', `${id}-azl`, '--format', 'native', '--location', join(dir, `${id}.json`))).code).toBe(0);
      expect((await run('--db', db, 'feeds', 'sync', '--source', `${id}-azl`)).code).toBe(0);
    }
    // A failed attempt is kept with its error.
    expect((await run('--db', db, 'feeds', 'add', 'gone-azl', '--format', 'native', '--location', join(dir, 'gone.json'))).code).toBe(0);
    expect((await run('--db', db, 'feeds', 'sync', '--source', 'gone-azl')).code).toBe(4);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('feeds list: the stale source says so, in the table, in words and in JSON', async () => {
    const text = (await run('--db', db, 'feeds', 'list')).out;
    expect(text).toMatch(/^old-azl\s+native\s.*\s\d{4}-\d{2}-\d{2}\s+STALE \(41 d > 14\)\s/m);
    expect(text).toMatch(/^new-azl\s+native\s.*\sfresh\s/m);
    expect(text).toMatch(/^first-epss\s+epss\s.*\snever-synced\s/m);
    expect(text).toContain('old-azl: STALE: the newest of advisories is 41 days old');
    const json = JSON.parse((await run('--db', db, 'feeds', 'list', '--json')).out) as {
      id: string;
      freshness: {
        state: string;
        ageDays: number | null;
        staleAfterDays: number;
        lastSuccessAt: string | null;
        lastAttempt: { status: string; error: string | null } | null;
      };
    }[];
    const by = new Map(json.map((s) => [s.id, s.freshness]));
    expect(by.get('old-azl')).toMatchObject({ state: 'stale', ageDays: 41, staleAfterDays: 14, lastAttempt: { status: 'synced', error: null } });
    expect(by.get('new-azl')).toMatchObject({ state: 'fresh', ageDays: 1 });
    expect(by.get('gone-azl')).toMatchObject({
      state: 'never-synced',
      lastSuccessAt: null,
      lastAttempt: { status: 'failed', error: expect.stringContaining('gone.json') as unknown },
    });
    expect(by.get('cisa-kev')).toMatchObject({ state: 'never-synced', staleAfterDays: 7 });
    expect(by.get('first-epss')).toMatchObject({ staleAfterDays: 2 });
  });

  it('the API lists freshness with each source', async () => {
    const store = await openStore({ dbPath: db });
    try {
      const { token } = await createToken(store, { name: 'v', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 'test' } });
      const app = createApp(store, {
        knownHostsFile: join(dir, 'known_hosts'),
        transport: () => refusingTransport,
        version: 'test',
        agentServerKey: randomBytes(32),
        authFailuresPerMinute: 1000,
      });
      const r = (await (await app.request('/api/v1/feeds', { headers: { authorization: `Bearer ${token}` } })).json()) as {
        items: { id: string; freshness: { state: string; reason: string | null } }[];
      };
      expect(r.items.find((s) => s.id === 'old-azl')?.freshness).toMatchObject({
        state: 'stale',
        reason: expect.stringMatching(/^the newest of advisories is 41 days old/) as unknown,
      });
    } finally {
      await store.close();
    }
  });

  it('a scan says advisories for its release are stale; a source of its own threshold is not', async () => {
    const inv = join(dir, 'inv.tsv');
    writeFileSync(inv, 'curl\t0\t8.0\t1.azl3\tx86_64\tcurl-8.0-1.azl3.src.rpm\n');
    const scan = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-1', '--release', 'azurelinux:3.0');
    expect(scan.out).toMatch(/^warning: advisories for azurelinux:3\.0 are 41 days old \(old-azl: the newest of advisories is 41 days old/m);
    expect(scan.out).not.toMatch(/^warning:.*new-azl/m);
    const json = JSON.parse((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-1', '--release', 'azurelinux:3.0', '--format', 'json')).out) as {
      staleFeeds?: string[];
    };
    expect(json.staleFeeds).toEqual([expect.stringMatching(/^advisories for azurelinux:3\.0 are 41 days old/)]);
    // Another release's scan is not told about it.
    const other = await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-2', '--release', 'azurelinux:2.0');
    expect(other.out).not.toContain('days old');
    expect((await run('--db', db, 'feeds', 'add', 'old-azl', '--format', 'native', '--location', join(dir, 'old.json'), '--stale-after-days', '60')).code).toBe(
      0,
    );
    expect((await run('--db', db, 'feeds', 'list')).out).toMatch(/^old-azl\s.*\sfresh\s/m);
    expect((await run('--db', db, 'scan', '--inventory', inv, '--name', 'web-1', '--release', 'azurelinux:3.0')).out).not.toContain('days old');
    expect((await run('--db', db, 'feeds', 'add', 'old-azl', '--location', join(dir, 'old.json'), '--stale-after-days', '0')).code).toBe(2);
  });
});
