/**
 * A stand-in for the Tickline server that speaks the dashboard's contract (auth, the live stream and the
 * REST routes the pages read) with simulated prices, so the dashboard can be developed and tested in a
 * browser without the platform:
 *
 *   node scripts/build-web.mjs --watch &        # rebuilds web/dist on every change
 *   node web/dev/mock-server.ts [--port 8010] [--symbols 2000]   # then open http://127.0.0.1:8010
 *
 * Users: admin, analyst and viewer, each with the password `tickline-demo-pass`. Five wrong passwords
 * lock a username for 15 minutes (429 with Retry-After), like the real server. Binds 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const DEMO_PASSWORD = 'tickline-demo-pass';
const ROLES: Record<string, 'admin' | 'analyst' | 'viewer'> = { admin: 'admin', analyst: 'analyst', viewer: 'viewer' };
const LOCK_AFTER = 5;
const LOCK_SECONDS = 900;
const SEED_PRICES: Record<string, number> = { AAPL: 191.2, MSFT: 415.5, GOOG: 171.3, NVDA: 903.6, 'BTC-USD': 67234.5, 'ETH-USD': 3120.4, DOGE: 0.1623 };
const INTERVAL_S: Record<string, number> = { '1s': 1, '1m': 60, '5m': 300, '1h': 3600, '1d': 86400 };
export const CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.txt': 'text/plain; charset=utf-8' };

interface Tick {
  symbol: string;
  price: number;
  bid: number;
  ask: number;
  size: number;
  ts: string;
  provider: string;
  received_at: string;
}

export interface MockOptions {
  port?: number;
  distDir?: string;
  /** Milliseconds between simulated ticks of each symbol. */
  tickMs?: number;
  /** Symbols added to the seven built-in ones (`S0001`, `S0002`, …), to try the page with many rows. */
  extraSymbols?: number;
}

export interface MockServer {
  url: string;
  /** Ends every open stream (the page should show "reconnecting", then recover). */
  dropStreams(): void;
  /** Ends every session (the next request gets 401). */
  endSessions(): void;
  close(): Promise<void>;
}

