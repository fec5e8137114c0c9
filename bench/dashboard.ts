/**
 * `npm run bench:dashboard`: the dashboard's costs on a server whose pipeline runs at full speed.
 *
 * The server is `tickline start` in its own process (simulated feed at TICKLINE_SIM_RATE=max,
 * authentication on), sampled once a second from the outside: CPU and RSS from /proc, ticks/s, V8 heap
 * and event-loop delay from its /metrics. In one run, in this order:
 *
 *   1. ceiling: the server with no live client, for BENCH_DASHBOARD_CEILING_SECONDS;
 *   2. first load: BENCH_DASHBOARD_LOADS page loads in Chromium, each in a fresh context (cold cache) with
 *      a session cookie: navigation → app shell → first live prices → first price change, and the bytes;
 *   3. live clients: BENCH_DASHBOARD_CLIENTS plain SSE clients on /v1/live for BENCH_DASHBOARD_SECONDS,
 *      counting events per client and second, with the server's CPU, RSS and heap, plus one slow client on
 *      /v1/live?symbol= that stops reading for most of the window;
 *   4. idle after: no client again, as long as the ceiling, to see what the clients left behind.
 *
 * One JSON line per measure on stdout (also written to bench/results/<name>.json), a readable summary on
 * stderr. Missed targets are reported, not failures: the exit code is non-zero only when the run broke.
 *
 * BENCH_DASHBOARD_CLIENTS=0 makes a control run: the same phases with no client at all (and no slow one),
 * to tell the pipeline's own memory trend from the clients'.
 *
 * Options: BENCH_DASHBOARD_SECONDS (300), BENCH_DASHBOARD_CLIENTS (50), BENCH_DASHBOARD_CEILING_SECONDS
 * (30), BENCH_DASHBOARD_LOADS (5; 0 skips the browser), BENCH_DASHBOARD_WARMUP_SECONDS (15),
 * BENCH_DASHBOARD_BUILD (1; 0 serves web/dist as it is), TICKLINE_TEST_CHROMIUM (the browser executable).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CSRF_HEADER, SESSION_COOKIE } from '../src/api/auth.ts';
import { WEB_DIST } from '../src/api/routes/web.ts';
import { DEFAULT_SYMBOLS } from '../src/config/schema.ts';
import { TicklineError, show } from '../src/core/errors.ts';
import { spawnRole, stopRole, type RoleProcess } from '../test/e2e/deployments.ts';
import { tempDir } from '../test/e2e/helpers.ts';
import { Reservoir, machineBusySeconds, mean, median, promValue, readProc, slope, tcpQueues } from './proc.ts';
import { SseClient } from './sse.ts';

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new TicklineError('TL_ERR_CONFIG', `${name}=${show(raw)}: expected a whole number ≥ ${min}`);
  return n;
}

const SECONDS = intEnv('BENCH_DASHBOARD_SECONDS', 300, 10);
const CLIENTS = intEnv('BENCH_DASHBOARD_CLIENTS', 50, 0);
const CEILING_SECONDS = intEnv('BENCH_DASHBOARD_CEILING_SECONDS', 30, 5);
const LOADS = intEnv('BENCH_DASHBOARD_LOADS', 5, 0);
const WARMUP_SECONDS = intEnv('BENCH_DASHBOARD_WARMUP_SECONDS', 15, 0);
const BUILD = process.env.BENCH_DASHBOARD_BUILD !== '0';
/** Names of the result lines: a control run's must not overwrite the real run's files. */
const PREFIX = CLIENTS === 0 ? 'dashboard-control' : 'dashboard';
/** The live clients' own warm-up, left out of every figure. */
const CLIENT_WARMUP_SECONDS = 10;
/**
 * The slow client stops reading at the start of the window, for this share of it. Long on purpose: over
 * loopback the kernel's socket buffers take up to ~4 MB (the send buffer grows to about tcp_wmem's
 * maximum) before the server has to hold anything itself, about 7.5 minutes of this ~9 KB/s stream.
 */
const SLOW_PAUSE_SHARE = 0.85;
const SLOW_SYMBOL = DEFAULT_SYMBOLS[0]!;
/** The server's live render rate (quotes events per second per client) and stats rate. */
const RENDER_HZ = 4;
const STATS_HZ = 1;
const TARGET_MS = 1000;
/** The first and last memory windows compared: a minute, or a quarter of a shorter run. */
const MEMORY_WINDOW_SECONDS = Math.min(60, Math.floor(SECONDS / 4));
/**
 * Growth allowed between those windows' medians, for RSS and for the V8 heap used. Medians, because both
 * swing by far more within seconds (DuckDB's buffers, garbage collection) than a leak adds in minutes;
 * the fitted slopes are reported too, but over short runs they follow that noise.
 */
const MEMORY_GROWTH_LIMIT = 0.05;
/** Most a paused client may cost the server in its own buffers: the socket's high-water mark plus one event. */
const SERVER_HELD_LIMIT = 256 * 1024;

const CHROMIUM = [process.env.TICKLINE_TEST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && p !== '' && existsSync(p));
const PASSWORD = `bench-${randomBytes(12).toString('hex')}`;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const verdict = (ok: boolean | null): 'pass' | 'miss' | 'n/a' => (ok === null ? 'n/a' : ok ? 'pass' : 'miss');
/** Mean, min and max, or nulls for no values. */
const spread = (xs: readonly number[]) => (xs.length === 0 ? { mean: null, min: null, max: null } : { mean: r2(mean(xs)), min: r2(Math.min(...xs)), max: r2(Math.max(...xs)) });

