/**
 * The built dashboard in a real browser against the real Tickline server: one platform started in
 * process (simulated feed, quality gate, zones, DuckDB store, authentication on) on a temporary data
 * directory, and the page served by it from web/dist. Checks sign-in, live prices and health, the symbol
 * page's chart and live ticks, the quality runs and quarantine, the sources, the admin page and its
 * refusal for a viewer, logout, and that the page loads nothing from another host and raises no page
 * error or Content-Security-Policy violation.
 *
 * Needs Chromium: TICKLINE_TEST_CHROMIUM names the executable, else /usr/bin/chromium or
 * /usr/bin/chromium-browser is used; without one the suite is skipped with a visible message.
 * Builds web/dist first (the server serves that directory), so it never tests a stale bundle.
 *
 * With TICKLINE_SCREENSHOTS=1 it also writes docs/screenshots/*.png (1280×800, dark theme, plus
 * overview-light.png); without it no file in the repository is touched.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = [process.env.TICKLINE_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && p !== '' && existsSync(p));
const skip = CHROMIUM === undefined ? 'no Chromium found: set TICKLINE_TEST_CHROMIUM to run the browser tests' : false;
if (skip) console.log(`# SKIP web/test/server.browser.test.ts: ${skip}`);

const SCREENSHOTS = process.env.TICKLINE_SCREENSHOTS === '1';
const SHOTS_DIR = path.join(ROOT, 'docs', 'screenshots');
/** How much history the screenshots wait for. */
const SCREENSHOT_SECONDS = 120;

const ADMIN_PASSWORD = 'browser-suite-admin-password';
const VIEWER_PASSWORD = 'browser-suite-viewer-password';
const SESSION_COOKIE = 'tickline_session';
const TIMEOUT = 15_000;

/**
 * The server's modules are loaded at run time by path: web/tsconfig.json type-checks web/ only (its
 * rootDir), so a static import of src/ would pull the whole server into the page's type check. These
 * are the few parts of them this test uses.
 */
interface Platform {
  readonly url: string | null;
  stop(): Promise<void>;
}
interface ServerModules {
  loadConfig(opts: { env: Record<string, string>; overrides: Record<string, unknown> }): { readonly symbols: readonly string[] };
  silentLogger(): unknown;
  startPlatform(opts: { config: unknown; logger: unknown }): Promise<Platform>;
}

async function serverModules(): Promise<ServerModules> {
  const load = async (file: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(path.join(ROOT, 'src', file)).href)) as Record<string, unknown>;
  const [config, log, platform] = await Promise.all([load('config/load.ts'), load('core/log.ts'), load('roles/platform.ts')]);
  return { loadConfig: config.loadConfig, silentLogger: log.silentLogger, startPlatform: platform.startPlatform } as ServerModules;
}

let platform: Platform;
let url: string;
let dataDir: string;
let browser: Browser;
let symbols: readonly string[];
const foreignRequests: string[] = [];
const pageErrors: string[] = [];

