import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { loadAdvisories } from '../storage/index.js';
import { cveOfPath, directoryOf, parseChanges } from './csaf-provider.js';
import { addSource, syncSource } from './feeds.js';
import { importInventoryFile } from './inventory.js';
import { findFindings } from './report.js';
import type { Db } from './store.js';

// MSRC's CSAF VEX for Azure Linux through the product's sync and scan path (issue #16 item 6).
// The documents are written in Microsoft's shape (no real one exists: feeds/csaf-vex/__fixtures__/README.md).
const MSRC = join(import.meta.dirname, '..', 'feeds', 'csaf-vex', '__fixtures__', 'msrc');
const DOCS = readdirSync(MSRC).filter((f) => f.endsWith('.json'));
const clockAt = (iso: string) => () => new Date(iso);

describe('changes.csv and provider metadata', () => {
  it('reads quoted and bare lines, time-zone-less timestamps as UTC (counted), and refuses unsafe paths', () => {
    const r = parseChanges(
      '"2025/msrc_cve-2025-26465.json","2025-03-04 08:00:00"\n2024/msrc_cve-2024-2379.json,2024-04-01T10:00:00.000Z\n"../etc/passwd.json","2025-01-01T00:00:00"\nhttp://x/y.json,2025-01-01\n\n',
    );
    expect(r.lines).toEqual([
      { path: '2025/msrc_cve-2025-26465.json', at: '2025-03-04T08:00:00.000Z' },
      { path: '2024/msrc_cve-2024-2379.json', at: '2024-04-01T10:00:00.000Z' },
    ]);
    expect(r.zoneless).toBe(1);
    expect(r.bad).toHaveLength(2);
    expect(cveOfPath('2025/msrc_cve-2025-26465.json')).toBe('CVE-2025-26465');
  });
  it('picks the VEX directory of a provider that has advisories too, and refuses metadata without one', () => {
    const m = JSON.stringify({
      distributions: [{ directory_url: 'https://msrc.microsoft.com/csaf/advisories' }, { directory_url: 'https://msrc.microsoft.com/csaf/vex' }],
    });
    expect(directoryOf(m, 'm')).toBe('https://msrc.microsoft.com/csaf/vex/');
    expect(() => directoryOf('{"distributions":[]}', 'm')).toThrow(/names no directory distribution/);
    expect(() => directoryOf('', 'm')).toThrow(/not JSON/);
  });
});