function emit(name: string, result: Record<string, unknown>): void {
  const line = { bench: name, ...result, at: new Date().toISOString() };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(line, null, 2)}\n`);
  console.log(JSON.stringify(line));
}

const say = (s = ''): void => void process.stderr.write(`${s}\n`);
const progress = (s: string): void => say(`[${Math.round(now())} s] ${s}`);

// ---------------------------------------------------------------------------------------------------
// Server sampling

interface Sample {
  /** Seconds since the bench started. */
  t: number;
  cpuSeconds: number;
  rssMb: number;
  /** From /metrics; null when the scrape failed or is still running. */
  heapMb: number | null;
  ticks: number | null;
  ticksAt: number | null;
  loopP99Ms: number | null;
  benchCpuSeconds: number;
  /** Busy CPU time of the whole machine, all processes. */
  machineCpuSeconds: number;
}

const T0 = performance.now();
const now = (): number => (performance.now() - T0) / 1000;

/** Reads the server's /proc and /metrics once a second for the whole run; phases are time ranges of it. */
class ServerSampler {
  readonly samples: Sample[] = [];
  readonly #pid: number;
  readonly #metricsUrl: string;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #onTick: Array<() => void> = [];
  scrapeFailures = 0;

  constructor(pid: number, metricsUrl: string) {
    this.#pid = pid;
    this.#metricsUrl = metricsUrl;
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#tick();
  }

  onTick(fn: () => void): void {
    this.#onTick.push(fn);
  }

  #tick(): void {
    let proc;
    try {
      proc = readProc(this.#pid);
    } catch {
      return; // the server is gone: the run's wait notices its exit and reports it
    }
    const cpu = process.cpuUsage();
    const s: Sample = { t: now(), cpuSeconds: proc.cpuSeconds, rssMb: proc.rssMb, heapMb: null, ticks: null, ticksAt: null, loopP99Ms: null, benchCpuSeconds: (cpu.user + cpu.system) / 1e6, machineCpuSeconds: machineBusySeconds() };
    this.samples.push(s);
    for (const fn of this.#onTick) fn();
    void fetch(this.#metricsUrl, { signal: AbortSignal.timeout(5000) })
      .then(async (res) => {
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        const text = await res.text();
        s.ticksAt = now();
        s.ticks = promValue(text, 'tickline_source_ticks_total');
        const heap = promValue(text, 'tickline_nodejs_heap_size_used_bytes');
        s.heapMb = heap === null ? null : heap / 1024 / 1024;
        const lag = promValue(text, 'tickline_nodejs_eventloop_lag_p99_seconds');
        s.loopP99Ms = lag === null ? null : lag * 1000;
      })
      .catch(() => this.scrapeFailures++);
  }

  range(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.t >= from && s.t <= to);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

interface PhaseSummary {
  seconds: number;
  server_cpu_pct: number;
  server_rss_mb_median: number;
  server_rss_mb_min: number;
  server_rss_mb_max: number;
  heap_mb_median: number;
  ticks_per_s: number;
  eventloop_p99_ms_median: number;
  /** Server CPU time per million ticks the feed produced: its cost per unit of work, whatever CPU share it got. */
  server_cpu_s_per_million_ticks: number;
  bench_cpu_pct: number;
  /** CPU used by every other process on the machine meanwhile (100 = one core). */
  other_cpu_pct: number;
  load_avg_1m: number;
}

function summarize(samples: readonly Sample[]): PhaseSummary {
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const dt = last.t - first.t;
  const scraped = samples.filter((s) => s.ticks !== null && s.ticksAt !== null);
  const a = scraped[0];
  const b = scraped.at(-1);
  const rss = samples.map((s) => s.rssMb);
  const serverCpu = last.cpuSeconds - first.cpuSeconds;
  const benchCpu = last.benchCpuSeconds - first.benchCpuSeconds;
  const ticksPerS = a && b && b !== a ? (b.ticks! - a.ticks!) / (b.ticksAt! - a.ticksAt!) : NaN;
  return {
    seconds: r1(dt),
    server_cpu_pct: r1((serverCpu / dt) * 100),
    server_rss_mb_median: r1(median(rss)),
    server_rss_mb_min: r1(Math.min(...rss)),
    server_rss_mb_max: r1(Math.max(...rss)),
    heap_mb_median: r1(median(samples.flatMap((s) => (s.heapMb === null ? [] : [s.heapMb])))),
    ticks_per_s: Math.round(ticksPerS),
    eventloop_p99_ms_median: r1(median(samples.flatMap((s) => (s.loopP99Ms === null ? [] : [s.loopP99Ms])))),
    server_cpu_s_per_million_ticks: r2(serverCpu / dt / (ticksPerS / 1e6)),
    bench_cpu_pct: r1((benchCpu / dt) * 100),
    other_cpu_pct: r1(((last.machineCpuSeconds - first.machineCpuSeconds - serverCpu - benchCpu) / dt) * 100),
    load_avg_1m: r2(loadavg()[0]!),
  };
}

/** Growth between the first and last windows of a phase (medians) and the fitted slope, for RSS and heap. */
function memoryGrowth(samples: readonly Sample[], windowSeconds: number) {
  const t0 = samples[0]!.t;
  const t1 = samples.at(-1)!.t;
  const firstW = samples.filter((s) => s.t - t0 < windowSeconds);
  const lastW = samples.filter((s) => t1 - s.t < windowSeconds);
  const heapOf = (xs: readonly Sample[]) => xs.flatMap((s) => (s.heapMb === null ? [] : [s.heapMb]));
  const rssFirst = median(firstW.map((s) => s.rssMb));
  const rssLast = median(lastW.map((s) => s.rssMb));
  const heapFirst = median(heapOf(firstW));
  const heapLast = median(heapOf(lastW));
  const heapSamples = samples.filter((s) => s.heapMb !== null);
  return {
    window_s: windowSeconds,
    rss_first_median_mb: r1(rssFirst),
    rss_last_median_mb: r1(rssLast),
    rss_growth_mb: r1(rssLast - rssFirst),
    rss_growth_pct: r1(((rssLast - rssFirst) / rssFirst) * 100),
    rss_slope_mb_per_min: r2(slope(samples.map((s) => (s.t - t0) / 60), samples.map((s) => s.rssMb))),
    heap_first_median_mb: r1(heapFirst),
    heap_last_median_mb: r1(heapLast),
    heap_growth_mb: r1(heapLast - heapFirst),
    heap_slope_mb_per_min: r2(slope(heapSamples.map((s) => (s.t - t0) / 60), heapSamples.map((s) => s.heapMb!))),
  };
}

// ---------------------------------------------------------------------------------------------------
// The server

async function api(base: string, method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (!res.ok) throw new TicklineError('TL_ERR_API_CLIENT', `${method} ${path}: status ${res.status}, body ${show(await res.text())}`);
  return res;
}

/** Signs in as admin; returns the session token (the cookie's value) and its CSRF token. */
async function login(base: string): Promise<{ token: string; csrf: string }> {
  const res = await api(base, 'POST', '/auth/login', { body: { username: 'admin', password: PASSWORD } });
  const { csrf } = (await res.json()) as { csrf: string };
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (cookie === undefined) throw new TicklineError('TL_ERR_API_CLIENT', `POST /auth/login: no ${SESSION_COOKIE} cookie in the answer`);
  return { token: cookie.slice(SESSION_COOKIE.length + 1, cookie.includes(';') ? cookie.indexOf(';') : undefined), csrf };
}

/** A `read` API key for the load generator's streams. */
async function readKey(base: string, session: { token: string; csrf: string }): Promise<string> {
  const res = await api(base, 'POST', '/v1/admin/keys', {
    body: { name: 'dashboard benchmark', scopes: ['read'] },
    headers: { cookie: `${SESSION_COOKIE}=${session.token}`, [CSRF_HEADER]: session.csrf },
  });
  return ((await res.json()) as { secret: string }).secret;
}

function buildWeb(): string {
  if (BUILD) {
    try {
      execFileSync(process.execPath, [`${ROOT}scripts/build-web.mjs`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
      return 'built for this run';
    } catch (err) {
      if (!existsSync(`${WEB_DIST}index.html`)) throw new TicklineError('TL_ERR_UNAVAILABLE', `building the dashboard failed and web/dist has none: ${(err as Error).message}`);
      say(`warning: building the dashboard failed; measuring the existing web/dist (${(err as Error).message.split('\n')[0]})`);
      return 'existing web/dist (the build failed)';
    }
  }
  if (!existsSync(`${WEB_DIST}index.html`)) throw new TicklineError('TL_ERR_CONFIG', 'BENCH_DASHBOARD_BUILD=0 but web/dist has no index.html: build it with "npm run build:web"');
  return 'existing web/dist';
}

/** Raw (still compressed) body size of a GET with this Accept-Encoding, and the encoding the server chose. */
function wireSize(url: string, acceptEncoding: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () =>
          res.statusCode === 200 ? resolve({ bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }) : reject(new TicklineError('TL_ERR_API_CLIENT', `GET ${url}: status ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

