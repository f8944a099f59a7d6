import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXAMPLE_RELEASE } from '../src/distros/registry.js';
import { runCli } from './cli.js';
import { file, need, requires } from './needs.js';
import { startServe, stopServe } from './serve-process.js';

/**
 * Issue #17: the console drives the fleet, in Debian's Chromium against `bulwark serve`, as a
 * viewer, an operator and an admin. The store: the demo host (imported: no address) and two hosts
 * with an address nothing answers on (127.0.0.1:1), with the demo inventory; the demo policy
 * (examples/demo/policy.yaml: an emergency rule, a weekly window, a canary ring whose soak pushes
 * the rest past the monthly deadline). Every action goes through the API with the session's CSRF
 * token and is audited naming the user; a viewer sees no button it cannot use; every page is
 * screenshot (test-results/screenshots/console) and checked by axe-core (no serious or critical
 * violation).
 */
const CHROMIUM = '/usr/bin/chromium';
const repo = join(import.meta.dirname, '..');
const built = existsSync(join(repo, 'dist', 'web', 'index.html'));
const needs = requires(
  file(CHROMIUM, 'chromium (Debian package chromium)'),
  need('the built dashboard', built ? null : 'dist/web/index.html is missing: run npm run build (npm test does)'),
);
const shots = join(repo, 'test-results', 'screenshots', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const PASSWORDS = { vera: 'viewer passphrase 1', dana: 'operator passphrase 1', ada: 'admin passphrase 12' } as const;

needs.describe('the console in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-console-'));
  const db = join(dir, 'console.db');
  let server: ChildProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  const accessibility: string[] = [];

  beforeAll(async () => {
    const cli = async (args: string[], input = ''): Promise<void> => {
      const r = await runCli(['--db', db, ...args], {}, input);
      expect([args.join(' '), r.code, r.err]).toEqual([args.join(' '), 0, '']);
    };
    await cli(['demo']);
    const inventory = readFileSync(join(repo, 'examples', 'demo', 'inventory.tsv'), 'utf8');
    writeFileSync(
      join(dir, 'web-02.tsv'),
      inventory
        .split('\n')
        .filter((l) => !l.startsWith('golang'))
        .join('\n'),
    );
    for (const [host, inv] of [
      ['web-01', join(repo, 'examples', 'demo', 'inventory.tsv')],
      ['web-02', join(dir, 'web-02.tsv')],
    ] as const) {
      await cli(['hosts', 'add', host, '--address', 'bulwark@127.0.0.1:1']);
      await cli(['scan', '--inventory', inv, '--name', host, '--release', EXAMPLE_RELEASE, '--format', 'json']);
    }
    await cli(['policy', 'apply', '-f', join(repo, 'examples', 'demo', 'policy.yaml')]);
    await cli(['users', 'set', 'vera', '--role', 'viewer'], `${PASSWORDS.vera}\n`);
    await cli(['users', 'set', 'dana', '--role', 'operator'], `${PASSWORDS.dana}\n`);
    await cli(['users', 'set', 'ada', '--role', 'admin'], `${PASSWORDS.ada}\n`);
    const s = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--no-scheduler']);
    server = s.child;
    url = s.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    mkdirSync(shots, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server !== undefined) await stopServe(server);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh browser context logged in as `user`; page errors and CSP refusals collected. */
  async function login(user: keyof typeof PASSWORDS): Promise<{ page: Page; problems: string[] }> {
    // bypassCSP only so that axe-core can be injected; the app itself runs under its CSP in the other tests.
    const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/40[134]/.test(m.text())) problems.push(m.text());
    });
    await page.goto(url);
    await page.getByLabel('User', { exact: true }).fill(user);
    await page.getByLabel('Password').fill(PASSWORDS[user]);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Fleet overview")');
    return { page, problems };
  }

  /** Screenshot, then axe-core: serious and critical violations are collected (and must be none). */
  async function check(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const r = await (
        globalThis as unknown as { axe: { run: (o: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }
      ).axe.run({
        resultTypes: ['violations'],
      });
      return r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    for (const v of violations) accessibility.push(`${name}: ${v}`);
  }

  const go = async (page: Page, path: string, heading: string): Promise<void> => {
    await page.goto(`${url}${path}`);
    await page.waitForSelector(`h1:has-text("${heading}")`);
  };

  it('as admin: adds, tags and removes a host, creates and revokes a token, an enrollment token with its install command, a user, adds and syncs a feed', async () => {
    const { page, problems } = await login('ada');
    await check(page, 'overview');
    // Hosts: add, tag, remove.
    await go(page, '/hosts', 'Hosts');
    await page.getByLabel('Name', { exact: true }).fill('web-03');
    await page.getByLabel('SSH address').fill('bulwark@127.0.0.1:2');
    await page.getByLabel('Tags').fill('staging');
    await page.click('button:has-text("Add host")');
    // A host never scanned is "never scanned", not a stale inventory (issue #17, What was seen).
    await page.waitForSelector('a:has-text("web-03")');
    await go(page, '/', 'Fleet overview');
    expect([await page.textContent('[data-tile=stale] b'), await page.textContent('[data-tile=never] b')]).toEqual(['0', '1']);
    // No feed synced: first-run guidance says what to do next.
    expect(await page.textContent('.first-run')).toContain('Sync a feed');
    await go(page, '/hosts', 'Hosts');
    await page.click('a:has-text("web-03")');
    await page.waitForSelector('h1:has-text("web-03")');
    await page.getByLabel('New tag').fill('web');
    await page.click('button:has-text("Add tag")');
    await page.waitForSelector('.tag:has-text("web")');
    expect((await page.locator('.tag').allTextContents()).map((t) => t.trim())).toEqual(['staging×', 'web×']);
    await check(page, 'host');
    await page.click('button:has-text("Remove host")');
    await page.click('button:has-text("Yes, remove host")');
    await page.waitForSelector('h1:has-text("Hosts")');
    await page.waitForSelector('a:has-text("web-02")');
    expect(await page.locator('a:has-text("web-03")').count()).toBe(0);
    await check(page, 'hosts');
    // Tokens: the secret once, then revoked.
    await go(page, '/tokens', 'API tokens');
    await page.getByLabel('Name').fill('ci-reader');
    await page.click('button:has-text("Create token")');
    const secret = await page.locator('pre.token').textContent();
    expect(secret).toMatch(/^bwk_/);
    await page.locator('tr:has-text("ci-reader") button:has-text("Revoke")').click();
    await page.click('button:has-text("Yes, revoke")');
    await page.waitForSelector('tr:has-text("ci-reader") td:has-text("revoked")');
    await check(page, 'tokens');
    // Enrollment: the install command names this server and the one-time token.
    await go(page, '/agents', 'Agents');
    await page.getByLabel('Tags for the new host').fill('prod');
    await page.click('button:has-text("Create enrollment token")');
    const install = (await page.locator('pre.install').textContent()) ?? '';
    expect(install).toContain(url);
    expect(install).toMatch(/bwe_|token/);
    await check(page, 'agents');
    // Users: added, then disabled.
    await go(page, '/users', 'Users');
    await page.getByLabel('User name').fill('erin');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByLabel('Password (12+ characters)').fill('a long enough password');
    await page.click('button:has-text("Save user")');
    await page.locator('tr:has-text("erin") button:has-text("Disable")').click();
    await page.click('button:has-text("Yes, disable")');
    await page.waitForSelector('tr:has-text("erin") td:has-text("disabled")');
    await check(page, 'users');
    // Feeds: added through the API (https only), synced; the failure and its error are shown.
    await go(page, '/feeds', 'Feeds');
    await page.getByLabel('Source id').fill('mirror-osv');
    await page.getByLabel('Location (https://)').fill('https://osv.mirror.invalid/all.json');
    await page.getByLabel('Format').fill('osv');
    await page.click('button:has-text("Add feed")');
    await page.click('button[aria-label="sync mirror-osv"]');
    await page.waitForSelector('tr:has-text("mirror-osv") [role=status]:has-text("failed")', { timeout: 60_000 });
    await page.waitForSelector('tr:has-text("mirror-osv") td:has-text("failed")');
    await check(page, 'feeds');
    await go(page, '/audit', 'Audit log');
    await check(page, 'audit');
    await go(page, '/supply', 'Supply chain');
    await check(page, 'supply-chain');
    await go(page, '/no/such/page', 'Page not found');
    await check(page, 'not-found');
    // Each action audited once, by the service, naming the user.
    const audit = (await (await page.request.get(`${url}/api/v1/audit?limit=200`)).json()) as { items: { actor: string; action: string }[] };
    const mine = audit.items.filter((a) => a.actor === 'user:ada').map((a) => a.action);
    for (const action of [
      'host.add',
      'host.tag',
      'host.remove',
      'token.create',
      'token.revoke',
      'agent.enrollment-token',
      'user.set',
      'user.disable',
      'feed.add',
      'feed.sync',
    ])
      expect([action, mine.filter((a) => a === action).length]).toEqual([action, 1]);
    expect(problems).toEqual([]);
  }, 180_000);

  it('as operator: approves and unapproves, holds with a reason and an expiry and lifts it, previews and starts a run, pauses, resumes and cancels it', async () => {
    const { page, problems } = await login('dana');
    expect(await page.locator('nav >> text=Tokens').count()).toBe(0);
    await go(page, '/policies/demo-monthly', 'Plan of demo-monthly');
    // The timeline: the emergency part apart, the window, a predicted breach in red.
    expect(await page.textContent('main')).toContain('Times in Europe/Berlin');
    await page.waitForSelector('h2:has-text("Emergency work (outside windows)")');
    const emergency = page.locator('h2:has-text("Emergency work") + table');
    expect(await emergency.textContent()).toContain('DEMO-2024-0002: golang');
    expect(await emergency.textContent()).not.toContain('openssl');
    expect(await page.locator('section[aria-label="ring canary"] td').allTextContents()).toContain('wednesday-night');
    await page.waitForSelector('section[aria-label="ring rest"] .error.breach:has-text("predicted breach")');
    expect(await page.textContent('main')).toContain('1 target has no address');
    await check(page, 'plan');
    // Approve, then withdraw it.
    const row = page.locator('.decision-row:has-text("DEMO-2024-0001")');
    await row.getByLabel('Reason').fill('tested on staging');
    await row.locator('button:has-text("Approve")').click();
    await row.locator('p.approved:has-text("by user:dana")').waitFor();
    await row.locator('button:has-text("Withdraw approval")').click();
    await row.locator('p.approved').waitFor({ state: 'detached' });
    // Run 1: the preview names exactly what starts, and what is left out.
    await page.click('button:has-text("Start a run…")');
    // The heading comes first; the preview's hosts when the API answers.
    await page.waitForSelector('.preview p:has-text("at a time")');
    const preview = (await page.locator('.preview').textContent()) ?? '';
    expect(preview).toContain('2 hosts');
    expect(preview).toMatch(/web-01canary\s*now \(emergency\)/);
    expect(preview).toContain('web-02');
    expect(preview).toContain('demo-azl3-vm');
    await check(page, 'run-preview');
    await page.click('button:has-text("Start the run on 2 hosts")');
    await page.waitForSelector('h1:has-text("Run 1 of demo-monthly")');
    // web-01's emergency part goes at once and fails (nothing answers on port 1): the reason is on sight, the run halts.
    await page.waitForSelector('section[aria-label="host web-01"] .failure', { timeout: 60_000 });
    expect(await page.locator('section[aria-label="host web-01"] .failure').first().textContent()).toMatch(/Why: .*127\.0\.0\.1/);
    await page.waitForSelector('h1 .status-halted', { timeout: 60_000 });
    await check(page, 'run-halted');
    await page.click('button:has-text("Cancel run")');
    await page.click('button:has-text("Yes, cancel run")');
    await page.waitForSelector('h1 .status-cancelled', { timeout: 60_000 });
    expect(await page.locator('main button').count()).toBe(0);
    // Hold the critical advisory with a reason and an expiry: the emergency part leaves the plan.
    await go(page, '/policies/demo-monthly', 'Plan of demo-monthly');
    const golang = page.locator('.decision-row:has-text("DEMO-2024-0002")');
    await golang.getByLabel('Reason').fill('vendor build breaks the proxy');
    await golang.getByLabel('Hold until').fill('2099-01-31');
    await golang.locator('button:has-text("Hold")').click();
    await golang.locator('p.held:has-text("vendor build breaks the proxy")').waitFor();
    expect(await golang.locator('p.held').textContent()).toContain('2099');
    await page.waitForSelector('text=No emergency rule applies now.');
    // Run 2 waits for the canary's window: paused, resumed, cancelled.
    await page.click('button:has-text("Start a run…")');
    await page.waitForSelector('button:has-text("Start the run on 2 hosts")');
    expect(await page.locator('.preview').textContent()).toContain('wednesday-night');
    await page.click('button:has-text("Start the run on 2 hosts")');
    await page.waitForSelector('h1:has-text("Run 2 of demo-monthly")');
    await page.waitForSelector('h1 .status-waiting', { timeout: 60_000 });
    await page.click('button:has-text("Pause")');
    await page.waitForSelector('h1 .status-paused');
    await check(page, 'run');
    await page.click('button:has-text("Resume")');
    await page.waitForSelector('h1 .status-waiting');
    await page.click('button:has-text("Cancel run")');
    await page.click('button:has-text("Yes, cancel run")');
    await page.waitForSelector('h1 .status-cancelled', { timeout: 60_000 });
    // The hold is lifted from the plan page.
    await go(page, '/policies/demo-monthly', 'Plan of demo-monthly');
    await golang.locator('button:has-text("Lift hold")').click();
    await golang.locator('p.held').waitFor({ state: 'detached' });
    await go(page, '/runs', 'Patch runs');
    await check(page, 'runs');
    const audit = (await (await page.request.get(`${url}/api/v1/audit?limit=200`)).json()) as { items: { actor: string; action: string }[] };
    const mine = audit.items.filter((a) => a.actor === 'user:dana').map((a) => a.action);
    expect(mine.filter((a) => a.startsWith('advisory.') || a.startsWith('run.')).sort()).toEqual(
      // Run 1 halted on its own (run.end, by whoever started it); run 2 was cancelled.
      [
        'advisory.approve',
        'advisory.unapprove',
        'advisory.hold',
        'advisory.unhold',
        'run.start',
        'run.end',
        'run.cancel',
        'run.start',
        'run.pause',
        'run.resume',
        'run.cancel',
      ].sort(),
    );
    expect(problems).toEqual([]);
  }, 180_000);

  it("as operator: accepts a finding's risk on the host page with a reason and an expiry, sees who accepted it, and revokes it", async () => {
    const { page, problems } = await login('dana');
    await go(page, '/hosts/web-02', 'web-02');
    const open = page.locator('h2:has-text("Open findings") + table tr', { has: page.locator('td', { hasText: /^openssl$/ }) });
    await open.locator('button:has-text("Accept risk")').click();
    await open.getByLabel('Reason').fill('internal only, behind the proxy');
    await open.getByLabel('Until').fill('2099-06-30');
    await open.getByRole('button', { name: 'Accept', exact: true }).click();
    await page.waitForSelector('h2:has-text("Accepted risks (1)")');
    const accepted = page.locator('h2:has-text("Accepted risks") + table tr', { has: page.locator('td', { hasText: /^openssl$/ }) });
    expect(await accepted.textContent()).toMatch(/accepted by user:dana: “internal only, behind the proxy” until .*2099/);
    await check(page, 'host-accepted-risk');
    const listed = (await (await page.request.get(`${url}/api/v1/findings?status=accepted`)).json()) as { items: Record<string, unknown>[] };
    expect(listed.items.map((f) => [f['targetName'], f['advisoryId'], f['package'], f['acceptedBy'], f['acceptedUntil']])).toEqual([
      ['web-02', 'DEMO-2024-0001', 'openssl', 'user:dana', '2099-06-30T23:59:59.000Z'],
    ]);
    await accepted.locator('button:has-text("Revoke")').click();
    await page.waitForSelector('h2:has-text("Accepted risks")', { state: 'detached' });
    await open.locator('button:has-text("Accept risk")').waitFor();
    const audit = (await (await page.request.get(`${url}/api/v1/audit?limit=200`)).json()) as { items: { actor: string; action: string }[] };
    expect(audit.items.filter((a) => a.actor === 'user:dana' && a.action.startsWith('finding.')).map((a) => a.action)).toEqual([
      'finding.unaccept',
      'finding.accept',
    ]);
    expect(problems).toEqual([]);
  }, 120_000);

  it('as viewer: reads every page, sees no action it cannot take; findings grouped, filtered in the URL', async () => {
    const { page, problems } = await login('vera');
    const nav = await page.locator('nav[aria-label=main] a').allTextContents();
    expect(nav).not.toContain('Audit');
    expect(nav).not.toContain('Tokens');
    expect(nav).not.toContain('Users');
    await go(page, '/findings', 'Findings');
    await page.waitForSelector('.pager span:has-text("of 4")');
    // One row per fix: openssl and openssl-libs under DEMO-2024-0001, on three hosts.
    const openssl = page.locator('tr:has-text("DEMO-2024-0001")');
    expect(await openssl.locator('td').nth(4).textContent()).toBe('3');
    expect(await openssl.locator('summary').textContent()).toBe('2 binaries: openssl, openssl-libs');
    await check(page, 'findings-by-advisory');
    await page.getByLabel('Group by').selectOption('source');
    await page.getByLabel('Least severity').selectOption('critical');
    await page.waitForSelector('.pager span:has-text("1–1 of 1")');
    expect(page.url()).toContain('by=source');
    expect(page.url()).toContain('severity=critical');
    // The URL is the view: opened afresh, it shows the same.
    await page.goto(page.url());
    await page.waitForSelector('td:has-text("golang")');
    await check(page, 'findings-by-source');
    // The risk filter (issue #17): no CVE of this store is known exploited, so nothing is kept; in the URL too.
    await page.getByLabel('Risk').selectOption('kev');
    await page.waitForSelector('p:has-text("No findings match.")');
    expect(page.url()).toContain('kev=true');
    await page.getByLabel('Risk').selectOption('');
    await page.waitForSelector('td:has-text("golang")');
    expect(page.url()).not.toContain('kev=');
    await page.goto(`${url}/findings`);
    await page.click('a:has-text("DEMO-2024-0005")');
    await page.waitForSelector('h1:has-text("DEMO-2024-0005")');
    expect(await page.textContent('main')).toContain('Fixes per release');
    expect(await page.locator('button:has-text("Approve")').count()).toBe(0);
    await check(page, 'advisory');
    await page.click('a:has-text("CVE-2024-0006")');
    await page.waitForSelector('h1:has-text("CVE-2024-0006")');
    // The heading is the URL's; the advisories naming the CVE come after it (a fetch of their own).
    await page.locator('main').getByText('DEMO-2024-0005').first().waitFor();
    await check(page, 'cve');
    await go(page, '/advisories?q=openssl', 'Advisories');
    await page.waitForSelector('td:has-text("DEMO-2024-0001")');
    await check(page, 'advisories');
    await go(page, '/policies', 'Policies');
    await check(page, 'policies');
    await go(page, '/policies/demo-monthly', 'Plan of demo-monthly');
    await page.waitForSelector('h2:has-text("Decisions")');
    expect(await page.locator('button:has-text("Start a run")').count()).toBe(0);
    expect(await page.locator('main button:has-text("Approve"), main button:has-text("Hold")').count()).toBe(0);
    await go(page, '/runs/2', 'Run 2');
    expect(await page.locator('button:has-text("Resume"), button:has-text("Cancel run"), button:has-text("Pause")').count()).toBe(0);
    await go(page, '/hosts', 'Hosts');
    expect(await page.locator('form[aria-label="add a host"]').count()).toBe(0);
    await go(page, '/hosts/web-01', 'web-01');
    expect(await page.locator('main button').count()).toBe(0);
    await go(page, '/feeds', 'Feeds');
    await page.waitForSelector('td:has-text("mirror-osv")');
    expect(await page.locator('main button').count()).toBe(0);
    await go(page, '/agents', 'Agents');
    expect(await page.locator('main button, main form').count()).toBe(0);
    // Dark mode: the toggle sets the theme; axe checks its contrast too.
    await page.click('button:has-text("Dark mode")');
    expect(await page.locator('html[data-theme=dark]').count()).toBe(1);
    await go(page, '/', 'Fleet overview');
    // Exposure by severity over time: one line per severity, with its legend.
    const bySeverity = page.locator('figure:has(svg[aria-label="Open findings per day and severity over the last 30 days"])');
    expect((await bySeverity.locator('.legend li').allTextContents()).map((t) => t.trim())).toEqual(['critical', 'high', 'medium', 'low']);
    expect(await bySeverity.locator('.series').count()).toBe(4);
    await check(page, 'overview-dark');
    expect(problems).toEqual([]);
    expect(accessibility).toEqual([]);
  }, 180_000);
});
