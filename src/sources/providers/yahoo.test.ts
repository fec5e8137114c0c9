import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { fixture, serve, type FixtureServer, type Reply, type SeenRequest } from '../../../test/fixtures/providers/server.ts';
import { YahooProvider } from './yahoo.ts';

const servers: FixtureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function yahoo(route: (req: SeenRequest) => Reply): Promise<{ p: YahooProvider; server: FixtureServer; clock: FakeClock }> {
  const server = await serve(route);
  servers.push(server);
  const clock = new FakeClock();
  return { p: new YahooProvider({ baseUrl: server.url, clock, random: () => 0.5 }), server, clock };
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) * 1000;

test('quotes: one request for all symbols, each quote a tick with exchange time and a book', async () => {
  const { p, server, clock } = await yahoo(() => ({ body: fixture('yahoo-quote.json') }));
  const { items, rejected } = await p.quotes(['AAPL', 'MSFT', 'VOD.L']);
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0]!.path, '/v7/finance/quote');
  assert.equal(server.requests[0]!.query.get('symbols'), 'AAPL,MSFT,VOD.L');
  assert.deepEqual(rejected, []);
  assert.deepEqual(items[0], {
    symbol: 'AAPL',
    ts: Date.UTC(2024, 4, 28, 20, 0, 0) * 1000,
    price: 189.99,
    size: 0,
    bid: 189.98,
    ask: 190,
    currency: 'USD',
    provider: 'yahoo',
    seq: null,
    recvTs: clock.now() * 1000,
  });
  assert.equal(items[1]!.bid, null, 'an empty book (0) is no bid');
  assert.equal(items[1]!.ask, null);
  // London quotes in pence: converted to pounds.
  assert.equal(items[2]!.currency, 'GBP');
  assert.equal(items[2]!.price, 0.7246);
  assert.equal(items[2]!.bid, 0.724);
});

test('quotes: a bad price or a missing time is rejected with its record; the rest of the batch is kept', async () => {
  const { p } = await yahoo(() => ({ body: fixture('yahoo-quote-malformed.json') }));
  const { items, rejected } = await p.quotes(['AAPL', 'MSFT', 'NVDA']);
  assert.deepEqual(items.map((t) => [t.symbol, t.price]), [['NVDA', 1139.01]]);
  assert.deepEqual(rejected.map((r) => [r.provider, r.symbol]), [['yahoo', 'AAPL'], ['yahoo', 'MSFT']]);
  assert.match(rejected[0]!.reason, /regularMarketPrice must be a number, got "n\/a"/);
  assert.match(rejected[1]!.reason, /regularMarketTime must be epoch seconds/);
  assert.equal(JSON.parse(rejected[0]!.payload).symbol, 'AAPL');
  assert.ok(rejected[0]!.receivedAt > 0);
});

test('quotes: a body that is not JSON is one Rejected record, truncated to 4 KiB', async () => {
  const html = `<html><body>${'Will be right back… '.repeat(600)}</body></html>`;
  const { p } = await yahoo(() => ({ body: html, headers: { 'content-type': 'text/html' } }));
  const { items, rejected } = await p.quotes(['AAPL']);
  assert.deepEqual(items, []);
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0]!.symbol, null);
  assert.equal(rejected[0]!.reason, 'the body is not JSON');
  assert.equal(rejected[0]!.payload, html.slice(0, 4096));
});

test('quotes: more than 50 symbols are split over several requests', async () => {
  const { p, server } = await yahoo(() => ({ body: '{"quoteResponse":{"result":[],"error":null}}' }));
  const symbols = Array.from({ length: 120 }, (_, i) => `S${i}`);
  await p.quotes(symbols);
  assert.deepEqual(server.requests.map((r) => r.query.get('symbols')!.split(',').length), [50, 50, 20]);
});

