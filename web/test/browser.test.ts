/**
 * The built dashboard in a real browser against web/dev/mock-server.ts (the server's contract with
 * simulated data): sign-in errors and lock-out, live prices, the symbol page, reconnection, roles, theme
 * and logout. Needs Chromium: TICKLINE_TEST_CHROMIUM names the executable, else /usr/bin/chromium or
 * /usr/bin/chromium-browser is used; without one the suite is skipped with a visible message.
 * Builds the current sources into a temporary directory first, so it never tests a stale web/dist.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEMO_PASSWORD, startMockServer, type MockServer } from '../dev/mock-server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = [process.env.TICKLINE_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && p !== '' && existsSync(p));
const skip = CHROMIUM === undefined ? 'no Chromium found: set TICKLINE_TEST_CHROMIUM to run the browser tests' : false;
if (skip) console.log(`# SKIP web/test/browser.test.ts: ${skip}`);

const TIMEOUT = 10_000;
let server: MockServer;
let browser: Browser;
let distDir: string;
const foreignRequests: string[] = [];
const pageErrors: string[] = [];

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // The mock serves the page with a strict Content-Security-Policy; Chrome reports violations here.
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) pageErrors.push(m.text());
  });
  return page;
}

async function signIn(page: Page, username: string, password = DEMO_PASSWORD): Promise<void> {
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

describe('dashboard in a browser', { skip, timeout: 90_000 }, () => {
  before(async () => {
    distDir = await mkdtemp(path.join(tmpdir(), 'tickline-web-'));
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs'), '--outdir', distDir], { cwd: ROOT, timeout: 30_000 });
    server = await startMockServer({ tickMs: 25, distDir });
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (distDir) await rm(distDir, { recursive: true, force: true });
  });

  it('says when the credentials are wrong, and shows the lock with its time left', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/`);
    await signIn(page, 'viewer', 'not-the-password');
    await assert.doesNotReject(page.getByTestId('login-error').filter({ hasText: 'Wrong username or password.' }).waitFor());
    for (let i = 0; i < 4; i++) {
      await signIn(page, 'viewer', 'not-the-password');
      await page.getByTestId('login-submit').filter({ hasText: 'Sign in' }).waitFor();
    }
    await signIn(page, 'viewer'); // right password, but the name is locked now
    await page.getByTestId('login-error').filter({ hasText: 'locked' }).waitFor();
    assert.match((await page.getByTestId('login-error').textContent()) ?? '', /Try again in 1[45] min \d\d s/);
    assert.equal(await page.getByTestId('login-submit').isDisabled(), true);
    await page.context().close();
  });

  it('shows live prices, health and a live indicator, and opens the symbol page from a row', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/`);
    await signIn(page, 'admin');
    const row = page.getByTestId('price-BTC-USD');
    await row.waitFor();
    await page.getByTestId('live-indicator').and(page.locator('[data-state=live]')).waitFor();
    // Thousands separators and two decimals for BTC, four decimals below 1.
    await page.waitForFunction(() => /^\d{2},\d{3}\.\d{2}$/.test(document.querySelector('[data-testid=price-BTC-USD] td.price')?.textContent ?? ''));
    await page.waitForFunction(() => /^0\.\d{4}$/.test(document.querySelector('[data-testid=price-DOGE] td.price')?.textContent ?? ''));
    const first = await row.locator('td.price').textContent();
    await page.waitForFunction((before) => document.querySelector('[data-testid=price-BTC-USD] td.price')?.textContent !== before, first);
    assert.ok((await row.locator('svg path').getAttribute('d'))?.startsWith('M0,'), 'sparkline drawn');
    await page.getByTestId('health-ticks').locator('.card-value').filter({ hasText: '/s' }).waitFor();
    assert.equal(await page.getByTestId('prices-table').locator('tbody tr').count(), 7, 'one row per symbol, never re-created');

    await row.locator('td.price').click();
    await page.waitForURL(/#\/symbol\/BTC-USD$/);
    await page.getByTestId('chart').locator('canvas').first().waitFor();
    assert.equal(await page.getByTestId('interval-1m').getAttribute('aria-pressed'), 'true');
    // Live ticks reach the ticks table (the stream was reopened with ?symbol=).
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticks-table] tbody tr').length >= 60);
    assert.ok((await page.getByTestId('ticks-table').locator('tbody tr').count()) <= 100, 'the ticks table is bounded');

    const barsRequest = page.waitForRequest((r) => r.url().includes('/v1/bars?') && r.url().includes('interval=1s'));
    await page.getByTestId('interval-1s').click();
    await barsRequest;
    assert.equal(await page.getByTestId('interval-1s').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('interval-1m').getAttribute('aria-pressed'), 'false');
    await page.context().close();
  });

  it('shows reconnecting when the stream drops and goes live again', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/`);
    await signIn(page, 'admin');
    const live = page.getByTestId('live-indicator');
    await live.and(page.locator('[data-state=live]')).waitFor();
    server.dropStreams();
    await live.and(page.locator('[data-state=reconnecting]')).waitFor();
    await live.and(page.locator('[data-state=live]')).waitFor({ timeout: 8000 });
    await page.context().close();
  });

  it('hides the admin page from other roles and shows it to admins', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/#/admin`);
    await signIn(page, 'analyst');
    await page.getByText('Administrators only').waitFor();
    assert.equal(await page.getByTestId('nav-admin').count(), 0);
    assert.equal(await page.getByTestId('user-badge').textContent(), 'analystanalyst');
    await page.context().close();

    const admin = await newPage();
    await admin.goto(`${server.url}/#/admin`);
    await signIn(admin, 'admin');
    await admin.getByTestId('audit-verify').filter({ hasText: 'intact' }).waitFor();
    assert.equal(await admin.getByTestId('users-table').locator('tbody tr').count(), 3);
    await admin.context().close();
  });

  it('remembers the theme and logs out with the CSRF token', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/#/quality`);
    await signIn(page, 'admin');
    await page.getByTestId('runs-table').locator('tbody tr[data-run]').first().waitFor();
    const html = page.locator('html');
    const before = await html.getAttribute('data-theme');
    await page.getByTestId('theme-toggle').click();
    const after = await html.getAttribute('data-theme');
    assert.notEqual(after, before);
    await page.reload();
    await page.getByTestId('runs-table').waitFor();
    assert.equal(await html.getAttribute('data-theme'), after, 'kept across a reload');

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
    // The mock refuses a logout without the right x-csrf-token, so a 401 here proves it was sent.
    assert.equal(await page.evaluate(async () => (await fetch('/auth/me')).status), 401);
    await page.context().close();
  });

  it('loaded nothing from other hosts and raised no page error or CSP violation', () => {
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });
});