export async function startMockServer(opts: MockOptions = {}): Promise<MockServer> {
  const distDir = path.resolve(opts.distDir ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist'));
  const sessions = new Map<string, { username: string; role: string; csrf: string }>();
  const failures = new Map<string, { count: number; since: number }>();
  const streams = new Set<ServerResponse>();
  const prices = new Map(Object.entries(SEED_PRICES));
  for (let i = 1; i <= (opts.extraSymbols ?? 0); i++) prices.set(`S${String(i).padStart(4, '0')}`, 10 + ((i * 37) % 500));
  const history = new Map<string, Tick[]>();
  const changed = new Set<string>();
  const fresh: Tick[] = [];
  let seq = 0;

  const step = (): void => {
    const now = new Date().toISOString().replace('Z', '000Z');
    for (const [symbol, p] of prices) {
      const next = Math.max(p * 0.5, p * (1 + (Math.random() - 0.5) * 0.002));
      const price = Number(next.toFixed(p < 1 ? 6 : 2));
      prices.set(symbol, price);
      const spread = price < 1 ? 0.0001 : 0.01;
      const t: Tick = { symbol, price, bid: price - spread, ask: price + spread, size: 1 + Math.floor(Math.random() * 300), ts: now, provider: 'sim', received_at: now };
      const h = history.get(symbol) ?? [];
      h.push(t);
      if (h.length > 500) h.shift();
      history.set(symbol, h);
      changed.add(symbol);
      fresh.push(t);
      seq++;
    }
  };
  step();
  const ticker = setInterval(step, opts.tickMs ?? 100);

  const send = (res: ServerResponse, event: string, body: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
  };
  const latest = (symbols: Iterable<string>): Tick[] => [...symbols].map((s) => history.get(s)!.at(-1)!);
  const pump = setInterval(() => {
    const quotes = latest(changed);
    changed.clear();
    const ticks = fresh.splice(0);
    for (const res of streams) {
      if (quotes.length > 0) send(res, 'quotes', { quotes });
      const symbol = (res as ServerResponse & { symbol?: string }).symbol;
      if (symbol !== undefined) {
        const mine = ticks.filter((t) => t.symbol === symbol).slice(-200);
        if (mine.length > 0) send(res, 'ticks', { symbol, ticks: mine });
      }
    }
  }, 250);
  const statsTimer = setInterval(() => {
    const stats = {
      ticks_per_s: Math.round((1000 / (opts.tickMs ?? 100)) * prices.size),
      quality_pass_rate: 0.9962,
      quarantined_total: 17 + Math.floor(seq / 500),
      store_write_p50_ms: 2.4 + Math.random(),
      bus_lag_ticks: Math.floor(Math.random() * 40),
      sources: [
        { name: 'sim', running: true, rate: Math.round((1000 / (opts.tickMs ?? 100)) * prices.size), emitted: seq, last_error: null },
        { name: 'coingecko', running: true, rate: 0.5, emitted: 42, last_error: 'HTTP 429 from api.coingecko.com' },
      ],
    };
    for (const res of streams) send(res, 'stats', stats);
  }, 1000);

  const session = (req: IncomingMessage): { username: string; role: string; csrf: string } | undefined => {
    const m = /(?:^|;\s*)tl_session=([^;]+)/.exec(req.headers.cookie ?? '');
    return m ? sessions.get(m[1]!) : undefined;
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>): void => json(res, status, { code, message }, headers);

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
    } catch {
      return null;
    }
  };

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readBody(req)) as { username?: unknown; password?: unknown } | null;
    const username = String(body?.username ?? '').toLowerCase();
    const f = failures.get(username);
    if (f && f.count >= LOCK_AFTER) {
      const left = Math.ceil(LOCK_SECONDS - (Date.now() - f.since) / 1000);
      if (left > 0) return fail(res, 429, 'TL_ERR_RATE_LIMITED', `too many failed logins; try again in ${left} s`, { 'retry-after': String(left) });
      failures.delete(username);
    }
    const role = ROLES[username];
    if (role === undefined || body?.password !== DEMO_PASSWORD) {
      const cur = failures.get(username) ?? { count: 0, since: Date.now() };
      cur.count++;
      failures.set(username, cur);
      return fail(res, 401, 'TL_ERR_UNAUTHENTICATED', 'unknown username or wrong password');
    }
    failures.delete(username);
    const token = randomBytes(24).toString('base64url');
    const s = { username, role, csrf: randomBytes(16).toString('base64url') };
    sessions.set(token, s);
    json(res, 200, { user: { username, role }, csrf: s.csrf }, { 'set-cookie': `tl_session=${token}; HttpOnly; SameSite=Strict; Path=/` });
  };

  const bars = (symbol: string, interval: string, limit: number): unknown[] => {
    const w = INTERVAL_S[interval] ?? 60;
    const nowBucket = Math.floor(Date.now() / 1000 / w) * w;
    let close = prices.get(symbol)!;
    const out = [];
    for (let i = 0; i < limit; i++) {
      const start = nowBucket - i * w;
      const open = close * (1 + (Math.random() - 0.5) * 0.004 * Math.sqrt(w));
      const high = Math.max(open, close) * (1 + Math.random() * 0.001);
      const low = Math.min(open, close) * (1 - Math.random() * 0.001);
      out.push({ start: new Date(start * 1000).toISOString().replace('Z', '000Z'), open, high, low, close, volume: Math.round(Math.random() * 5000 * Math.sqrt(w)), trades: 10 });
      close = open;
    }
    return out.reverse();
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const p = url.pathname;
    if (p === '/auth/login' && req.method === 'POST') return login(req, res);
    const s = session(req);
    if (p === '/auth/me') return s ? json(res, 200, { user: { username: s.username, role: s.role }, csrf: s.csrf }) : fail(res, 401, 'TL_ERR_UNAUTHENTICATED', 'no session');
    if (!s) return fail(res, 401, 'TL_ERR_UNAUTHENTICATED', 'no session');
    if (req.method !== 'GET' && req.headers['x-csrf-token'] !== s.csrf) return fail(res, 403, 'TL_ERR_FORBIDDEN', 'missing or wrong x-csrf-token');
    if (p === '/auth/logout' && req.method === 'POST') {
      for (const [k, v] of sessions) if (v === s) sessions.delete(k);
      res.writeHead(204, { 'set-cookie': 'tl_session=; Max-Age=0; Path=/' }).end();
      return;
    }
    if (p.startsWith('/v1/admin/') && s.role !== 'admin') return fail(res, 403, 'TL_ERR_FORBIDDEN', `role ${s.role} may not read ${p}`);
    const symbol = (url.searchParams.get('symbol') ?? '').toUpperCase();
    const limit = Number(url.searchParams.get('limit') ?? 100);
    switch (p) {
      case '/v1/live': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(': connected\n\n');
        if (symbol !== '') (res as ServerResponse & { symbol?: string }).symbol = symbol;
        send(res, 'quotes', { quotes: latest(prices.keys()) });
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      case '/v1/symbols':
        return json(res, 200, {
          symbols: [...prices].map(([sym, price]) => ({ symbol: sym, ticks: seq, first_ts: history.get(sym)![0]!.ts, last_ts: history.get(sym)!.at(-1)!.ts, last_price: price })),
        });
      case '/v1/bars':
        if (!prices.has(symbol)) return json(res, 200, { symbol, interval: url.searchParams.get('interval'), bars: [] });
        return json(res, 200, { symbol, interval: url.searchParams.get('interval'), bars: bars(symbol, url.searchParams.get('interval') ?? '1m', Math.min(limit, 1000)) });
      case '/v1/prices/history': {
        const h = (history.get(symbol) ?? []).slice(-limit).reverse();
        return json(res, 200, { symbol, ticks: h.map((t, i) => ({ ...t, currency: 'USD', seq: i })), next_cursor: null });
      }
      case '/v1/quality/runs':
        return json(res, 200, {
          runs: [
            { id: '20261121T163000Z-1a2b3c', kind: 'stream', status: 'running', verdict: 'PASS', suite: 'default', suite_version: '3', started_at: '2026-11-21T16:30:00.000000Z', ended_at: null, rows: { evaluated: 120000, passed: 119990, failed: 10, warned: 4 }, report_url: '/v1/quality/runs/20261121T163000Z-1a2b3c/report' },
            { id: '20261121T162900Z-9f8e7d', kind: 'stream', status: 'closed', verdict: 'FAIL', suite: 'default', suite_version: '3', started_at: '2026-11-21T16:29:00.000000Z', ended_at: '2026-11-21T16:30:00.000000Z', rows: { evaluated: 118000, passed: 117000, failed: 1000, warned: 0 }, report_url: '/v1/quality/runs/20261121T162900Z-9f8e7d/report' },
          ],
        });
      case '/v1/quarantine': {
        const rows = [
          { symbol: 'AAPL', ts: '2026-11-21T16:29:10.123456Z', price: -1, expectation: 'price_positive', observed: -1, threshold: '> 0', detail: null, run_id: '20261121T162900Z-9f8e7d', released_by: null },
          { symbol: 'MSFT', ts: '2026-11-21T16:29:20.000000Z', price: 800, expectation: 'price_spike', observed: 0.93, threshold: '≤ 0.2', detail: { previous: 415.5 }, run_id: '20261121T162900Z-9f8e7d', released_by: null },
        ].filter((r) => (symbol === '' || r.symbol === symbol) && (!url.searchParams.get('expectation') || r.expectation === url.searchParams.get('expectation')) && (!url.searchParams.get('run') || r.run_id === url.searchParams.get('run')));
        return json(res, 200, { from: '2026-11-20T16:30:00.000000Z', to: '2026-11-21T16:30:00.000000Z', truncated: false, rows });
      }
      case '/v1/sources':
        return json(res, 200, { sources: [{ name: 'sim', emitted: seq, rate: 70, running: true }, { name: 'coingecko', emitted: 42, rate: 0.5, running: true, lastError: 'HTTP 429 from api.coingecko.com' }] });
      case '/v1/admin/users':
        return json(res, 200, { users: Object.entries(ROLES).map(([username, role]) => ({ username, role, created_at: '2026-11-01T09:00:00.000Z' })) });
      case '/v1/admin/keys':
        return json(res, 200, {
          keys: [
            { id: '0123456789abcdef', name: 'ingest-bot', scopes: ['ingest'], created_by: 'admin', created_at: '2026-11-02T10:00:00.000Z', revoked_at: null, last_used_at: '2026-11-21T16:00:00.000Z' },
            { id: 'fedcba9876543210', name: 'old-grafana', scopes: ['read'], created_by: 'admin', created_at: '2026-10-02T10:00:00.000Z', revoked_at: '2026-11-03T10:00:00.000Z', last_used_at: null },
          ],
        });
      case '/v1/admin/audit':
        return json(res, 200, {
          entries: [
            { seq: 3, at: '2026-11-21T16:00:00.000Z', actor: 'anonymous', action: 'login.failed', target: null, detail: { ip: '127.0.0.1', reason: 'unknown-user' } },
            { seq: 2, at: '2026-11-02T10:00:00.000Z', actor: 'admin', action: 'key.create', target: '0123456789abcdef', detail: { name: 'ingest-bot', scopes: ['ingest'] } },
            { seq: 1, at: '2026-11-01T09:00:00.000Z', actor: 'system', action: 'user.add', target: 'admin', detail: { role: 'admin', bootstrap: true } },
          ],
          verify: { ok: true, entries: 3 },
        });
      default:
        return fail(res, 404, 'TL_ERR_NOT_FOUND', `no route ${req.method} ${p}`);
    }
  };

  const serveStatic = async (res: ServerResponse, pathname: string): Promise<void> => {
    const rel = pathname === '/' ? 'index.html' : pathname.slice(1);
    const file = path.resolve(distDir, rel);
    if (!file.startsWith(distDir + path.sep)) return fail(res, 404, 'TL_ERR_NOT_FOUND', 'not found');
    try {
      const body = await readFile(file);
      // The headers docs/dashboard.md recommends: the page must work under this policy.
      const headers: Record<string, string> = {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'cache-control': rel === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
      };
      if (rel === 'index.html') headers['content-security-policy'] = CSP;
      res.writeHead(200, headers);
      res.end(body);
    } catch {
      fail(res, 404, 'TL_ERR_NOT_FOUND', `no file ${pathname} (run node scripts/build-web.mjs)`);
    }
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isApi = url.pathname.startsWith('/v1/') || url.pathname.startsWith('/auth/');
    (isApi ? api(req, res, url) : serveStatic(res, url.pathname)).catch((err: Error) => fail(res, 500, 'TL_ERR_INTERNAL', err.message));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    dropStreams: () => {
      for (const res of streams) res.destroy();
      streams.clear();
    },
    endSessions: () => sessions.clear(),
    close: async () => {
      clearInterval(ticker);
      clearInterval(pump);
      clearInterval(statsTimer);
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8010' }, symbols: { type: 'string', default: '0' } } });
  const s = await startMockServer({ port: Number(values.port), extraSymbols: Number(values.symbols) });
  process.stderr.write(`mock Tickline server on ${s.url} (users admin, analyst, viewer; password ${DEMO_PASSWORD})\n`);
}