test('history: daily bars per trading date from the chart, days without data skipped', async () => {
  const { p, server } = await yahoo(() => ({ body: fixture('yahoo-chart-aapl.json') }));
  const { items, rejected } = await p.history('AAPL', day('2024-05-20'), day('2024-05-25'));
  const q = server.requests[0]!;
  assert.equal(q.path, '/v8/finance/chart/AAPL');
  assert.equal(q.query.get('interval'), '1d');
  assert.equal(q.query.get('period1'), String(day('2024-05-19') / 1e6), 'a day early, for exchanges east of UTC');
  assert.equal(q.query.get('period2'), String(day('2024-05-25') / 1e6));
  assert.deepEqual(rejected, []);
  assert.deepEqual(
    items.map((b) => new Date(b.start / 1000).toISOString().slice(0, 10)),
    ['2024-05-20', '2024-05-21', '2024-05-23', '2024-05-24'],
  );
  assert.deepEqual(items[0], {
    symbol: 'AAPL',
    interval: '1d',
    start: day('2024-05-20'),
    open: 189.3249969482422,
    high: 191.9199981689453,
    low: 189.00999450683594,
    close: 191.0399932861328,
    volume: 44361300,
    trades: 0,
    firstTs: day('2024-05-20'),
    lastTs: day('2024-05-21') - 1,
  });
});

test('history: bars take the exchange-local trading date (Sydney opens on the previous UTC day)', async () => {
  const { p } = await yahoo(() => ({ body: fixture('yahoo-chart-bhp.json') }));
  const { items } = await p.history('BHP.AX', day('2024-01-15'), day('2024-01-17'));
  assert.deepEqual(items.map((b) => [new Date(b.start / 1000).toISOString().slice(0, 10), b.close]), [
    ['2024-01-15', 49.70000076293945],
    ['2024-01-16', 49.36000061035156],
  ]);
});

test('history: only bars inside [from, to) are returned', async () => {
  const { p } = await yahoo(() => ({ body: fixture('yahoo-chart-aapl.json') }));
  const { items } = await p.history('AAPL', day('2024-05-21'), day('2024-05-24'));
  assert.deepEqual(items.map((b) => b.start), [day('2024-05-21'), day('2024-05-23')]);
});

test('history: an unknown symbol is TL_ERR_NOT_FOUND with Yahoo\'s reason, not retried', async () => {
  const { p, server } = await yahoo(() => ({ status: 404, body: fixture('yahoo-chart-404.json') }));
  await assert.rejects(p.history('NOPE', day('2024-05-20'), day('2024-05-25')), { code: 'TL_ERR_NOT_FOUND', message: /No data found, symbol may be delisted/ });
  assert.equal(server.requests.length, 1);
});

test('history: a malformed day is rejected, the others are kept', async () => {
  const body = fixture('yahoo-chart-aapl.json').replace('191.08999633789062', '"191.08.99"');
  const { p } = await yahoo(() => ({ body }));
  const { items, rejected } = await p.history('AAPL', day('2024-05-20'), day('2024-05-25'));
  assert.equal(items.length, 3);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!.reason, /day 1: .* must be numbers/);
  assert.equal(JSON.parse(rejected[0]!.payload).open, '191.08.99');
});

test('symbols are checked, and the minimum interval follows the budget', () => {
  const p = new YahooProvider({});
  assert.throws(() => p.checkSymbol('aapl'), { code: 'TL_ERR_VALIDATION' });
  assert.throws(() => p.checkSymbol('AA PL'), { code: 'TL_ERR_VALIDATION' });
  for (const ok of ['AAPL', 'BRK-B', '^GSPC', 'EURUSD=X', 'VOD.L', 'BTC-USD']) p.checkSymbol(ok);
  assert.equal(p.minIntervalMs(1), 2000);
  assert.equal(p.minIntervalMs(51), 4000);
  assert.equal(new YahooProvider({ limits: [{ capacity: 1, perSecond: 2 }] }).minIntervalMs(1), 500);
});
