import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { startServe } from './serve-process.js';
import { file, need, requires } from './needs.js';

/**
 * Issue #6's dashboard in a real headless Chromium (Debian's, driven by playwright-core) against
 * `bulwark serve --demo`: log in with a password and with the first admin token, navigate the
 * overview, hosts, a host, findings and runs, and take screenshots (test-results/screenshots).
 * Needs the built dashboard (npm run build writes dist/web).
 */
const CHROMIUM = '/usr/bin/chromium';
const repo = join(import.meta.dirname, '..');
const built = existsSync(join(repo, 'dist', 'web', 'index.html'));
const needs = requires(
  file(CHROMIUM, 'chromium (Debian package chromium)'),
  need('the built dashboard', built ? null : 'dist/web/index.html is missing: run npm run build (npm test does)'),
);
const shots = join(repo, 'test-results', 'screenshots');

needs.describe('the dashboard in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-web-'));
  const db = join(dir, 'web.db');
  let server: ChildProcess | undefined;
  let url = '';
  let token = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    expect((await runCli(['--db', db, 'users', 'set', 'dana', '--role', 'operator'], {}, 'dashboard passphrase 1\n')).code).toBe(0);
    const s = await startServe(['--db', db, 'serve', '--listen', '127.0.0.1:0', '--demo', '--no-scheduler']);
    server = s.child;
    url = s.url;
    token = s.token ?? '';
    const out = s.banner;
    expect(out).toContain(`dashboard: ${url}/`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    mkdirSync(shots, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with a password, shows the fleet, a host and its findings, and logs out; no script or CSP error', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401/.test(m.text())) problems.push(m.text());
    });
    await page.goto(url);
    await page.fill('input[name=user]', 'dana');
    await page.fill('input[name=password]', 'wrong password here');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=wrong user name or password');
    await page.fill('input[name=password]', 'dashboard passphrase 1');
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Fleet overview")');
    // The demo host: 6 findings, 1 critical, 4 high (what `bulwark demo` prints).
    expect(await page.textContent('[data-severity=critical] b')).toBe('1');
    expect(await page.textContent('[data-severity=high] b')).toBe('4');
    expect(await page.textContent('nav .who')).toBe('dana (operator)');
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

    await page.click('nav >> text=Hosts');
    await page.click('a:has-text("demo-azl3-vm")');
    await page.waitForSelector('h2:has-text("Open findings (6)")');
    expect(await page.locator('main section > table').first().locator('tbody tr').count()).toBe(6);
    // Its packages (the demo inventory has 10) and its history (nothing patched yet).
    await page.click('summary:has-text("Packages (10)")');
    await page.waitForSelector('td:has-text("openssl-libs")');
    expect(await page.textContent('main')).toContain('No patch run has touched this host.');
    await page.screenshot({ path: join(shots, 'host.png'), fullPage: true });

    await page.click('nav >> text=Findings');
    // Folded by advisory (issue #17): 6 findings, 4 fixes.
    await page.waitForSelector('.pager span:has-text("of 4")');
    await page.getByLabel('Least severity').selectOption('high');
    // The pager says when the filtered page has arrived (the page's CSP forbids evaluating strings).
    await page.waitForSelector('.pager span:has-text("1–3 of 3")');
    expect(await page.locator('main tbody tr').count()).toBe(3);
    await page.screenshot({ path: join(shots, 'findings.png'), fullPage: true });

    // A reload keeps the session (HttpOnly cookie; the CSRF token is fetched again).
    await page.reload();
    await page.waitForSelector('nav .who');
    await page.click('nav >> text=Runs');
    await page.waitForSelector('text=No run yet.');
    await page.click('nav >> text=Supply chain');
    await page.waitForSelector('text=No content view published yet (bulwark view publish).');
    expect(await page.textContent('main')).toContain('No image built yet');
    await page.click('nav >> text=Audit');
    await page.waitForSelector('td:has-text("session.start")');
    await page.click('nav button:has-text("Log out")');
    await page.waitForSelector('form.login');
    expect(problems).toEqual([]);
    for (const f of ['overview.png', 'host.png', 'findings.png']) expect(readFileSync(join(shots, f)).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);

  it('logs in with the first admin token serve printed', async () => {
    const page = await (browser as Browser).newPage();
    await page.goto(url);
    await page.click('button:has-text("API token")');
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Fleet overview")');
    expect(await page.textContent('nav .who')).toBe('first-admin (admin)');
    await page.click('nav >> text=Advisories');
    await page.fill('input[placeholder^=CVE]', 'openssl');
    await page.click('button:has-text("Search")');
    await page.waitForSelector('td:has-text("DEMO-2024-0001")');
    await page.screenshot({ path: join(shots, 'advisories.png'), fullPage: true });
  }, 60_000);
});
