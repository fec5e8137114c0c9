import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { fixture, serve, serveWs, type FixtureServer, type FixtureWsServer, type Reply, type SeenRequest } from '../../../test/fixtures/providers/server.ts';
import type { Tick } from '../../core/tick.ts';
import { CoinbaseProvider, type CoinbaseOptions } from './coinbase.ts';
import { ProviderMetrics } from './metrics.ts';
import type { GapEvent, Rejected } from './types.ts';

const closers: Array<{ close(): Promise<void> }> = [];
after(() => Promise.all(closers.map((c) => c.close())));

interface Trade {
  time: string;
  trade_id: number;
  price: string;
  size: string;
  side: string;
}

function trade(id: number): Trade {
  return { time: new Date(Date.UTC(2024, 4, 28, 14) + id * 10).toISOString().replace('Z', '123Z'), trade_id: id, price: (68_000 + id / 100).toFixed(2), size: '0.01000000', side: 'buy' };
}

/** A feed message for trade `id`, shaped like Coinbase's `match`. */
function match(id: number, type = 'match', product = 'BTC-USD'): Record<string, unknown> {
  const t = trade(id);
  return { type, trade_id: id, maker_order_id: `m-${id}`, taker_order_id: `t-${id}`, side: 'sell', size: t.size, price: t.price, product_id: product, sequence: 50_000 + id * 7, time: t.time };
}

/** `/products/{id}/trades` with Coinbase's cursor pagination (newest first, `after` = older than), at most `pageCap` per page. */
function tradesApi(trades: Trade[], pageCap: number): (req: SeenRequest) => Reply {
  return (req) => {
    if (!/^\/products\/BTC-USD\/trades$/.test(req.path)) return { status: 404, body: '{"message":"NotFound"}' };
    const afterId = Number(req.query.get('after') ?? Infinity);
    const limit = Math.min(Number(req.query.get('limit') ?? 1000), pageCap);
    const page = trades.filter((t) => t.trade_id < afterId).sort((a, b) => b.trade_id - a.trade_id).slice(0, limit);
    const headers: Record<string, string> = page.length > 0 ? { 'cb-before': String(page[0]!.trade_id), 'cb-after': String(page.at(-1)!.trade_id) } : {};
    return { body: JSON.stringify(page), headers };
  };
}

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Harness {
  ws: FixtureWsServer;
  rest: FixtureServer;
  ticks: Tick[];
  gaps: GapEvent[];
  rejected: Rejected[];
  metrics: ProviderMetrics;
  registry: Registry;
  provider: CoinbaseProvider;
  send(conn: number, msg: unknown): void;
  stop(): Promise<void>;
  done: Promise<void>;
}