/** A page in a new browser context; any request it makes outside `origin` is recorded as foreign. */
async function newPage(colorScheme: 'dark' | 'light' = 'dark', origin?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('request', (r) => {
    if (!r.url().startsWith(`${origin ?? url}/`) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // The server sends the page with a strict Content-Security-Policy; Chrome reports violations here.
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) pageErrors.push(m.text());
  });
  return page;
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

/** A new page signed in as `username`, showing `hash` and the live stream running. */
async function signedIn(username: string, password: string, hash = '#/', colorScheme: 'dark' | 'light' = 'dark'): Promise<Page> {
  const page = await newPage(colorScheme);
  await page.goto(`${url}/${hash}`);
  await signIn(page, username, password);
  await page.getByTestId('user-badge').filter({ hasText: username }).waitFor();
  await page.getByTestId('live-indicator').and(page.locator('[data-state=live]')).waitFor();
  return page;
}

/** Logs in with fetch: the cookie header and the CSRF token of a new session. */
async function apiLogin(username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal(res.status, 200, `login of ${username}`);
  const body = (await res.json()) as { csrf: string };
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(cookie, 'the login sets the session cookie');
  return { cookie: cookie.split(';')[0]!, csrf: body.csrf };
}

async function apiPost(session: { cookie: string; csrf: string }, route: string, body: unknown): Promise<Response> {
  return fetch(`${url}${route}`, {
    method: 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), cookie: session.cookie, 'x-csrf-token': session.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * Repeats `refresh` (a click on a reload button of the page) until `check` holds in the page, a few times
 * a second, for at most `ms`.
 */
async function pollPage(page: Page, check: () => boolean, refresh: () => Promise<void>, what: string, ms = TIMEOUT): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await page.evaluate(check)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await refresh();
    await page.waitForTimeout(300);
  }
}

/**
 * How many pixel rows of the chart's largest canvas (the candlestick pane) hold the theme's up or down
 * colour. A drawn chart has candles over most of the pane's height; a blank one has none, and the
 * last-price line alone covers a row or two.
 */
function candleRows(): number {
  const rgb = (name: string): number[] | null => {
    const m = /^#([0-9a-f]{6})$/i.exec(getComputedStyle(document.documentElement).getPropertyValue(name).trim());
    return m ? [0, 2, 4].map((i) => parseInt(m[1]!.slice(i, i + 2), 16)) : null;
  };
  const colours = [rgb('--up'), rgb('--down')].filter((c): c is number[] => c !== null);
  const canvases = [...document.querySelectorAll<HTMLCanvasElement>('[data-testid=chart] canvas')];
  const largest = Math.max(0, ...canvases.map((c) => c.width * c.height));
  let best = 0;
  for (const c of canvases) {
    if (largest === 0 || c.width * c.height !== largest) continue;
    const ctx = c.getContext('2d');
    if (ctx === null) continue;
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    let rows = 0;
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (data[i + 3]! > 200 && colours.some(([r, g, b]) => Math.abs(data[i]! - r!) < 16 && Math.abs(data[i + 1]! - g!) < 16 && Math.abs(data[i + 2]! - b!) < 16)) {
          rows++;
          break;
        }
      }
    }
    best = Math.max(best, rows);
  }
  return best;
}

/** Page-side condition: candles over more than 60 pixel rows of the pane (which is some 320 rows high). */
const CHART_DRAWN = `(${candleRows.toString()})() > 60`;

/**
 * Saves the viewport as docs/screenshots/<name>.png: scrolled to the top (clicks scroll their target into
 * view), or with the element `focus` names about 290 px down, so what is above it shows too.
 */
