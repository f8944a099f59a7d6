import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedData } from '../../test/shared-data.js';
import { testDatabases } from '../../test/databases.js';
import { listAdvisoryEvents, loadAdvisories } from '../storage/index.js';
import { searchAdvisories } from './advisories.js';
import { addSource, listSources, removeSource, syncSource, syncSources } from './feeds.js';
import { importInventoryFile } from './inventory.js';
import { findFindings } from './report.js';
import type { Db } from './store.js';

const FIXTURES = join(import.meta.dirname, '..', 'feeds', 'oval', '__fixtures__');
const AZL = readFileSync(join(FIXTURES, 'azurelinux-mini.xml'));
const clockAt = (iso: string) => () => new Date(iso);

describe.each(testDatabases())('feed sync on $name', ({ open }) => {
  let db: Db;
  let dir: string;
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-feeds-'));
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs a local copy of a catalog source, then skips it while bytes and parser are unchanged', async () => {
    const f = join(dir, 'oval.xml.gz');
    writeFileSync(f, gzipSync(AZL));
    await addSource(db, { id: 'azurelinux-3.0-oval', location: f });
    const first = await syncSource(db, 'azurelinux-3.0-oval');
    expect(first).toMatchObject({ status: 'synced', documents: 1, advisories: 3, added: 3, warnings: 1 });
    expect(first.warningSamples[0]).toMatchObject({ record: 'oval:com.microsoft.azurelinux:def:2' });
    const again = await syncSource(db, 'azurelinux-3.0-oval');
    expect(again.status).toBe('unchanged');
    // Nothing was parsed or stored: the fingerprint decided.
    expect(again.added + again.changed + again.unchanged).toBe(0);
    const forced = await syncSource(db, 'azurelinux-3.0-oval', { force: true });
    expect(forced).toMatchObject({ status: 'synced', unchanged: 3, added: 0 });
    const src = (await listSources(db)).find((s) => s.id === 'azurelinux-3.0-oval');
    expect({ ...src, location: src?.location.reveal() }).toMatchObject({ origin: 'catalog, overridden', location: f, release: 'azurelinux:3.0' });
    expect(src?.state?.fingerprint).toMatch(/^sha256:[0-9a-f]{64} oval@4 azurelinux:3\.0$/);
    expect(await removeSource(db, 'azurelinux-3.0-oval')).toBe(true);
    expect((await listSources(db)).find((s) => s.id === 'azurelinux-3.0-oval')?.origin).toBe('catalog');
  });

  it('stores the OVAL logic and the parser version with each advisory, searchable by CVE and package', async () => {
    const f = join(dir, 'oval.xml');
    writeFileSync(f, AZL);
    await addSource(db, { id: 'mine', format: 'oval', location: f, release: 'azurelinux:3.0' });
    await syncSource(db, 'mine');
    const [a] = await searchAdvisories(db, { cve: 'cve-2023-29409' });
    expect(a).toMatchObject({ source: 'mine', parser: 'oval@4', publishedAt: '2024-03-19T17:21:46.000Z' });
    expect(a?.oval?.kind).toBe('criteria');
    expect((await searchAdvisories(db, { package: 'perl' })).map((x) => x.id)).toEqual(['oval:com.microsoft.azurelinux:def:3']);
  });

  it.each([
    [
      'an external entity',
      '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><oval_definitions><definitions>&x;</definitions></oval_definitions>',
      /DOCTYPE/,
    ],
    [
      'a billion laughs',
      `<!DOCTYPE d [<!ENTITY a "ha">${Array.from({ length: 9 }, (_, i) => `<!ENTITY e${String(i + 1)} "${`&${i === 0 ? 'a' : `e${String(i)}`};`.repeat(10)}">`).join('')}]><oval_definitions>&e9;</oval_definitions>`,
      /DOCTYPE/,
    ],
    ['a million nested elements', `<oval_definitions>${'<a>'.repeat(1_000_000)}${'</a>'.repeat(1_000_000)}</oval_definitions>`, /nested deeper than 64/],
  ])('refuses %s with a clear error and stores nothing from it', async (_what, xml, re) => {
    const good = join(dir, 'good.xml');
    writeFileSync(good, AZL);
    await addSource(db, { id: 'h', format: 'oval', location: good, release: 'azurelinux:3.0' });
    await syncSource(db, 'h');
    const before = await loadAdvisories(db, { source: 'h' });
    const stateBefore = (await listSources(db)).find((s) => s.id === 'h')?.state;
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, xml);
    await expect(syncSource(db, 'h', { file: bad })).rejects.toThrow(re);
    expect(await loadAdvisories(db, { source: 'h' })).toEqual(before); // nothing withdrawn, nothing added
    expect((await listSources(db)).find((s) => s.id === 'h')?.state).toEqual(stateBefore);
  });

  it('refuses a truncated gzip file and stores nothing', async () => {
    const f = join(dir, 't.xml.gz');
    const gz = gzipSync(Buffer.concat([AZL, AZL.subarray(AZL.indexOf('<definitions>'))]));
    writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.8)));
    await addSource(db, { id: 't', format: 'oval', location: f, release: 'azurelinux:3.0' });
    await expect(syncSource(db, 't')).rejects.toThrow(/gzip data is corrupt or truncated/);
    expect(await loadAdvisories(db, { source: 't' })).toEqual([]);
  });

  it('drops an identical repeat of an advisory id and merges a different one, losing no fix', async () => {
    const rec = (pkg: string): string =>
      JSON.stringify({
        id: 'ALSA-2024:1',
        summary: 'Low: x',
        affected: [
          { package: { ecosystem: 'AlmaLinux:9', name: pkg }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0-1.el9' }] }] },
        ],
      });
    const tree = join(dir, 'tree');
    for (const [d, pkg] of [
      ['almalinux8', 'a'],
      ['almalinux9', 'a'],
      ['almalinux10', 'b'],
    ] as const) {
      mkdirSync(join(tree, d), { recursive: true });
      writeFileSync(join(tree, d, 'ALSA-2024:1.json'), rec(pkg));
    }
    const tgz = join(dir, 'osv.tar.gz');
    execFileSync('tar', ['-czf', tgz, '-C', tree, 'almalinux8', 'almalinux9', 'almalinux10']);
    await addSource(db, { id: 'alma', location: tgz });
    const r = await syncSource(db, 'alma');
    expect(r).toMatchObject({ status: 'synced', documents: 3, advisories: 1, duplicates: 2, warnings: 1 });
    expect(r.warningSamples[0]?.message).toMatch(/appears again with different content; the two records were merged/);
    const [a] = await loadAdvisories(db, { source: 'alma' });
    expect(a?.fixes.map((f) => f.package).sort()).toEqual(['a', 'b']);
  });

  it('re-scans only the targets holding a package that a changed advisory names', async () => {
    const inv = (name: string, pkg: string): string => {
      const f = join(dir, `${name}.tsv`);
      writeFileSync(f, `${pkg}\t0\t1.20.6\t1.azl3\tx86_64\t${pkg}-1.20.6-1.azl3.src.rpm\n`);
      return f;
    };
    await importInventoryFile(db, { file: inv('go-host', 'golang'), name: 'go-host' });
    await importInventoryFile(db, { file: inv('other-host', 'bash'), name: 'other-host' });
    const f = join(dir, 'oval.xml');
    writeFileSync(f, AZL);
    await addSource(db, { id: 'azurelinux-3.0-oval', location: f });
    const r = await syncSource(db, 'azurelinux-3.0-oval', { clock: clockAt('2026-11-01T00:00:00Z') });
    expect(r.rescanned).toBe(1);
    expect((await findFindings(db, { hosts: ['go-host'] })).map((x) => x.advisoryId)).toEqual(['oval:com.microsoft.azurelinux:def:1']);
    // The golang fix moves below the installed version: the finding closes on the next sync, as
    // withdrawn (the feed changed, go-host did not: it is not "fixed").
    writeFileSync(f, AZL.toString('utf8').replace('0:1.20.7-1.azl3', '0:1.20.5-1.azl3'));
    const again = await syncSource(db, 'azurelinux-3.0-oval', { clock: clockAt('2026-11-02T00:00:00Z') });
    expect(again).toMatchObject({ changed: 1, rescanned: 1 });
    expect(await findFindings(db, { hosts: ['go-host'] })).toEqual([]);
    expect(await findFindings(db, { hosts: ['go-host'], status: ['fixed'] })).toEqual([]);
    expect((await findFindings(db, { hosts: ['go-host'], status: ['withdrawn'] }))[0]?.closedAt).toBe('2026-11-02T00:00:00.000Z');
  });

  it('keeps syncing the other sources when one fails, and reports which', async () => {
    const f = join(dir, 'oval.xml');
    writeFileSync(f, AZL);
    await addSource(db, { id: 'ok', format: 'oval', location: f, release: 'azurelinux:3.0' });
    await addSource(db, { id: 'missing', format: 'oval', location: join(dir, 'nope.xml') });
    const r = await syncSources(db, ['missing', 'ok']);
    expect(r.map((x) => [x.source, x.status])).toEqual([
      ['missing', 'failed'],
      ['ok', 'synced'],
    ]);
    expect(r[0]?.error).toMatch(/cannot read .*nope\.xml: ENOENT/);
  });

  it('refuses bad source definitions', async () => {
    await expect(addSource(db, { id: 'Bad Id', format: 'oval', location: 'x' })).rejects.toThrow(/not a source id/);
    await expect(addSource(db, { id: 'new', location: 'https://example.invalid/feed' })).rejects.toThrow(/give its --format/);
    await expect(addSource(db, { id: 'new', location: join(dir, 'absent.xml') })).rejects.toThrow(/cannot read .*absent\.xml: ENOENT/);
    writeFileSync(join(dir, 'repomd.xml'), '<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo"/>');
    await expect(addSource(db, { id: 'new', location: join(dir, 'repomd.xml') })).rejects.toThrow(/repository metadata, not an advisory feed/);
    await expect(addSource(db, { id: 'new', format: 'nope', location: 'x' })).rejects.toThrow(/unknown feed format "nope"/);
    await expect(addSource(db, { id: 'new', format: 'oval', location: 'x', release: 'Azure Linux' })).rejects.toThrow(/not a release id/);
    await expect(syncSource(db, 'nope')).rejects.toThrow(/no feed source "nope"/);
  });

  // Issue #3: re-ingesting the 2025-01-31 and then the 2025-02-24 Azure Linux 3.0 files records
  // the additions, the 2 withdrawn definitions and the 4 severity changes. The expected numbers
  // come from the raw XML by a plain text scan, not from the parser.
  const oval = sharedData('azurelinux', 'oval');
  it.skipIf(oval === null)('records additions, withdrawals and severity changes between two real Azure Linux 3.0 files', async () => {
    const older = join(oval!, 'history', 'azurelinux-3.0-oval.2025-01-31.xml.xz');
    const newer = join(oval!, 'azurelinux-3.0-oval.2025-02-24.xml.xz');
    const xmlOf = (file: string): string => execFileSync('xz', ['-dc', file], { maxBuffer: 1 << 28 }).toString('utf8');
    const severities = (xml: string): Map<string, string> => {
      const out = new Map<string, string>();
      for (const m of xml.matchAll(/<definition [^>]*id="([^"]+)"[\s\S]*?<severity>([^<]*)<\/severity>/g)) out.set(m[1]!, m[2]!.toLowerCase());
      return out;
    };
    // Definition N's first state is ste:N002 (data notes 1.3): its EVR is the fixed version.
    const fixedOf = (xml: string): Map<string, string> => {
      const out = new Map<string, string>();
      for (const m of xml.matchAll(/id="oval:com\.microsoft\.azurelinux:ste:(\d+)002"[^>]*>\s*<linux-def:evr [^>]*>([^<]*)</g))
        out.set(`oval:com.microsoft.azurelinux:def:${m[1]!}`, m[2]!);
      return out;
    };
    const xa = xmlOf(older);
    const xb = xmlOf(newer);
    const a = severities(xa);
    const b = severities(xb);
    const fa = fixedOf(xa);
    const fb = fixedOf(xb);
    const fixChanged = [...fb.keys()].filter((k) => fa.has(k) && fa.get(k) !== fb.get(k));
    const added = [...b.keys()].filter((k) => !a.has(k));
    const gone = [...a.keys()].filter((k) => !b.has(k));
    const severityChanged = [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k));
    expect([gone.length, severityChanged.length]).toEqual([2, 4]); // as the data notes say

    await addSource(db, { id: 'azurelinux-3.0-oval', location: older });
    const r1 = await syncSource(db, 'azurelinux-3.0-oval', { clock: clockAt('2025-02-01T00:00:00Z') });
    expect(r1).toMatchObject({ status: 'synced', added: a.size, withdrawn: 0 });
    const r2 = await syncSource(db, 'azurelinux-3.0-oval', { file: newer, clock: clockAt('2025-02-25T00:00:00Z') });
    expect(r2).toMatchObject({ status: 'synced', added: added.length, withdrawn: 2, advisories: b.size });
    const events = await listAdvisoryEvents(db, 'azurelinux-3.0-oval');
    const at = (e: { at: string }): string => new Date(e.at).toISOString();
    const withdrawn = events.filter((e) => e.kind === 'withdrawn');
    expect(withdrawn.map((e) => e.advisoryId).sort()).toEqual(gone.sort());
    expect(withdrawn.every((e) => at(e) === '2025-02-25T00:00:00.000Z')).toBe(true);
    const sev = events.filter((e) => e.kind === 'changed' && 'severity' in e.detail);
    expect(sev.map((e) => e.advisoryId).sort()).toEqual(severityChanged.sort());
    for (const e of sev) expect(e.detail['severity']).toEqual([a.get(e.advisoryId), b.get(e.advisoryId)]);
    // Fix changes are recorded with the old and new fix.
    const fixEvents = events.filter((e) => e.kind === 'changed' && 'fixes' in e.detail);
    expect(fixEvents.map((e) => e.advisoryId).sort()).toEqual(fixChanged.sort());
    expect(fixChanged.length).toBeGreaterThan(0);
    for (const e of fixEvents) {
      const d = e.detail['fixes'] as { added: string[]; removed: string[] };
      expect(d.added.join()).toContain(`<${fb.get(e.advisoryId)!}`);
      expect(d.removed.join()).toContain(`<${fa.get(e.advisoryId)!}`);
    }
    // Withdrawn advisories stay in history but leave the live store.
    expect(await loadAdvisories(db, { source: 'azurelinux-3.0-oval' })).toHaveLength(b.size);
    expect(await loadAdvisories(db, { source: 'azurelinux-3.0-oval', withdrawn: true })).toHaveLength(b.size + 2);
  });
});