async function start(rest: (req: SeenRequest) => Reply, symbols = ['BTC-USD'], over: CoinbaseOptions = {}): Promise<Harness & { source: ReturnType<CoinbaseProvider['source']> }> {
  const ws = await serveWs();
  const restServer = await serve(rest);
  closers.push(ws, restServer);
  const registry = new Registry();
  const metrics = new ProviderMetrics(registry);
  const provider = new CoinbaseProvider({
    baseUrl: restServer.url,
    wsUrl: ws.url,
    metrics,
    random: () => 0.5,
    retry: { maxAttempts: 2, baseDelayMs: 10 },
    ...over,
    stream: { heartbeatTimeoutMs: 2_000, silenceMs: 60_000, reconnectBaseMs: 20, reconnectMaxMs: 40, ...over.stream },
  });
  const h = { ticks: [] as Tick[], gaps: [] as GapEvent[], rejected: [] as Rejected[] };
  const source = provider.source({ symbols, onGap: (g) => h.gaps.push(g), onRejected: (r) => h.rejected.push(r) });
  const ac = new AbortController();
  const done = source.run(async (b) => void h.ticks.push(...b), ac.signal);
  // Stopped here too, so a failed assertion cannot leave a source reconnecting forever.
  closers.unshift({
    close: () => {
      ac.abort();
      return done;
    },
  });
  return {
    ...h,
    ws,
    rest: restServer,
    metrics,
    registry,
    provider,
    source,
    done,
    send: (conn, msg) => ws.connections[conn]!.socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

const ids = (ticks: Tick[]): Array<number | null> => ticks.map((t) => t.seq);

test('subscribes to matches and heartbeat; matches become ticks; malformed messages are rejected', async () => {
  const h = await start(tradesApi([], 1000), ['BTC-USD', 'ETH-USD']);
  const c = await h.ws.nextSubscribed();
  assert.deepEqual(h.ws.connections[c]!.received, [{ type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channels: ['heartbeat', 'matches'] }]);
  await waitFor('connected', () => h.provider.health().connected === true);
  h.send(c, { type: 'subscriptions', channels: [{ name: 'heartbeat', product_ids: ['BTC-USD', 'ETH-USD'] }, { name: 'matches', product_ids: ['BTC-USD', 'ETH-USD'] }] });
  h.send(c, match(100, 'last_match'));
  h.send(c, { type: 'heartbeat', sequence: 50_710, last_trade_id: 100, product_id: 'BTC-USD', time: '2024-05-28T14:00:01.000000Z' });
  h.send(c, match(101));
  h.send(c, 'not json{');
  h.send(c, { ...match(7, 'match', 'ETH-USD'), price: 'abc' });
  await waitFor('two rejects', () => h.rejected.length === 2);
  await h.stop();
  assert.deepEqual(ids(h.ticks), [100, 101]);
  assert.deepEqual(h.ticks[1], {
    symbol: 'BTC-USD',
    ts: Date.parse(trade(101).time.replace('123Z', 'Z')) * 1000 + 123,
    price: 68001.01,
    size: 0.01,
    bid: null,
    ask: null,
    currency: 'USD',
    provider: 'coinbase',
    seq: 101,
    recvTs: h.ticks[1]!.recvTs,
  });
  assert.deepEqual(h.rejected.map((r) => [r.symbol, r.reason]), [
    [null, 'message is not a JSON object with a type'],
    ['ETH-USD', 'price must be a number, got "abc"'],
  ]);
  assert.equal(h.rejected[0]!.payload, 'not json{');
  assert.deepEqual(h.gaps, []);
  assert.equal(h.source.stats().emitted, 2);
  assert.equal(h.source.stats().running, false);
});

test('a trade-id gap is backfilled over REST (paginated) exactly, in order, without duplicates', async () => {
  const store = Array.from({ length: 11 }, (_, i) => trade(100 + i));
  const h = await start(tradesApi(store, 2));
  const c = await h.ws.nextSubscribed();
  h.send(c, match(100));
  h.send(c, match(101));
  h.send(c, match(106));
  await waitFor('the backfilled trades', () => h.ticks.length === 7);
  // Repeats after the backfill (an overlap, a replayed trade) are dropped.
  h.send(c, match(104));
  h.send(c, match(106));
  h.send(c, match(107));
  await waitFor('107', () => h.ticks.length >= 8);
  await h.stop();
  assert.deepEqual(ids(h.ticks), [100, 101, 102, 103, 104, 105, 106, 107]);
  assert.equal(h.ticks[3]!.price, 68001.03, 'backfilled ticks carry the REST trade');
  assert.deepEqual(h.rest.requests.map((r) => [r.path, r.query.get('after'), r.query.get('limit')]), [
    ['/products/BTC-USD/trades', '106', '4'],
    ['/products/BTC-USD/trades', '104', '2'],
  ]);
  assert.equal(h.gaps.length, 1);
  const { detectedAt, ...gap } = h.gaps[0]!;
  assert.deepEqual(gap, { provider: 'coinbase', symbol: 'BTC-USD', kind: 'trade_id', from: 102, to: 105, backfilled: 4, error: null });
  assert.ok(detectedAt > 0);
  const text = await h.registry.metrics();
  assert.match(text, /tickline_provider_gaps_total\{provider="coinbase",kind="trade_id"\} 1/);
  assert.match(text, /tickline_provider_backfilled_ticks_total\{provider="coinbase"\} 4/);
});

test('after a disconnect it reconnects, resubscribes, and backfills the trades it missed meanwhile', async () => {
  const store = Array.from({ length: 10 }, (_, i) => trade(100 + i));
  const h = await start(tradesApi(store, 1000));
  const c1 = await h.ws.nextSubscribed();
  h.send(c1, match(100));
  h.send(c1, match(101));
  await waitFor('two ticks', () => h.ticks.length === 2);
  const resubscribed = h.ws.nextSubscribed();
  h.ws.connections[c1]!.socket.terminate();
  const c2 = await resubscribed;
  assert.equal(c2, 1);
  assert.deepEqual(h.ws.connections[c2]!.received, h.ws.connections[c1]!.received, 'the same subscription again');
  // On subscribing, Coinbase sends the latest trade: 104 shows that 102..103 happened while disconnected.
  h.send(c2, match(104, 'last_match'));
  await waitFor('the backfill', () => h.ticks.length === 5);
  assert.match(h.source.stats().lastError ?? '', /coinbase: stream connection (failed|closed) \(code 1006\)/);
  await h.stop();
  assert.deepEqual(ids(h.ticks), [100, 101, 102, 103, 104]);
  assert.deepEqual(h.gaps.map((g) => [g.from, g.to, g.backfilled]), [[102, 103, 2]]);
  assert.match(await h.registry.metrics(), /tickline_provider_reconnects_total\{provider="coinbase"\} 1/);
});

test('no message at all (not even a heartbeat) for the timeout: it drops the connection and reconnects', async () => {
  const h = await start(tradesApi([], 1000), ['BTC-USD'], { stream: { heartbeatTimeoutMs: 200 } });
  await h.ws.nextSubscribed();
  const started = Date.now();
  const c2 = await h.ws.nextSubscribed();
  assert.equal(c2, 1);
  assert.ok(Date.now() - started < 2000);
  await waitFor('the reason', () => /no message for 200 ms/.test(h.source.stats().lastError ?? ''));
  await h.stop();
});

test('a product without trades for the silence threshold is reported once as a silence gap', async () => {
  const h = await start(tradesApi([], 1000), ['BTC-USD'], { stream: { silenceMs: 150, heartbeatTimeoutMs: 1000 } });
  const c = await h.ws.nextSubscribed();
  const beat = setInterval(() => h.send(c, { type: 'heartbeat', sequence: 1, last_trade_id: 0, product_id: 'BTC-USD', time: new Date().toISOString() }), 30);
  try {
    await waitFor('a silence gap', () => h.gaps.length === 1);
    await sleep(300);
    assert.equal(h.gaps.length, 1, 'one report per silence');
    h.send(c, match(500));
    await waitFor('a second silence after the trade', () => h.gaps.length === 2);
  } finally {
    clearInterval(beat);
  }
  await h.stop();
  const [first, second] = h.gaps;
  assert.equal(first!.kind, 'silence');
  assert.equal(first!.symbol, 'BTC-USD');
  assert.ok(first!.to - first!.from >= 150_000, 'from/to span the silence in µs');
  assert.equal(first!.backfilled, 0);
  assert.ok(second!.from >= h.ticks[0]!.recvTs, 'the second silence starts at the trade');
});

test('a failed backfill is reported on the gap and the stream goes on', async () => {
  const h = await start(() => ({ status: 503, body: 'maintenance' }));
  const c = await h.ws.nextSubscribed();
  h.send(c, match(100));
  h.send(c, match(103));
  await waitFor('103', () => h.ticks.length === 2);
  await h.stop();
  assert.deepEqual(ids(h.ticks), [100, 103]);
  assert.equal(h.gaps[0]!.backfilled, 0);
  assert.match(h.gaps[0]!.error ?? '', /HTTP 503 .*maintenance.*gave up after 2 attempts/);
});

test('stopping ends the source promptly, even in the middle of a backfill', async () => {
  const h = await start(() => ({ hang: true }), ['BTC-USD'], { timeoutMs: 30_000 });
  const c = await h.ws.nextSubscribed();
  h.send(c, match(100));
  h.send(c, match(105));
  await waitFor('the backfill request', () => h.rest.requests.length === 1);
  const started = Date.now();
  await h.stop();
  assert.ok(Date.now() - started < 1000);
  assert.ok(!ids(h.ticks).includes(105), 'the trade behind the unfinished backfill was not emitted');
  assert.equal(h.provider.health().connected, null, 'no running stream');
});

test('trades(): a recorded REST page as ticks, ascending', async () => {
  const rest = await serve(() => ({ body: fixture('coinbase-trades-btc-usd.json'), headers: { 'cb-after': '658402181' } }));
  closers.push(rest);
  const p = new CoinbaseProvider({ baseUrl: rest.url });
  const { items, rejected } = await p.trades('BTC-USD', 658402181, 658402184);
  assert.deepEqual(rejected, []);
  assert.deepEqual(Object.fromEntries(rest.requests[0]!.query), { after: '658402185', limit: '4' });
  assert.deepEqual(items.map((t) => [t.seq, t.price, t.size, t.ts]), [
    [658402181, 68421.34, 0.0043, Date.UTC(2024, 4, 28, 14, 0, 1) * 1000 + 306311],
    [658402182, 68419.99, 0.02, Date.UTC(2024, 4, 28, 14, 0, 2) * 1000 + 811954],
    [658402183, 68420, 0.00073085, Date.UTC(2024, 4, 28, 14, 0, 2) * 1000 + 811954],
    [658402184, 68420.01, 0.00146, Date.UTC(2024, 4, 28, 14, 0, 2) * 1000 + 917253],
  ]);
  assert.throws(() => p.checkSymbol('btc-usd'), { code: 'TL_ERR_VALIDATION' });
  assert.equal(p.minIntervalMs(), 0);
  assert.equal('history' in p, false, 'no daily history: REST trades serve gap backfill');
});