async function shoot(page: Page, name: string, focus?: string): Promise<void> {
  await page.mouse.move(0, 0); // no hover state or crosshair in the picture
  await page.evaluate((sel) => {
    const el = sel === undefined ? null : document.querySelector(sel);
    window.scrollTo(0, el === null ? 0 : Math.max(0, el.getBoundingClientRect().top + window.scrollY - 290));
  }, focus);
  await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`) });
}

const cellText = (testid: string, cell: string) => `[data-testid=${testid}] ${cell}`;

describe('dashboard in a browser against the real server', { skip, timeout: SCREENSHOTS ? 300_000 : 90_000 }, () => {
  before(async () => {
    // The server serves web/dist from the repository: build it from the current sources first.
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT, timeout: 30_000 });
    const { loadConfig, silentLogger, startPlatform } = await serverModules();
    dataDir = await mkdtemp(path.join(tmpdir(), 'tickline-web-server-'));
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        // Quarantine files become visible once completed: complete them every second, not every minute.
        zones: `file://${dataDir}/zones?rollMs=1000`,
        port: 0,
        host: '127.0.0.1',
        simRate: 20,
        simBadFraction: 0.02,
        qualityRunSeconds: 2,
        auth: true,
        adminPassword: ADMIN_PASSWORD,
        logLevel: 'silent',
        quiet: true,
      },
    });
    symbols = config.symbols;
    platform = await startPlatform({ config, logger: silentLogger() });
    assert.ok(platform.url, 'the api role listens');
    url = platform.url;

    const admin = await apiLogin('admin', ADMIN_PASSWORD);
    const user = await apiPost(admin, '/v1/admin/users', { username: 'viewer', password: VIEWER_PASSWORD, role: 'viewer' });
    assert.equal(user.status, 201, await user.clone().text());
    const key = await apiPost(admin, '/v1/admin/keys', { name: 'feed-loader', scopes: ['ingest'] });
    assert.equal(key.status, 201, await key.clone().text());
    assert.equal((await apiPost(admin, '/auth/logout', undefined)).status, 204);

    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
    if (SCREENSHOTS) await mkdir(SHOTS_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a wrong password with a visible message and starts no session', async () => {
    const page = await newPage();
    await page.goto(`${url}/`);
    await page.getByTestId('login-form').waitFor();
    await signIn(page, 'admin', 'not-the-admin-password');
    const error = page.getByTestId('login-error');
    await error.filter({ hasText: 'Wrong username or password.' }).waitFor();
    assert.equal(await error.isVisible(), true);
    assert.equal(await page.getByTestId('login-form').isVisible(), true, 'still on the sign-in form');
    assert.deepEqual((await page.context().cookies()).filter((c) => c.name === SESSION_COOKIE), [], 'no session cookie');
    assert.equal(await page.evaluate(async () => (await fetch('/auth/me')).status), 401);
    await page.context().close();
  });

  it('shows live prices that change and health cards with figures from the stats event', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD);
    for (const s of symbols) await page.getByTestId(`price-${s}`).waitFor();
    assert.equal(await page.getByTestId('prices-table').locator('tbody tr[data-symbol]').count(), symbols.length, 'one row per simulated symbol');

    // AAPL starts near 190 in the simulation: two decimals, no thousands separator; BTC-USD has one.
    await page.waitForFunction((sel) => /^\d{3}\.\d{2}$/.test(document.querySelector(sel)?.textContent ?? ''), cellText('price-AAPL', 'td.price'));
    await page.waitForFunction((sel) => /^\d{2},\d{3}\.\d{2}$/.test(document.querySelector(sel)?.textContent ?? ''), cellText('price-BTC-USD', 'td.price'));
    const first = await page.getByTestId('price-AAPL').locator('td.price').textContent();
    await page.waitForFunction(([sel, before]) => document.querySelector(sel!)?.textContent !== before, [cellText('price-AAPL', 'td.price'), first]);
    assert.ok((await page.getByTestId('price-AAPL').locator('svg path').getAttribute('d'))?.startsWith('M0,'), 'sparkline drawn');

    // Ticks/s is null in the first stats event (no interval yet) and a rate from the second on.
    await page.waitForFunction((sel) => /^[1-9][\d,]*\/s$/.test(document.querySelector(sel)?.textContent ?? ''), cellText('health-ticks', '.card-value'));
    await page.waitForFunction((sel) => /^\d[\d,]*$/.test(document.querySelector(sel)?.textContent ?? ''), cellText('health-quarantined', '.card-value'));
    await page.waitForFunction((sel) => /\d/.test(document.querySelector(sel)?.textContent ?? ''), cellText('health-lag', '.card-value'));
    await page.waitForFunction((sel) => /\d/.test(document.querySelector(sel)?.textContent ?? ''), cellText('health-quality', '.card-value'));
    await page.context().close();
  });

  it('draws the chart on the symbol page and follows new ticks', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD);
    await page.getByTestId('price-AAPL').locator('td.price').click();
    await page.waitForURL(/#\/symbol\/AAPL$/);
    const bars = page.waitForResponse((r) => r.url().includes('/v1/bars?') && r.url().includes('interval=1s'));
    await page.getByTestId('interval-1s').click();
    assert.equal((await bars).status(), 200);
    assert.equal(await page.getByTestId('interval-1s').getAttribute('aria-pressed'), 'true');

    await page.getByTestId('chart').locator('canvas').first().waitFor();
    await page.waitForFunction(CHART_DRAWN, undefined, { polling: 250 });

    // A new tick reaches the recent-ticks table (newest first) and the quote header.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticks-table] tbody tr').length >= 10);
    const newest = await page.getByTestId('ticks-table').locator('tbody tr').first().textContent();
    await page.waitForFunction((before) => document.querySelector('[data-testid=ticks-table] tbody tr')?.textContent !== before, newest);
    await page.waitForFunction(() => /^\d{3}\.\d{2}$/.test(document.querySelector('[data-testid=symbol-price]')?.textContent ?? ''));
    const price = await page.getByTestId('symbol-price').textContent();
    await page.waitForFunction((before) => document.querySelector('[data-testid=symbol-price]')?.textContent !== before, price);
    await page.context().close();
  });

  it('lists validation runs and quarantined rows on the quality page', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD, '#/quality');
    await page.getByTestId('runs-table').locator('tbody tr[data-run]').first().waitFor();
    // Runs last 2 s with 2% bad ticks: a finished run with failed rows comes within a few seconds.
    await pollPage(
      page,
      () => [...document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run]')].some((tr) => tr.querySelector('.badge')?.textContent === 'FAIL' && Number(tr.children[7]?.textContent?.replace(/,/g, '')) > 0),
      () => page.getByRole('button', { name: 'Refresh' }).click(),
      'a finished run with failed rows',
    );
    const runs = await page.getByTestId('runs-table').locator('tbody tr[data-run]').count();
    assert.ok(runs >= 2 && runs <= 20, `runs listed: ${runs}`);
    await pollPage(
      page,
      () => document.querySelectorAll('[data-testid=quarantine-table] tbody tr .badge').length > 0,
      () => page.getByTestId('quarantine-filters').getByRole('button', { name: 'Apply' }).click(),
      'quarantined rows',
    );
    const expectation = await page.getByTestId('quarantine-table').locator('tbody tr .badge').first().textContent();
    assert.match(expectation ?? '', /^[a-z0-9_]+$/, 'each row names the failed expectation');
    await page.context().close();
  });

  it('shows the simulated source with its rate on the sources page', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD, '#/sources');
    const row = page.getByTestId('source-sim');
    await row.locator('.badge').filter({ hasText: 'healthy' }).waitFor();
    // 20 updates a second for each of the symbols, measured by the source over its last five seconds.
    const expected = 20 * symbols.length;
    await page.waitForFunction(
      (want) => {
        const rate = Number(document.querySelector('[data-testid=source-sim] td.num')?.textContent?.replace(/,/g, ''));
        return rate >= want * 0.5 && rate <= want * 1.5;
      },
      expected,
    );
    assert.equal(await page.getByTestId('sources-table').locator('tbody tr[data-testid^=source-]').count(), 1);
    await page.context().close();
  });

  it('shows users, keys and a verified audit chain to an admin, and nothing of it to a viewer', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD, '#/admin');
    await page.getByTestId('audit-verify').and(page.locator('[data-state=ok]')).filter({ hasText: 'intact' }).waitFor();
    const users = page.getByTestId('users-table').locator('tbody tr');
    await users.filter({ hasText: 'viewer' }).waitFor();
    assert.equal(await users.count(), 2);
    await page.getByTestId('keys-table').locator('tbody tr').filter({ hasText: 'feed-loader' }).filter({ hasText: 'active' }).waitFor();
    await page.getByTestId('audit-table').locator('tbody tr').filter({ hasText: 'user.add' }).first().waitFor();
    await page.getByTestId('audit-table').locator('tbody tr').filter({ hasText: 'key.create' }).first().waitFor();
    await page.context().close();

    const viewer = await signedIn('viewer', VIEWER_PASSWORD);
    assert.equal(await viewer.getByTestId('nav-admin').count(), 0, 'no admin link for a viewer');
    await viewer.goto(`${url}/#/admin`);
    await viewer.getByText('Administrators only').waitFor();
    const answer = await viewer.evaluate(async () => {
      const res = await fetch('/v1/admin/users');
      return { status: res.status, body: (await res.json()) as { code?: string } };
    });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.code, 'TL_ERR_FORBIDDEN');
    // Everything else a viewer may read: live prices reach the overview.
    await viewer.goto(`${url}/#/`);
    await viewer.getByTestId('price-AAPL').locator('td.price').filter({ hasText: /\d/ }).waitFor();
    await viewer.context().close();
  });

  it('returns to the sign-in form on logout, and the old session cookie no longer works', async () => {
    const page = await signedIn('admin', ADMIN_PASSWORD);
    const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie, 'signed in with a session cookie');
    assert.equal(cookie.httpOnly, true);
    const header = `${SESSION_COOKIE}=${cookie.value}`;
    assert.equal((await fetch(`${url}/auth/me`, { headers: { cookie: header } })).status, 200);

    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
    assert.equal(await page.getByTestId('live-indicator').count(), 0);
    assert.equal(await page.evaluate(async () => (await fetch('/auth/me')).status), 401);
    // The server ended the session: the cookie's value is refused even when sent again.
    assert.equal((await fetch(`${url}/auth/me`, { headers: { cookie: header } })).status, 401);
    assert.equal((await fetch(`${url}/v1/symbols`, { headers: { cookie: header } })).status, 401);
    await page.context().close();
  });

  it('opens without a sign-in and offers no logout when authentication is off', async () => {
    const { loadConfig, silentLogger, startPlatform } = await serverModules();
    const dir = await mkdtemp(path.join(tmpdir(), 'tickline-web-authoff-'));
    const open = await startPlatform({
      config: loadConfig({ env: {}, overrides: { dataDir: dir, port: 0, host: '127.0.0.1', simRate: 0, auth: false, logLevel: 'silent', quiet: true } }),
      logger: silentLogger(),
    });
    try {
      const base = open.url!;
      const page = await newPage('dark', base);
      await page.goto(`${base}/`);
      await page.getByTestId('live-indicator').and(page.locator('[data-state=live]')).waitFor();
      assert.equal(await page.getByTestId('login-form').count(), 0, 'no sign-in form');
      assert.equal(await page.getByTestId('user-badge').textContent(), 'localadmin');
      assert.equal(await page.getByTestId('logout').count(), 0, 'nothing to sign out of');
      await page.goto(`${base}/#/admin`);
      await page.getByTestId('users-table').getByText('authentication is switched off').waitFor();
      await page.context().close();
    } finally {
      await open.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  // A tool rather than a check: it rewrites files in the repository, so it is registered only on request.
  if (SCREENSHOTS) it('writes the screenshots of every page (TICKLINE_SCREENSHOTS=1)', async () => {
    const login = await newPage();
    await login.goto(`${url}/`);
    await login.getByTestId('login-username').fill('admin');
    await shoot(login, 'login');
    await login.context().close();

    const page = await signedIn('admin', ADMIN_PASSWORD);
    // Two minutes of data: a chart of 1s candles across most of its width and a full throughput trend.
    const barCount = async (): Promise<number> =>
      page.evaluate(async () => ((await (await fetch('/v1/bars?symbol=BTC-USD&interval=1s&limit=500')).json()) as { bars: unknown[] }).bars.length);
    const end = Date.now() + (SCREENSHOT_SECONDS + 30) * 1000;
    while ((await barCount()) < SCREENSHOT_SECONDS) {
      assert.ok(Date.now() < end, `waiting for ${SCREENSHOT_SECONDS} one-second bars`);
      await page.waitForTimeout(2000);
    }
    for (const s of symbols) await page.getByTestId(`price-${s}`).locator('td.price').filter({ hasText: /\d/ }).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=health-cards] .card-value')].every((e) => /\d/.test(e.textContent ?? '')));
    // A few seconds of sparkline and throughput trend.
    await page.waitForFunction(() => (document.querySelector('[data-testid=health-ticks] svg path')?.getAttribute('d') ?? '').split('L').length >= 8);
    await shoot(page, 'overview');

    await page.goto(`${url}/#/symbol/BTC-USD`);
    await page.getByTestId('interval-1s').click();
    await page.waitForFunction(CHART_DRAWN, undefined, { polling: 250 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=ticks-table] tbody tr').length >= 20);
    await shoot(page, 'symbol');

    await page.goto(`${url}/#/quality`);
    await page.getByTestId('runs-table').locator('tbody tr[data-run]').nth(4).waitFor();
    await pollPage(
      page,
      () => document.querySelectorAll('[data-testid=quarantine-table] tbody tr .badge').length >= 3,
      () => page.getByTestId('quarantine-filters').getByRole('button', { name: 'Apply' }).click(),
      'quarantined rows',
    );
    await shoot(page, 'quality', '[data-testid=quarantine-panel]');

    await page.goto(`${url}/#/sources`);
    await page.getByTestId('source-sim').locator('.badge').filter({ hasText: 'healthy' }).waitFor();
    await shoot(page, 'sources');

    await page.goto(`${url}/#/admin`);
    await page.getByTestId('audit-verify').and(page.locator('[data-state=ok]')).waitFor();
    await page.getByTestId('keys-table').locator('tbody tr').filter({ hasText: 'feed-loader' }).waitFor();
    await shoot(page, 'admin');
    await page.context().close();

    const light = await signedIn('admin', ADMIN_PASSWORD, '#/', 'light');
    assert.equal(await light.locator('html').getAttribute('data-theme'), 'light');
    for (const s of symbols) await light.getByTestId(`price-${s}`).locator('td.price').filter({ hasText: /\d/ }).waitFor();
    await light.waitForFunction(() => (document.querySelector('[data-testid=health-ticks] svg path')?.getAttribute('d') ?? '').split('L').length >= 8);
    await shoot(light, 'overview-light');
    await light.context().close();
  });

  it('loaded nothing from other hosts and raised no page error or CSP violation', () => {
    assert.deepEqual(foreignRequests, []);
    assert.deepEqual(pageErrors, []);
  });
});