/** The page, its script and its stylesheet as the server sends them with gzip, with brotli, and uncompressed. */
async function bundleSizes(base: string) {
  // A concurrent `build:web` replaces web/dist's files one by one: retry a page caught in between.
  let html: string;
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base}/`, { headers: { 'accept-encoding': 'identity' } });
    html = await res.text();
    if (res.status === 200 || attempt === 10) break;
    await sleep(500);
  }
  const js = /<script[^>]+src="\.?\/?([^"]+)"/.exec(html)?.[1];
  const css = /<link[^>]+rel="stylesheet"[^>]+href="\.?\/?([^"]+)"/.exec(html)?.[1];
  if (!js || !css) throw new TicklineError('TL_ERR_API_CLIENT', `GET /: the page names no script or stylesheet: ${show(html)}`);
  const out: Record<string, Record<string, number | string>> = {};
  for (const [name, path] of [['html', '/'], ['js', `/${js}`], ['css', `/${css}`]] as const) {
    const gz = await wireSize(`${base}${path}`, 'gzip');
    const br = await wireSize(`${base}${path}`, 'br');
    const raw = await wireSize(`${base}${path}`, 'identity');
    if (gz.encoding !== 'gzip') say(`warning: ${path} was sent as ${gz.encoding} to a client asking for gzip`);
    out[name] = { gzip: gz.bytes, br: br.bytes, identity: raw.bytes };
  }
  const sum = (k: string) => Object.values(out).reduce((a, v) => a + (v[k] as number), 0);
  out.total = { gzip: sum('gzip'), br: sum('br'), identity: sum('identity') };
  return out;
}

// ---------------------------------------------------------------------------------------------------
// First load in Chromium

/**
 * Installed before the page's own code: records (performance.now(), ms since navigation start) when the
 * app shell (the prices table) appears, when its first row has a price, when that price first changes,
 * and whether the sign-in form showed instead.
 */
const OBSERVER = `(() => {
  const m = {};
  Object.defineProperty(window, '__tlBench', { value: m });
  let first = null;
  const obs = new MutationObserver(() => {
    const t = performance.now();
    if (m.login === undefined && document.querySelector('[data-testid=login-username]')) m.login = t;
    if (m.shell === undefined && document.querySelector('[data-testid=prices-table]')) m.shell = t;
    if (m.rows === undefined) {
      const cell = document.querySelector('[data-testid=prices-table] tbody tr[data-symbol] td.price');
      const text = cell ? cell.textContent : '';
      if (text && text !== '—') { m.rows = t; m.symbol = cell.parentElement.dataset.symbol; first = text; }
    } else if (m.change === undefined) {
      const cell = document.querySelector('[data-testid="price-' + m.symbol + '"] td.price');
      if (cell && cell.textContent !== first) { m.change = t; obs.disconnect(); }
    }
  });
  obs.observe(document, { childList: true, subtree: true, characterData: true });
})();`;

const COLLECT = `(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const pick = (p) => {
    const e = res.find((r) => new URL(r.name).pathname === p);
    return e ? { end: e.responseEnd, transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize } : null;
  };
  return {
    marks: { ...window.__tlBench },
    html: { end: nav.responseEnd, transfer: nav.transferSize, encoded: nav.encodedBodySize, decoded: nav.decodedBodySize },
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    js: pick('/app.js'),
    css: pick('/app.css'),
  };
})()`;

type SlowState = 'before' | 'paused' | 'backlog' | 'fresh';

interface Timing {
  end: number;
  transfer: number;
  encoded: number;
  decoded: number;
}
interface LoadRun {
  marks: { shell?: number; rows?: number; change?: number; login?: number; symbol?: string };
  html: Timing;
  dcl: number;
  load: number;
  js: Timing | null;
  css: Timing | null;
  encodings: Record<string, string>;
}

async function until(page: Page, expression: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > end) throw new TicklineError('TL_ERR_UNAVAILABLE', `the dashboard did not reach ${show(expression)} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function firstLoads(base: string, token: string): Promise<{ runs: LoadRun[]; errors: string[] }> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  const runs: LoadRun[] = [];
  const errors: string[] = [];
  try {
    for (let i = 0; i < LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        await context.addCookies([{ name: SESSION_COOKIE, value: token, url: `${base}/` }]);
        await context.addInitScript({ content: OBSERVER });
        const page = await context.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        const encodings: Record<string, string> = {};
        page.on('response', (r) => {
          const p = new URL(r.url()).pathname;
          if (p === '/' || p === '/app.js' || p === '/app.css') encodings[p] = r.headers()['content-encoding'] ?? 'identity';
        });
        await page.goto(`${base}/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
        // Polled with evaluate (the page's CSP forbids the string predicates of waitForFunction); the
        // times themselves are taken inside the page, so the polling interval does not enter them.
        await until(page, 'window.__tlBench.change !== undefined || window.__tlBench.login !== undefined');
        await until(page, 'performance.getEntriesByType("navigation")[0].loadEventEnd > 0');
        const run = (await page.evaluate(COLLECT)) as Omit<LoadRun, 'encodings'>;
        if (run.marks.login !== undefined) throw new TicklineError('TL_ERR_UNAUTHENTICATED', 'the dashboard showed the sign-in form: the session cookie was not accepted');
        runs.push({ ...run, encodings });
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  return { runs, errors };
}

function loadFigures(runs: readonly LoadRun[]) {
  const stat = (xs: number[]) => ({ median_ms: Math.round(median(xs)), max_ms: Math.round(Math.max(...xs)) });
  const shell = runs.map((r) => r.marks.shell!);
  const liveAfterLoad = runs.map((r) => r.marks.rows! - r.dcl);
  return {
    html_response_end: stat(runs.map((r) => r.html.end)),
    script_response_end: stat(runs.map((r) => r.js?.end ?? NaN)),
    dom_content_loaded: stat(runs.map((r) => r.dcl)),
    load_event: stat(runs.map((r) => r.load)),
    app_shell: stat(shell),
    first_live_prices: stat(runs.map((r) => r.marks.rows!)),
    first_live_after_load: stat(liveAfterLoad),
    first_price_change: stat(runs.map((r) => r.marks.change!)),
    shell,
    liveAfterLoad,
  };
}

// ---------------------------------------------------------------------------------------------------
// The run

const server: { p: RoleProcess | null } = { p: null };
const tmp = tempDir('tickline-bench-dashboard-');
let sampler: ServerSampler | null = null;
const clients: SseClient[] = [];

async function cleanup(): Promise<void> {
  sampler?.stop();
  for (const c of clients) c.close();
  if (server.p) {
    const p = server.p;
    server.p = null;
    const stopped = await Promise.race([stopRole(p, 'SIGTERM').then(() => true), sleep(60_000).then(() => false)]);
    if (!stopped) await stopRole(p, 'SIGKILL');
  }
  tmp.remove();
}

let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  void cleanup().finally(() => process.exit(130));
});

/** Waits, but fails at once when the server exits meanwhile. */
async function hold(seconds: number): Promise<void> {
  const p = server.p!;
  await Promise.race([
    sleep(seconds * 1000),
    p.exited.then((code) => {
      throw new TicklineError('TL_ERR_UNAVAILABLE', `the server exited (code ${code}) during the run; its output:\n${p.output().slice(-4000)}`);
    }),
  ]);
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  const loadStart = loadavg().map(r2);
  say(`Dashboard benchmark: ${cores} cores, load average ${loadStart.join(' ')} at start`);
  const bundle = buildWeb();
  progress(`dashboard bundle: ${bundle}`);

  server.p = await spawnRole('all', {
    TICKLINE_DATA_DIR: tmp.dir,
    TICKLINE_SIM_RATE: 'max',
    TICKLINE_AUTH: 'on',
    TICKLINE_ADMIN_PASSWORD: PASSWORD,
    TICKLINE_LOG_LEVEL: 'warn',
  });
  const base = server.p.url.replace('//localhost:', '//127.0.0.1:');
  const banner = server.p.output().length;
  progress(`server: pid ${server.p.child.pid} at ${base}, simulated feed at full speed`);
  const session = await login(base);
  const key = await readKey(base, session);
  sampler = new ServerSampler(server.p.child.pid!, `${base}/metrics`);

  progress(`warm-up ${WARMUP_SECONDS} s, then the ceiling: ${CEILING_SECONDS} s with no live client`);
  await hold(WARMUP_SECONDS);
  const c0 = now();
  await hold(CEILING_SECONDS);
  const ceiling = summarize(sampler.range(c0, now()));
  const ceilingMemory = memoryGrowth(sampler.range(c0, now()), Math.max(5, Math.floor(CEILING_SECONDS / 3)));

  // First load.
  let loads: { runs: LoadRun[]; errors: string[] } | null = null;
  const sizes = await bundleSizes(base);
  if (LOADS > 0 && CHROMIUM !== undefined) {
    progress(`first load: ${LOADS} page loads in Chromium (${CHROMIUM})`);
    loads = await firstLoads(base, session.token);
    await hold(3); // let the browser's exit settle before the next phase
  }

  // Live clients.
  progress(
    CLIENTS > 0
      ? `live clients: ${CLIENTS} on /v1/live and one slow client on /v1/live?symbol=${SLOW_SYMBOL}, ${CLIENT_WARMUP_SECONDS} s warm-up + ${SECONDS} s`
      : `control run: no live client for ${CLIENT_WARMUP_SECONDS} + ${SECONDS} s`,
  );
  const headers = { authorization: `Bearer ${key}` };
  let measuring = false;
  const ages = new Reservoir(200_000);
  let quoteEvents = 0;
  let quotesInEvents = 0;
  const onEvent = (type: string, data: string): void => {
    if (!measuring || type !== 'quotes') return;
    const t = Date.now();
    const { quotes } = JSON.parse(data) as { quotes: Array<{ received_at: string }> };
    quoteEvents++;
    quotesInEvents += quotes.length;
    for (const q of quotes) ages.add(t - Date.parse(q.received_at));
  };
  for (let i = 0; i < CLIENTS; i++) clients.push(new SseClient({ url: `${base}/v1/live`, headers, onEvent }));

  // The slow client: reads normally during the warm-up, then stops reading; after it resumes, what
  // arrives before the first fresh event is what was buffered for it (kernel socket buffers + the
  // server's one pending write), and that first fresh event's `dropped` tells how much was coalesced away.
  const slow = {
    state: 'before' as SlowState,
    warmBytes: 0,
    warmDropped: [] as number[],
    resumedAt: 0,
    backlogBytes: 0,
    backlogEvents: 0,
    freshAfterMs: NaN,
    freshDropped: NaN,
    freshAgeMs: NaN,
    freshAt: 0,
    afterBytes: 0,
  };
  const slowClient: SseClient | null = CLIENTS === 0 ? null : new SseClient({
    url: `${base}/v1/live?symbol=${encodeURIComponent(SLOW_SYMBOL)}`,
    headers,
    onBytes: (n) => {
      if (slow.state === 'before') slow.warmBytes += n;
      else if (slow.state === 'backlog') slow.backlogBytes += n;
      else if (slow.state === 'fresh') slow.afterBytes += n;
    },
    onEvent: (type, data) => {
      if (type !== 'ticks') return;
      const dropped = Number(/"dropped":(\d+)\}$/.exec(data)?.[1] ?? NaN);
      if (slow.state === 'before') slow.warmDropped.push(dropped);
      if (slow.state !== 'backlog') return;
      const at = data.lastIndexOf('"received_at":"');
      const last = Date.parse(data.slice(at + 15, data.indexOf('"', at + 15)));
      if (last >= slow.resumedAt - 1000) {
        slow.state = 'fresh';
        slow.backlogBytes -= Buffer.byteLength(data);
        slow.freshAfterMs = Date.now() - slow.resumedAt;
        slow.freshDropped = dropped;
        slow.freshAgeMs = Date.now() - last;
        slow.freshAt = Date.now();
      } else slow.backlogEvents++;
    },
  });
  const live = [...clients];
  if (slowClient) clients.push(slowClient);
  await Promise.all(clients.map((c) => c.start()));
  await hold(CLIENT_WARMUP_SECONDS);

  for (const c of live) c.take();
  const perSecond = live.map(() => ({ quotes: [] as number[], stats: [] as number[] }));
  sampler.onTick(() => {
    if (!measuring) return;
    live.forEach((c, i) => {
      const w = c.take();
      perSecond[i]!.quotes.push(w.quotes);
      perSecond[i]!.stats.push(w.stats);
    });
  });
  const totals0 = live.map((c) => ({ ...c.total }));
  const disconnects0 = clients.map((c) => c.disconnects);
  const m0 = now();
  measuring = true;
  const warmSeconds = CLIENT_WARMUP_SECONDS;
  slowClient?.pause();
  slow.state = 'paused';
  const pauseSeconds = Math.round(SECONDS * SLOW_PAUSE_SHARE);
  await hold(pauseSeconds);
  const ports = slowClient?.ports ?? null;
  const kernel = ports === null ? null : tcpQueues(ports.remote, ports.local);
  const clientBuffered = slowClient?.bufferedBytes ?? 0;
  slow.state = 'backlog';
  slow.resumedAt = Date.now();
  slowClient?.resume();
  await hold(SECONDS - pauseSeconds);
  measuring = false;
  const slowEnd = { at: Date.now(), bytes: slow.afterBytes };
  const m1 = now();
  const windowSeconds = m1 - m0;
  const liveSamples = sampler.range(m0, m1);
  const livePhase = summarize(liveSamples);
  const liveMemory = memoryGrowth(liveSamples, MEMORY_WINDOW_SECONDS);
  const pausedSamples = sampler.range(m0, m0 + pauseSeconds);
  const rates = live.map((c, i) => ({
    quotes: (c.total.quotes - totals0[i]!.quotes) / windowSeconds,
    stats: (c.total.stats - totals0[i]!.stats) / windowSeconds,
    bytes: (c.total.bytes - totals0[i]!.bytes) / windowSeconds,
  }));
  const disconnects = clients.reduce((a, c, i) => a + c.disconnects - disconnects0[i]!, 0);
  const clientSeconds = perSecond.flatMap((p) => p.quotes.slice(1)); // the first take spans a partial second
  const statsSeconds = perSecond.flatMap((p) => p.stats.slice(1));
  for (const c of clients) c.close();
  clients.length = 0;

  // Idle again.
  progress(`idle after: ${CEILING_SECONDS} s with no live client`);
  await hold(5);
  const i0 = now();
  await hold(CEILING_SECONDS);
  const idleAfter = summarize(sampler.range(i0, now()));
  sampler.stop();
  const loadEnd = loadavg().map(r2);
  const serverWarnings = server.p
    .output()
    .slice(banner)
    .split('\n')
    .filter((l) => l.trim() !== '');

  // ---- Results.
  const machine = { cores, load_avg_start: loadStart, load_avg_end: loadEnd };
  emit(`${PREFIX}-ceiling`, { clients: 0, ...ceiling, memory: ceilingMemory, idle_after: idleAfter, ...machine });

  if (loads !== null && loads.runs.length > 0) {
    const f = loadFigures(loads.runs);
    const { shell, liveAfterLoad, ...figures } = f;
    const browserBytes = (k: 'transfer' | 'encoded' | 'decoded') => loads!.runs[0]!.html[k] + (loads!.runs[0]!.js?.[k] ?? 0) + (loads!.runs[0]!.css?.[k] ?? 0);
    emit(`${PREFIX}-first-load`, {
      loads: loads.runs.length,
      ...figures,
      browser_bytes: { encodings: loads.runs[0]!.encodings, transfer: browserBytes('transfer'), encoded_body: browserBytes('encoded'), decoded_body: browserBytes('decoded') },
      bytes: sizes,
      page_errors: loads.errors,
      targets: {
        first_load_ms: { target: TARGET_MS, measure: 'navigation start → app shell rendered', median: verdict(median(shell) <= TARGET_MS), every_load: verdict(Math.max(...shell) <= TARGET_MS) },
        first_live_ms: {
          target: TARGET_MS,
          measure: 'DOMContentLoaded → first live prices in the table',
          median: verdict(median(liveAfterLoad) <= TARGET_MS),
          every_load: verdict(Math.max(...liveAfterLoad) <= TARGET_MS),
        },
      },
      server_clients_during: 0,
      ...machine,
    });
  } else {
    emit(`${PREFIX}-first-load`, { skipped: LOADS === 0 ? 'BENCH_DASHBOARD_LOADS=0' : 'no Chromium found: set TICKLINE_TEST_CHROMIUM', bytes: sizes, ...machine });
  }

  const quoteRates = rates.map((r) => r.quotes);
  const statRates = rates.map((r) => r.stats);
  const quotesOk = CLIENTS === 0 ? null : quoteRates.every((q) => Math.abs(q - RENDER_HZ) <= RENDER_HZ * 0.1);
  const statsOk = CLIENTS === 0 ? null : statRates.every((s) => Math.abs(s - STATS_HZ) <= STATS_HZ * 0.1);
  const rssOk = liveMemory.rss_growth_mb <= liveMemory.rss_first_median_mb * MEMORY_GROWTH_LIMIT;
  const heapOk = liveMemory.heap_growth_mb <= liveMemory.heap_first_median_mb * MEMORY_GROWTH_LIMIT;
  emit(`${PREFIX}-live`, {
    clients: CLIENTS,
    seconds: r1(windowSeconds),
    warmup_s: warmSeconds,
    quotes_per_s_per_client: spread(quoteRates),
    stats_per_s_per_client: spread(statRates),
    client_seconds_with_3_to_5_quotes: r2(clientSeconds.filter((n) => n >= 3 && n <= 5).length / clientSeconds.length),
    client_seconds_without_stats: r2(statsSeconds.filter((n) => n === 0).length / statsSeconds.length),
    quotes_per_event: r2(quotesInEvents / quoteEvents),
    bytes_per_s_per_client: Math.round(mean(rates.map((r) => r.bytes))),
    quote_age_ms: { p50: Math.round(ages.quantile(0.5)), p99: Math.round(ages.quantile(0.99)), max_sampled: Math.round(ages.quantile(1)) },
    disconnects,
    server: livePhase,
    ceiling: { server_cpu_pct: ceiling.server_cpu_pct, server_rss_mb_median: ceiling.server_rss_mb_median, heap_mb_median: ceiling.heap_mb_median, ticks_per_s: ceiling.ticks_per_s, eventloop_p99_ms_median: ceiling.eventloop_p99_ms_median, server_cpu_s_per_million_ticks: ceiling.server_cpu_s_per_million_ticks, other_cpu_pct: ceiling.other_cpu_pct },
    cpu_delta_pct: r1(livePhase.server_cpu_pct - ceiling.server_cpu_pct),
    cpu_ratio: r2(livePhase.server_cpu_pct / ceiling.server_cpu_pct),
    rss_delta_mb: r1(livePhase.server_rss_mb_median - ceiling.server_rss_mb_median),
    heap_delta_mb: r1(livePhase.heap_mb_median - ceiling.heap_mb_median),
    ticks_ratio: r2(livePhase.ticks_per_s / ceiling.ticks_per_s),
    cpu_per_tick_ratio: r2(livePhase.server_cpu_s_per_million_ticks / ceiling.server_cpu_s_per_million_ticks),
    // The pipeline slows as its store grows: the client-free windows before and after bracket the run.
    ticks_ratio_vs_idle_before_and_after: r2(livePhase.ticks_per_s / mean([ceiling.ticks_per_s, idleAfter.ticks_per_s])),
    cpu_per_tick_ratio_vs_idle_before_and_after: r2(livePhase.server_cpu_s_per_million_ticks / mean([ceiling.server_cpu_s_per_million_ticks, idleAfter.server_cpu_s_per_million_ticks])),
    memory: liveMemory,
    targets: {
      quotes_at_render_rate: { target: `${RENDER_HZ}/s ±10% for every client`, verdict: verdict(quotesOk) },
      stats_every_second: { target: `${STATS_HZ}/s ±10% for every client`, verdict: verdict(statsOk) },
      rss_flat: { target: `RSS: last ${MEMORY_WINDOW_SECONDS} s median ≤ first ${MEMORY_WINDOW_SECONDS} s median + ${MEMORY_GROWTH_LIMIT * 100}%`, verdict: verdict(rssOk) },
      heap_flat: { target: `V8 heap used: last ${MEMORY_WINDOW_SECONDS} s median ≤ first ${MEMORY_WINDOW_SECONDS} s median + ${MEMORY_GROWTH_LIMIT * 100}%`, verdict: verdict(heapOk) },
    },
    server_scrape_failures: sampler.scrapeFailures,
    server_log_lines: serverWarnings.length,
    ...machine,
  });

  // The stream's rate while it is read: over the warm-up and after the resume (both short, so both count).
  const fresh = (slow.state as SlowState) === 'fresh';
  const readingSeconds = warmSeconds + (fresh ? (slowEnd.at - slow.freshAt) / 1000 : 0);
  const readingRate = (slow.warmBytes + slowEnd.bytes) / readingSeconds;
  const wouldQueue = readingRate * pauseSeconds;
  const typicalDropped = median(slow.warmDropped.filter(Number.isFinite));
  const kernelBytes = kernel === null ? NaN : kernel.sendQueue + kernel.receiveQueue;
  // What the server still held for the client in its own memory when it resumed: the backlog minus what
  // sat in the kernel's socket buffers. Bounded means one stream buffer's worth, not the whole pause.
  const serverHeld = slow.backlogBytes - kernelBytes - clientBuffered;
  // While a client is not draining, its `ticks` pile up to TICKS_PER_EVENT and the rest is counted as
  // dropped: a first fresh event with dropped > 0 proves the server coalesced instead of queueing.
  const coalesced = fresh && slow.freshDropped > 0;
  const slowVerdict = !fresh || !(serverHeld <= SERVER_HELD_LIMIT) ? 'miss' : coalesced ? 'pass' : 'inconclusive';
  if (slowClient === null) emit(`${PREFIX}-slow-client`, { skipped: 'BENCH_DASHBOARD_CLIENTS=0 (control run)', ...machine });
  else
    emit(`${PREFIX}-slow-client`, {
      symbol: SLOW_SYMBOL,
      paused_s: pauseSeconds,
      bytes_per_s_while_reading: Math.round(readingRate),
      unbounded_queue_would_be_bytes: Math.round(wouldQueue),
      backlog_bytes: slow.backlogBytes,
      backlog_events: slow.backlogEvents,
      fresh_event_after_resume_ms: fresh ? Math.round(slow.freshAfterMs) : null,
      fresh_event_age_ms: fresh ? Math.round(slow.freshAgeMs) : null,
      dropped_in_fresh_event: fresh ? slow.freshDropped : null,
      dropped_per_event_while_reading: typicalDropped,
      kernel_buffered_bytes_at_resume: kernel === null ? null : { server_send_queue: kernel.sendQueue, client_receive_queue: kernel.receiveQueue },
      client_buffered_bytes_at_resume: clientBuffered,
      server_held_bytes_at_resume: Number.isFinite(serverHeld) ? serverHeld : null,
      server_coalesced: coalesced,
      server_rss_mb_median_while_paused: r1(median(pausedSamples.map((s) => s.rssMb))),
      server_rss_mb_median_ceiling: ceiling.server_rss_mb_median,
      verdict: slowVerdict,
      verdict_rule: `pass: the server held ≤ ${SERVER_HELD_LIMIT} B for the client in its own memory and coalesced (dropped ticks) instead of queueing; inconclusive: the kernel's socket buffers took the whole pause, so the server never had to`,
      ...machine,
    });

  // ---- Human-readable summary.
  const row = (cols: Array<string | number>, widths: number[]) => cols.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
  const w = [22, 10, 12, 9, 10, 12, 12, 10, 10];
  say();
  say(`Dashboard benchmark — ${cores} cores, load average ${loadStart.join(' ')} → ${loadEnd.join(' ')}`);
  say(row(['phase', 'server CPU', 'RSS MB (med)', 'heap MB', 'ticks/s', 'loop p99 ms', 'CPU s/Mtick', 'bench CPU', 'others CPU'], w));
  for (const [name, p] of [
    ['ceiling (0 clients)', ceiling],
    [`${CLIENTS} live clients`, livePhase],
    ['idle after', idleAfter],
  ] as const) {
    say(row([name, `${p.server_cpu_pct}%`, p.server_rss_mb_median, p.heap_mb_median, p.ticks_per_s, p.eventloop_p99_ms_median, p.server_cpu_s_per_million_ticks, `${p.bench_cpu_pct}%`, `${p.other_cpu_pct}%`], w));
  }
  say(
    `cost of ${CLIENTS} clients: CPU ${livePhase.server_cpu_pct - ceiling.server_cpu_pct >= 0 ? '+' : ''}${r1(livePhase.server_cpu_pct - ceiling.server_cpu_pct)} points (×${r2(livePhase.server_cpu_pct / ceiling.server_cpu_pct)}), RSS ${r1(livePhase.server_rss_mb_median - ceiling.server_rss_mb_median)} MB, ticks/s ×${r2(livePhase.ticks_per_s / ceiling.ticks_per_s)}, CPU per tick ×${r2(livePhase.server_cpu_s_per_million_ticks / ceiling.server_cpu_s_per_million_ticks)}`,
  );
  say(
    `  against the mean of the idle windows before and after: ticks/s ×${r2(livePhase.ticks_per_s / mean([ceiling.ticks_per_s, idleAfter.ticks_per_s]))}, CPU per tick ×${r2(livePhase.server_cpu_s_per_million_ticks / mean([ceiling.server_cpu_s_per_million_ticks, idleAfter.server_cpu_s_per_million_ticks]))}`,
  );
  if (loads !== null && loads.runs.length > 0) {
    const f = loadFigures(loads.runs);
    say();
    say(`First load (${loads.runs.length} loads, fresh context each)   median     max`);
    for (const [label, s] of [
      ['HTML responseEnd', f.html_response_end],
      ['app.js responseEnd', f.script_response_end],
      ['DOMContentLoaded', f.dom_content_loaded],
      ['app shell rendered', f.app_shell],
      ['first live prices', f.first_live_prices],
      ['  after DOMContentLoaded', f.first_live_after_load],
      ['first price change', f.first_price_change],
    ] as const) {
      say(`  ${label.padEnd(36)}${`${s.median_ms} ms`.padStart(9)}${`${s.max_ms} ms`.padStart(9)}`);
    }
    say(`  first load ≤ ${TARGET_MS} ms: ${verdict(median(f.shell) <= TARGET_MS)} (median), ${verdict(Math.max(...f.shell) <= TARGET_MS)} (every load)`);
    say(`  first live update ≤ ${TARGET_MS} ms after load: ${verdict(median(f.liveAfterLoad) <= TARGET_MS)} (median), ${verdict(Math.max(...f.liveAfterLoad) <= TARGET_MS)} (every load)`);
  }
  {
    const t = sizes.total!;
    say(`  bytes (HTML+JS+CSS): gzip ${t.gzip}, brotli ${t.br}, uncompressed ${t.identity}${loads?.runs[0] ? `; the browser got ${JSON.stringify(loads.runs[0].encodings)}` : ''}`);
  }
  say();
  say(`Live clients (${CLIENTS}, ${r1(windowSeconds)} s after ${warmSeconds} s warm-up)`);
  const q = spread(quoteRates);
  const st = spread(statRates);
  say(`  quotes/s per client  mean ${q.mean} (min ${q.min}, max ${q.max})   target ${RENDER_HZ} ±10%: ${verdict(quotesOk)}`);
  say(`  stats/s per client   mean ${st.mean} (min ${st.min}, max ${st.max})   target ${STATS_HZ} ±10%: ${verdict(statsOk)}`);
  say(`  quote age at the client  p50 ${Math.round(ages.quantile(0.5))} ms, p99 ${Math.round(ages.quantile(0.99))} ms; disconnects ${disconnects}`);
  say(
    `  RSS  first ${MEMORY_WINDOW_SECONDS} s median ${liveMemory.rss_first_median_mb} MB → last ${liveMemory.rss_last_median_mb} MB (${liveMemory.rss_growth_pct}%), slope ${liveMemory.rss_slope_mb_per_min} MB/min: ${verdict(rssOk)}`,
  );
  say(
    `  heap first ${MEMORY_WINDOW_SECONDS} s median ${liveMemory.heap_first_median_mb} MB → last ${liveMemory.heap_last_median_mb} MB, slope ${liveMemory.heap_slope_mb_per_min} MB/min: ${verdict(heapOk)}`,
  );
  if (serverWarnings.length > 0) say(`\nserver log (${serverWarnings.length} lines, first 5):\n${serverWarnings.slice(0, 5).join('\n')}`);
  if (slowClient === null) return;
  say();
  say(`Slow client (?symbol=${SLOW_SYMBOL}, paused ${pauseSeconds} s)`);
  say(`  reading: ${Math.round(readingRate)} B/s; unbounded queue would be ${Math.round(wouldQueue)} B; buffered backlog ${slow.backlogBytes} B in ${slow.backlogEvents} events`);
  say(`  at resume the kernel held ${kernelBytes} B (send queue ${kernel?.sendQueue}, receive queue ${kernel?.receiveQueue}), the client's stream ${clientBuffered} B; the server ${serverHeld} B`);
  say(`  first fresh event ${Math.round(slow.freshAfterMs)} ms after resuming, dropped ${slow.freshDropped} ticks (while reading: ~${typicalDropped} per event): ${slowVerdict}`);
}

try {
  await main();
} catch (err) {
  // After Ctrl-C the server's exit is expected: nothing to report.
  if (!interrupted) console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
