import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { INTERVAL_MICROS, type INTERVALS } from '../../src/core/bar.ts';
import { formatIsoMicros, parseIsoMicros } from '../../src/core/time.ts';
import { filesUnder, getJson, post, readJsonl, until } from './helpers.ts';

/**
 * One deployment of the whole platform, in one process or split by role. The suite below runs unchanged
 * against each: a known tick sequence goes in through the ingest API; latest, history and bars come out
 * through the API and match an independent computation; zone files hold what they should; a graceful
 * restart keeps the history and the bars.
 */
export interface Deployment {
  /** Starts (again, on the same data, after `stop`) and resolves with the API's base URL. */
  start(): Promise<string>;
  /** Graceful stop of every process; in-flight work is flushed. */
  stop(): Promise<void>;
  /** Where the process role writes its file:// zones. */
  zonesDir: string;
  /** `/metrics` URLs of the processes running the process role. */
  processMetricsUrls(): string[];
  /** Dependencies the API process reports in /health. */
  apiDependencies: string[];
  cleanup(): Promise<void>;
}

/** Ticks the process role(s) have checked since they started (pass + quarantine). */
async function processed(d: Deployment): Promise<number> {
  let n = 0;
  for (const u of d.processMetricsUrls()) {
    const text = await (await fetch(u)).text();
    for (const m of text.matchAll(/^tickline_ticks_processed_total\{result="(?:pass|quarantine)"\} (\d+)/gm)) n += Number(m[1]);
  }
  return n;
}

async function waitProcessed(d: Deployment, n: number): Promise<void> {
  await until(async () => (await processed(d)) >= n, 30_000, `${n} ticks processed`);
}

const T0 = parseIsoMicros('2024-05-01T13:59:58.500000Z')!;
const SYMBOLS = ['AAPL', 'MSFT', 'BTC-USD'];

interface In {
  symbol: string;
  ts: string;
  price: number;
  size: number;
  bid?: number;
  ask?: number;
  seq?: number;
}

/** 900 good ticks over ~2 h 30 min across three symbols (crossing hour and 5-minute boundaries), a few out of order. */
function knownTicks(): In[] {
  const out: In[] = [];
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
  // A random walk per symbol (moves of up to ±1 %), as real prices move: the default suite's spike
  // guard would rightly quarantine prices drawn at random.
  const last = new Map<string, number>();
  for (let i = 0; i < 900; i++) {
    const symbol = SYMBOLS[i % 3]!;
    const ts = T0 + i * 10_000_123 + Math.floor(rnd() * 1000);
    const price = Math.round((last.get(symbol) ?? 125) * (1 + (rnd() - 0.5) * 0.02) * 100) / 100;
    last.set(symbol, price);
    out.push({ symbol, ts: formatIsoMicros(ts), price, size: Math.floor(rnd() * 500), bid: price - 0.01, ask: price + 0.01, seq: i });
  }
  // Late arrivals: swap a few neighbours so some ticks arrive after newer ones of the same symbol.
  for (let i = 10; i < 890; i += 97) [out[i], out[i + 3]] = [out[i + 3]!, out[i]!];
  return out;
}

const BAD: Array<[Record<string, unknown>, string]> = [
  [{ symbol: 'AAPL', price: -5, size: 1, ts: '2024-05-01T14:00:00Z' }, 'price_positive'],
  [{ symbol: 'AAPL', price: 10, size: 1, ts: '2024-05-01T14:00:01Z', bid: 11, ask: 10 }, 'bid_le_ask'],
  [{ symbol: 'A@PL', price: 10, size: 1, ts: '2024-05-01T14:00:02Z' }, 'symbol_format'],
  [{ symbol: 'AAPL', price: 10, size: 1, ts: '2999-01-01T00:00:00Z' }, 'not_in_future'],
];

function expectedBars(ticks: In[], symbol: string, interval: (typeof INTERVALS)[number]) {
  const w = INTERVAL_MICROS[interval];
  const rows = ticks
    .filter((t) => t.symbol === symbol)
    .map((t) => ({ ...t, us: parseIsoMicros(t.ts)! }))
    .sort((a, b) => a.us - b.us);
  const bars = new Map<number, { open: number; high: number; low: number; close: number; volume: number; trades: number }>();
  for (const t of rows) {
    const start = Math.floor(t.us / w) * w;
    const b = bars.get(start);
    if (!b) bars.set(start, { open: t.price, high: t.price, low: t.price, close: t.price, volume: t.size, trades: 1 });
    else {
      b.high = Math.max(b.high, t.price);
      b.low = Math.min(b.low, t.price);
      b.close = t.price;
      b.volume += t.size;
      b.trades += 1;
    }
  }
  return [...bars.entries()].map(([start, b]) => ({ start: formatIsoMicros(start), ...b }));
}