describe.each(testDatabases())('MSRC CSAF VEX sync on $name', ({ open }) => {
  let db: Db;
  let dir: string;
  let server: Server;
  let base = '';
  const requests: string[] = [];
  // What the provider serves: path -> body; changes.csv is built from `changed`.
  let served = new Map<string, string>();
  let changed: [string, string][] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '';
      requests.push(url);
      if (url === '/csaf/provider-metadata.json') {
        res
          .writeHead(200)
          .end(JSON.stringify({ canonical_url: `${base}/csaf/provider-metadata.json`, distributions: [{ directory_url: `${base}/csaf/vex` }] }));
        return;
      }
      if (url === '/csaf/vex/changes.csv') {
        res.writeHead(200).end(changed.map(([p, t]) => `"${p}","${t}"\n`).join(''));
        return;
      }
      const body = served.get(url.replace('/csaf/vex/', ''));
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
  });
  beforeEach(async () => {
    db = await open();
    dir = mkdtempSync(join(tmpdir(), 'bulwark-msrc-'));
    requests.length = 0;
    served = new Map(DOCS.map((f) => [`2025/${f}`, readFileSync(join(MSRC, f), 'utf8')]));
    // Microsoft's changes.csv: newest first, no time zone.
    changed = DOCS.map((f, i) => [`2025/${f}`, `2025-03-0${String(DOCS.length - i)} 08:00:00`]);
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the same vulnerable packages on a host as the OVAL of the same facts, through sync and scan', async () => {
    const inv = join(dir, 'host.tsv');
    writeFileSync(
      inv,
      [
        'openssh\t0\t9.8p1\t2.azl3\tx86_64\topenssh-9.8p1-2.azl3.src.rpm',
        'openssh-server\t0\t9.8p1\t2.azl3\tx86_64\topenssh-9.8p1-2.azl3.src.rpm',
        'golang\t0\t1.20.6\t1.azl3\tx86_64\tgolang-1.20.6-1.azl3.src.rpm',
        'perl\t4\t5.38.2\t509.azl3\tx86_64\tperl-5.38.2-509.azl3.src.rpm',
        'libtiff\t0\t4.6.0\t5.azl3\tx86_64\tlibtiff-4.6.0-5.azl3.src.rpm',
        'curl\t0\t8.8.0\t1.azl3\tx86_64\tcurl-8.8.0-1.azl3.src.rpm',
        '',
      ].join('\n'),
    );
    await importInventoryFile(db, { file: inv, name: 'azl-host', release: 'azurelinux:3.0' });
    await addSource(db, { id: 'azurelinux-3.0-oval', location: join(MSRC, 'azurelinux-3.0-oval.xml') });
    await addSource(db, { id: 'azurelinux-msrc-csaf-vex', location: `${base}/csaf/provider-metadata.json` });
    const oval = await syncSource(db, 'azurelinux-3.0-oval', { clock: clockAt('2026-11-01T00:00:00Z') });
    const vex = await syncSource(db, 'azurelinux-msrc-csaf-vex', { clock: clockAt('2026-11-01T00:00:00Z') });
    expect(oval).toMatchObject({ status: 'synced', advisories: 5 });
    // Six documents, the Windows one holds nothing for Azure Linux; the time zone is missing: a warning.
    expect(vex).toMatchObject({ status: 'synced', documents: 6, advisories: 5, added: 5 });
    expect(vex.warningSamples.map((w) => w.message).join('\n')).toMatch(/6 timestamps carry no time zone/);
    const findings = await findFindings(db, { hosts: ['azl-host'], status: ['open', 'no-fix'] });
    const of = (source: string): string[] =>
      findings
        .filter((f) => f.advisorySource === source)
        .map((f) => `${f.cves.join(',')} ${f.package} ${f.installed} ${f.status} ${f.fixed ?? '-'} ${f.reason ?? ''}`)
        .sort();
    expect(of('azurelinux-3.0-oval')).toHaveLength(5);
    expect(of('azurelinux-msrc-csaf-vex')).toEqual(of('azurelinux-3.0-oval'));
    // The perl finding is closed the same way by both: epoch 4 against Microsoft's 0:.
    expect(of('azurelinux-msrc-csaf-vex').join('\n')).toMatch(/CVE-2023-47038 perl 4:5\.38\.2-509\.azl3 open 4:5\.38\.2-510\.azl3 the feed writes epoch 0/);
  });

  it('refuses an empty 200 body as the feed’s problem, keeps the rest, fetches it again next time and only what changed', async () => {
    served.set('2025/msrc_cve-2023-29409.json', '');
    await addSource(db, { id: 'azurelinux-msrc-csaf-vex', location: `${base}/csaf/provider-metadata.json` });
    const first = await syncSource(db, 'azurelinux-msrc-csaf-vex', { clock: clockAt('2026-11-01T00:00:00Z') });
    expect(first).toMatchObject({ status: 'synced', documents: 5, advisories: 4 });
    expect(first.warningSamples.find((w) => w.record === 'CVE-2023-29409')?.message).toMatch(/empty body; not read/);
    // The CDN answers properly again: the next sync fetches from the failed document on, not the rest.
    served.set('2025/msrc_cve-2023-29409.json', readFileSync(join(MSRC, 'msrc_cve-2023-29409.json'), 'utf8'));
    requests.length = 0;
    const second = await syncSource(db, 'azurelinux-msrc-csaf-vex', { clock: clockAt('2026-11-02T00:00:00Z') });
    expect(second).toMatchObject({ status: 'synced', added: 1, withdrawn: 0 });
    const fetched = requests.filter((u) => u.endsWith('.json') && !u.includes('provider-metadata'));
    expect(fetched.length).toBeLessThan(DOCS.length);
    expect(fetched).toContain('/csaf/vex/2025/msrc_cve-2023-29409.json');
    expect((await loadAdvisories(db, { source: 'azurelinux-msrc-csaf-vex' })).map((a) => a.id).sort()).toEqual([
      'CVE-2023-29409',
      'CVE-2023-47038',
      'CVE-2023-52356',
      'CVE-2024-2379',
      'CVE-2025-26465',
    ]);
    // Nothing changed since: nothing fetched, nothing withdrawn.
    const third = await syncSource(db, 'azurelinux-msrc-csaf-vex', { clock: clockAt('2026-11-03T00:00:00Z') });
    expect(third.status).toBe('not-modified');
    // A document the provider no longer lists is withdrawn; an unchanged one is kept.
    changed = changed.filter(([p]) => !p.includes('2024-2379'));
    changed.unshift(['2025/msrc_cve-2025-26465.json', '2025-04-01 00:00:00']);
    const fourth = await syncSource(db, 'azurelinux-msrc-csaf-vex', { clock: clockAt('2026-11-04T00:00:00Z'), allowWithdraw: true });
    expect(fourth).toMatchObject({ status: 'synced', documents: 1, withdrawn: 1 });
  });

  it('fails, storing nothing, when every changed document is empty', async () => {
    for (const k of served.keys()) served.set(k, '');
    await addSource(db, { id: 'azurelinux-msrc-csaf-vex', location: `${base}/csaf/provider-metadata.json` });
    await expect(syncSource(db, 'azurelinux-msrc-csaf-vex')).rejects.toThrow(/none of the 6 changed documents could be read/);
    expect(await loadAdvisories(db, { source: 'azurelinux-msrc-csaf-vex' })).toEqual([]);
  });
});