describe('feed sync over HTTP', () => {
  let server: Server;
  let base: string;
  let db: Db;
  const requests: { url: string; inm: string | undefined; ims: string | undefined }[] = [];
  let mode: 'ok' | 'error' | 'stall' | 'huge' = 'ok';
  const body = gzipSync(AZL);
  const ETAG = '"v1"';
  const LM = 'Mon, 24 Feb 2025 13:05:27 GMT';
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', inm: req.headers['if-none-match'], ims: req.headers['if-modified-since'] });
      if (mode === 'error') {
        res.writeHead(503).end('busy');
        return;
      }
      if (mode === 'stall') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 10)); // …and then nothing
        return;
      }
      if (mode === 'huge') {
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }).end();
        return;
      }
      if (req.headers['if-none-match'] === ETAG) {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { etag: ETAG, 'last-modified': LM, 'content-type': 'application/gzip' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
  });
  beforeEach(async () => {
    const [sqlite] = testDatabases();
    db = await sqlite!.open();
    requests.length = 0;
    mode = 'ok';
  });
  afterEach(async () => {
    await db.close();
  });

  it('downloads once, then asks with If-None-Match / If-Modified-Since and skips on 304', async () => {
    await addSource(db, { id: 'web', format: 'oval', location: `${base}/azurelinux-3.0-oval.xml.gz`, release: 'azurelinux:3.0' });
    expect(await syncSource(db, 'web')).toMatchObject({ status: 'synced', added: 3 });
    expect(await syncSource(db, 'web')).toMatchObject({ status: 'not-modified' });
    expect(requests.map((r) => [r.inm, r.ims])).toEqual([
      [undefined, undefined],
      [ETAG, LM],
    ]);
    expect((await syncSource(db, 'web', { force: true })).status).toBe('synced');
    expect(requests[2]?.inm).toBeUndefined();
  });

  it('fails clearly on an HTTP error, a stalled transfer and a body over the size limit', async () => {
    await addSource(db, { id: 'web', format: 'oval', location: `${base}/f.xml.gz`, release: 'azurelinux:3.0' });
    mode = 'error';
    await expect(syncSource(db, 'web')).rejects.toThrow(/f\.xml\.gz: HTTP 503/);
    mode = 'stall';
    await expect(syncSource(db, 'web', { timeouts: { idleMs: 300 } })).rejects.toThrow(/no data for 300 ms/);
    mode = 'huge';
    await expect(syncSource(db, 'web', { limits: { maxDownloadBytes: 1024 * 1024, maxDocumentBytes: 1 << 20, maxTotalBytes: 1 << 20 } })).rejects.toThrow(
      /10485760 bytes is more than the limit of 1048576/,
    );
    expect(await loadAdvisories(db, { source: 'web' })).toEqual([]);
  });
});