export function platformSuite(name: string, make: () => Promise<Deployment>, options: { skip?: string | false } = {}): void {
describe(`platform end to end: ${name}`, { skip: options.skip ?? false }, () => {
  const ticks = knownTicks();
  let d: Deployment;
  let url = '';

  before(async () => {
    d = await make();
    url = await d.start();
  });
  after(async () => {
    await d?.stop();
    await d?.cleanup();
  });

  test('ingest: JSON array and NDJSON are accepted; checks count quarantined rows', async () => {
    const half = Math.floor(ticks.length / 2);
    const r1 = await post(`${url}/v1/ticks`, JSON.stringify(ticks.slice(0, half)));
    assert.equal(r1.status, 202, JSON.stringify(r1.body));
    assert.deepEqual([r1.body.accepted, r1.body.quarantined], [half, 0]);
    const nd = ticks.slice(half).map((t) => JSON.stringify(t)).join('\n');
    const r2 = await post(`${url}/v1/ticks`, `${nd}\n`, 'application/x-ndjson');
    assert.equal(r2.status, 202, JSON.stringify(r2.body));
    assert.equal(r2.body.accepted, ticks.length - half);
    const r3 = await post(`${url}/v1/ticks`, JSON.stringify(BAD.map(([t]) => t)));
    assert.equal(r3.status, 202);
    assert.deepEqual([r3.body.accepted, r3.body.quarantined], [4, 4]);
    await waitProcessed(d, ticks.length + BAD.length);
  });

  test('malformed requests get a 4xx naming the problem and write nothing', async () => {
    const before = (await getJson<{ ticks: unknown[] }>(`${url}/v1/prices/history?symbol=ZZZZ&limit=10`)).body;
    const cases: Array<[string, string, number, RegExp]> = [
      ['{"symbol":', 'application/json', 400, /JSON|json/],
      ['[]', 'application/json', 400, /no ticks/],
      [JSON.stringify([{ symbol: 'ZZZZ', price: 1, ts: '2024-05-01T14:00:00Z' }, { symbol: 'ZZZZ', price: 'abc', ts: '2024-05-01T14:00:00Z' }]), 'application/json', 422, /price/],
      [JSON.stringify([{ symbol: 'ZZZZ', price: 1 }]), 'application/json', 422, /ts/],
      [JSON.stringify([{ symbol: 'ZZZZ', price: 1, ts: 'yesterday' }]), 'application/json', 422, /ts/],
      [JSON.stringify([{ symbol: 'ZZZZ', price: 1, ts: '2024-05-01T14:00:00Z', colour: 'red' }]), 'application/json', 422, /colour/],
      ['{"symbol":"ZZZZ","price":1,"ts":"2024-05-01T14:00:00Z"}\n{oops', 'application/x-ndjson', 400, /line 2/],
      ['symbol,price', 'text/csv', 415, /content type|content-type|media/i],
    ];
    for (const [body, type, status, re] of cases) {
      const r = await post(`${url}/v1/ticks`, body, type);
      assert.equal(r.status, status, `${body.slice(0, 40)} → ${JSON.stringify(r.body)}`);
      assert.match(JSON.stringify(r.body), re);
      assert.ok(typeof r.body.code === 'string', 'errors carry a code');
    }
    const bad422 = await post(`${url}/v1/ticks`, JSON.stringify([{ symbol: 'ZZZZ', price: 1, ts: 1 }, { symbol: 'ZZZZ', price: 'x', ts: 1 }]));
    assert.deepEqual((bad422.body.details as Array<{ index: number; field: string }>).map((d) => [d.index, d.field]), [[1, 'price']]);
    for (const q of ['v1/bars?symbol=AAPL&interval=7m', 'v1/prices/history?symbol=AAPL&limit=0', 'v1/prices/history?limit=5', 'v1/prices/history?symbol=AAPL&from=notatime']) {
      const r = await getJson(`${url}/${q}`);
      assert.equal(r.status, 400, `${q} → ${JSON.stringify(r.body)}`);
    }
    assert.equal((await getJson(`${url}/v1/prices/latest?symbol=NOPE`)).status, 404);
    const afterwards = (await getJson<{ ticks: unknown[] }>(`${url}/v1/prices/history?symbol=ZZZZ&limit=10`)).body;
    assert.deepEqual(afterwards, before);
  });

  test('latest, history and bars through the API match the input', async () => {
    // Ingest is asynchronous behind the bus: wait until the store has everything.
    const want = ticks.filter((t) => t.symbol === 'AAPL');
    let hist: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 200; i++) {
      hist = [];
      let cursor: string | null = null;
      do {
        const q: string = `${url}/v1/prices/history?symbol=AAPL&limit=70${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const r = await getJson<{ ticks: Array<Record<string, unknown>>; next_cursor: string | null }>(q);
        assert.equal(r.status, 200);
        hist.push(...r.body.ticks);
        cursor = r.body.next_cursor;
      } while (cursor);
      if (hist.length >= want.length) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(hist.length, want.length, 'history holds each good AAPL tick once, and no quarantined one');
    const sorted = [...want].sort((a, b) => parseIsoMicros(a.ts)! - parseIsoMicros(b.ts)!);
    assert.deepEqual(hist.map((t) => t.ts), sorted.map((t) => t.ts), 'paged history in event-time order with µs kept');
    assert.deepEqual(hist.map((t) => t.price), sorted.map((t) => t.price));

    const latest = await getJson<Record<string, unknown>>(`${url}/v1/prices/latest?symbol=AAPL`);
    assert.equal(latest.status, 200);
    assert.equal(latest.body.ts, sorted.at(-1)!.ts, 'latest = newest event time, not last arrival');
    assert.equal(latest.body.price, sorted.at(-1)!.price);
    assert.equal(latest.body.provider, 'api');
    assert.ok(typeof latest.body.age_ms === 'number' && latest.body.age_ms > 0);

    for (const symbol of SYMBOLS) {
      for (const interval of ['1m', '5m', '1h', '1d'] as const) {
        const r = await getJson<{ bars: Array<Record<string, unknown>> }>(`${url}/v1/bars?symbol=${symbol}&interval=${interval}&limit=10000`);
        assert.equal(r.status, 200);
        const exp = expectedBars(ticks, symbol, interval);
        assert.equal(r.body.bars.length, exp.length, `${symbol} ${interval} bar count`);
        r.body.bars.forEach((b, i) => {
          const e = exp[i]!;
          assert.deepEqual(
            { start: b.start, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume, trades: b.trades },
            e,
            `${symbol} ${interval} bar ${i}`,
          );
        });
      }
    }
    const ranged = await getJson<{ bars: unknown[] }>(`${url}/v1/bars?symbol=AAPL&interval=1h&from=2024-05-01T14:00:00Z&to=2024-05-01T15:00:00Z`);
    assert.equal(ranged.body.bars.length, 1);
  });

  test('symbols, health, readiness, metrics and the seed-compatible routes', async () => {
    const syms = await getJson<{ symbols: Array<{ symbol: string }> }>(`${url}/v1/symbols`);
    assert.deepEqual(syms.body.symbols.map((s) => s.symbol).sort(), [...SYMBOLS].sort());
    const h = await getJson<Record<string, unknown>>(`${url}/health`);
    assert.equal(h.status, 200);
    for (const dep of d.apiDependencies) assert.equal(h.body[`${dep}_status`], 'OK', dep);
    assert.equal((await getJson(`${url}/ready`)).status, 200);
    const m = (await Promise.all(d.processMetricsUrls().map(async (u) => (await fetch(u)).text()))).join('\n');
    assert.match(m, /tickline_ticks_processed_total\{result="pass"\} 900/);
    assert.match(m, /tickline_quarantined_total\{reason="price_positive"\} 1/);

    const seed = await post(`${url}/ingest/quote`, JSON.stringify({ symbol: 'NVDA', price: 120.5, volume: 300, timestamp: new Date().toISOString() }));
    assert.deepEqual([seed.status, seed.body], [202, { status: 'accepted', symbol: 'NVDA' }]);
    await until(async () => (await getJson(`${url}/market_data/last_price/NVDA`)).status === 200, 15_000, 'the seed quote in the cache');
    assert.deepEqual((await getJson(`${url}/market_data/last_price/NVDA`)).body, { symbol: 'NVDA', price: 120.5 });
    assert.deepEqual((await getJson(`${url}/market_data/last_price/NOPE`)).body, { detail: 'Symbol not found in cache' });
    const pl = await getJson<Record<string, unknown>>(`${url}/prices/latest?symbol=NVDA`);
    assert.equal(pl.body.price, 120.5);
    assert.equal(pl.body.provider, 'api');
    assert.equal((await getJson(`${url}/prices/latest?symbol=NVDA&provider=yahoo`)).status, 404);
    assert.equal((await post(`${url}/ingest/quote`, JSON.stringify({ symbol: 'NVDA' }))).status, 422);
  });

  test('the OpenAPI document describes every route; Swagger UI is served locally', async () => {
    const doc = await getJson<{ openapi: string; paths: Record<string, unknown> }>(`${url}/openapi.json`);
    assert.match(doc.body.openapi, /^3\./);
    for (const path of ['/health', '/ready', '/metrics', '/v1/symbols', '/v1/prices/latest', '/v1/prices/history', '/v1/bars', '/v1/ticks', '/ingest/quote', '/market_data/last_price/{symbol}', '/prices/latest']) {
      assert.ok(path in doc.body.paths, `${path} in OpenAPI`);
    }
    const ui = await fetch(`${url}/docs/`);
    assert.equal(ui.status, 200);
    assert.doesNotMatch(await ui.text(), /https?:\/\/(cdn|unpkg|cdnjs)/);
  });

  test('zones: every tick in raw, failing ones in quarantine with their reason, by event-time partition', async () => {
    await waitProcessed(d, ticks.length + BAD.length + 1);
    await d.stop(); // flushes the zones and makes their files visible
    const root = d.zonesDir;
    const files = filesUnder(root);
    const raw = files.filter((f) => f.startsWith('raw/ticks/'));
    assert.ok(raw.every((f) => /^raw\/ticks\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/part-[^/]+\.jsonl$/.test(f)), raw.join('\n'));
    assert.ok(!files.some((f) => f.includes('inprogress')), 'no in-progress files after a graceful stop');
    const rawRows: Array<Record<string, unknown>> = raw.flatMap((f) => readJsonl(join(root, f)).map((r) => ({ ...r, file: f })));
    // 900 known + 4 bad + 1 seed quote
    assert.equal(rawRows.length, ticks.length + BAD.length + 1);
    for (const r of rawRows.slice(0, 50)) {
      const ts = String(r.ts);
      assert.ok(String(r.file).includes(`date=${ts.slice(0, 10)}/hour=${ts.slice(11, 13)}/`), `${ts} in ${r.file}`);
    }
    const partitions = new Set(raw.map((f) => f.split('/').slice(2, 4).join('/')));
    for (const h of ['13', '14', '15', '16']) assert.ok(partitions.has(`date=2024-05-01/hour=${h}`), `partition hour=${h}`);
    assert.ok(partitions.has('date=2999-01-01/hour=00'), 'the future tick is partitioned by its own event time');
    const q = files.filter((f) => f.startsWith('quarantine/ticks/')).flatMap((f) => readJsonl(join(root, f)));
    assert.deepEqual(q.map((r) => r.reason).sort(), BAD.map(([, reason]) => reason).sort());
    assert.ok(q.every((r) => typeof r.detail === 'string' && (r.detail as string).length > 0));
  });

  test('after a graceful restart the history, bars and latest price are still there', async () => {
    url = await d.start();
    const hist = await getJson<{ ticks: unknown[] }>(`${url}/v1/prices/history?symbol=MSFT&limit=10000`);
    assert.equal(hist.body.ticks.length, ticks.filter((t) => t.symbol === 'MSFT').length);
    const bars = await getJson<{ bars: Array<Record<string, unknown>> }>(`${url}/v1/bars?symbol=MSFT&interval=5m&limit=10000`);
    assert.deepEqual(
      bars.body.bars.map((b) => [b.start, b.open, b.close, b.volume, b.trades]),
      expectedBars(ticks, 'MSFT', '5m').map((b) => [b.start, b.open, b.close, b.volume, b.trades]),
    );
    const latest = await getJson<Record<string, unknown>>(`${url}/v1/prices/latest?symbol=MSFT`);
    assert.equal(latest.status, 200, 'the cache is warmed from the store after a restart');
    // A late tick after the restart updates the bar it belongs to.
    const late = { symbol: 'MSFT', ts: formatIsoMicros(T0 + 1), price: 999.99, size: 7 };
    assert.equal((await post(`${url}/v1/ticks`, JSON.stringify([late]))).status, 202);
    await waitProcessed(d, 1);
    await d.stop();
    url = await d.start();
    const day = await getJson<{ bars: Array<Record<string, unknown>> }>(`${url}/v1/bars?symbol=MSFT&interval=1d`);
    const exp = expectedBars([...ticks, late], 'MSFT', '1d')[0]!;
    assert.deepEqual([day.body.bars[0]!.open, day.body.bars[0]!.high, day.body.bars[0]!.volume, day.body.bars[0]!.trades], [exp.open, exp.high, exp.volume, exp.trades]);
    assert.equal(exp.open, 999.99);
  });
});
}
