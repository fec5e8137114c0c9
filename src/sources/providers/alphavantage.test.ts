import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { fixture, serve, type FixtureServer, type Reply, type SeenRequest } from '../../../test/fixtures/providers/server.ts';
import { AlphaVantageProvider, quoteTime, type AlphaVantageOptions } from './alphavantage.ts';

/** The key the daily-limit fixture echoes back, as Alpha Vantage does. */
const KEY = 'AVKEY-SECRET-123';

const servers: FixtureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function av(route: (req: SeenRequest) => Reply, over: AlphaVantageOptions = {}): Promise<{ p: AlphaVantageProvider; server: FixtureServer; clock: FakeClock }> {
  const server = await serve(route);
  servers.push(server);
  const clock = new FakeClock();
  const p = new AlphaVantageProvider({ baseUrl: server.url, apiKey: KEY, clock, random: () => 0.5, retry: { maxAttempts: 3, baseDelayMs: 1000 }, ...over });
  return { p, server, clock };
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) * 1000;

test('GLOBAL_QUOTE: the price as a tick, stamped at the close of its trading day', async () => {
  const { p, server, clock } = await av(() => ({ body: fixture('alphavantage-global-quote-ibm.json') }));
  const { items, rejected } = await p.quotes(['IBM']);
  const q = server.requests[0]!;
  assert.equal(q.path, '/query');
  assert.deepEqual(Object.fromEntries(q.query), { function: 'GLOBAL_QUOTE', symbol: 'IBM', apikey: KEY });
  assert.deepEqual(rejected, []);
  assert.deepEqual(items, [
    {
      symbol: 'IBM',
      // 2024-05-24 was a Friday; the clock is on Tuesday the 28th: 16:00 New York (EDT) is 20:00 UTC.
      ts: Date.UTC(2024, 4, 24, 20, 0, 0) * 1000,
      price: 170.42,
      size: 0,
      bid: null,
      ask: null,
      currency: 'USD',
      provider: 'alphavantage',
      seq: null,
      recvTs: clock.now() * 1000,
    },
  ]);
});

test('a quote for today (New York) is stamped when received; winter closes are at 21:00 UTC', () => {
  const noonNy = Date.UTC(2024, 4, 28, 16, 0, 0) * 1000;
  assert.equal(quoteTime('2024-05-28', noonNy), noonNy);
  assert.equal(quoteTime('2024-01-12', noonNy), Date.UTC(2024, 0, 12, 21, 0, 0) * 1000);
});

test('quotes: an unknown symbol (Error Message) or an empty quote is rejected; the other symbols still count', async () => {
  const { p, server } = await av((req) => {
    const sym = req.query.get('symbol');
    return { body: fixture(sym === 'IBM' ? 'alphavantage-global-quote-ibm.json' : sym === 'NOPE' ? 'alphavantage-error.json' : 'alphavantage-global-quote-empty.json') };
  });
  const { items, rejected } = await p.quotes(['NOPE', 'IBM', 'GONE']);
  assert.equal(server.requests.length, 3, 'one request per symbol, none retried');
  assert.deepEqual(items.map((t) => t.symbol), ['IBM']);
  assert.deepEqual(rejected.map((r) => r.symbol), ['NOPE', 'GONE']);
  assert.match(rejected[0]!.reason, /no data for "NOPE": Invalid API call/);
  assert.match(rejected[1]!.reason, /no quote for "GONE" \(empty "Global Quote"\)/);
  assert.equal(rejected[0]!.payload, fixture('alphavantage-error.json'));
});

test('a Note (throttling, HTTP 200) is retried with backoff and counts against the budget', async () => {
  const { p, server, clock } = await av((req) => ({ body: fixture(server.requests.indexOf(req) === 0 ? 'alphavantage-note.json' : 'alphavantage-global-quote-ibm.json') }), {
    limits: [{ capacity: 2, perSecond: 0.001 }],
  });
  const { items } = await p.quotes(['IBM']);
  assert.equal(items.length, 1);
  assert.equal(server.requests.length, 2);
  assert.deepEqual(clock.sleeps, [500], 'one backoff (full jitter of 1000 ms)');
  assert.equal(p.health().budgetAvailable, 0, 'both requests spent a token');
  assert.match(p.health().lastError ?? '', /rate limited: Thank you for using Alpha Vantage!/);
  assert.equal(p.health().circuit, 'closed');
});

test('history: an Error Message is TL_ERR_NOT_FOUND naming the symbol, not retried', async () => {
  const { p, server } = await av(() => ({ body: fixture('alphavantage-error.json') }));
  await assert.rejects(p.history('NOPE', day('2024-05-01'), day('2024-06-01')), { code: 'TL_ERR_NOT_FOUND', message: /alphavantage: no data for "NOPE"/ });
  assert.equal(server.requests.length, 1);
});

test('the API key never reaches an error message, the health snapshot, a log line or a rejected payload', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  // The daily-limit notice quotes the key; after the retries it becomes the error and the health's last error.
  const { p, server } = await av(() => ({ body: fixture('alphavantage-information-daily-limit.json') }), { log });
  let message = '';
  await assert.rejects(p.quotes(['IBM']), (e: Error) => {
    message = e.message;
    return true;
  });
  assert.equal(server.requests.length, 3);
  assert.match(message, /We have detected your API key as \[redacted\]/);
  assert.match(message, /gave up after 3 attempts/);
  const health = JSON.stringify(p.health());
  assert.match(health, /\[redacted\]/);
  assert.ok(lines.length >= 2, 'the retries were logged');
  assert.match(lines.join(''), /apikey=\[redacted\]/, 'logged URLs keep the parameter name');

  // A server error: its message carries the URL (with the key in the query string).
  const { p: p2 } = await av(() => ({ status: 500, body: `internal error for /query?apikey=${KEY}` }), { log, retry: { maxAttempts: 1 } });
  await assert.rejects(p2.history('IBM', 0, 1), (e: Error) => {
    message += e.message;
    assert.match(e.message, /HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/query\?function=TIME_SERIES_DAILY&symbol=IBM&outputsize=compact&apikey=\[redacted\]/);
    return true;
  });

  // A malformed body echoing the key is rejected with the key redacted.
  const { p: p3 } = await av(() => ({ body: `not json: ${KEY}` }));
  const { rejected } = await p3.quotes(['IBM']);

  for (const text of [message, health, JSON.stringify(p2.health()), lines.join(''), JSON.stringify(rejected)]) {
    assert.ok(!text.includes(KEY), `key found in: ${text.slice(0, 300)}`);
    assert.ok(!text.includes(encodeURIComponent(KEY)));
  }
  assert.equal(rejected[0]!.payload, 'not json: [redacted]');
});

test('TIME_SERIES_DAILY: bars by date, oldest first; a malformed day is rejected, the rest kept', async () => {
  const { p, server } = await av(() => ({ body: fixture('alphavantage-daily-ibm.json') }));
  const { items, rejected } = await p.history('IBM', day('2024-05-20'), day('2024-05-24'));
  assert.deepEqual(Object.fromEntries(server.requests[0]!.query), { function: 'TIME_SERIES_DAILY', symbol: 'IBM', outputsize: 'compact', apikey: KEY });
  assert.deepEqual(items.map((b) => [new Date(b.start / 1000).toISOString().slice(0, 10), b.open, b.high, b.low, b.close, b.volume]), [
    ['2024-05-20', 169, 170.16, 168.38, 169.92, 2726344],
    ['2024-05-21', 169.94, 174.97, 169.94, 173.47, 7554924],
    ['2024-05-23', 172.9, 173.56, 168.38, 169.66, 5134367],
  ]);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!.reason, /"2024-05-22"/);
  assert.deepEqual(JSON.parse(rejected[0]!.payload)['2024-05-22']['2. high'], 'n/a');
  assert.ok(items.every((b) => b.interval === '1d' && b.trades === 0));
});

test('DIGITAL_CURRENCY_DAILY for BASE-MARKET symbols', async () => {
  const { p, server } = await av(() => ({ body: fixture('alphavantage-digital-daily-btc-eur.json') }));
  const { items, rejected } = await p.history('BTC-EUR', day('2024-05-01'), day('2024-06-01'));
  assert.deepEqual(Object.fromEntries(server.requests[0]!.query), { function: 'DIGITAL_CURRENCY_DAILY', symbol: 'BTC', market: 'EUR', apikey: KEY });
  assert.deepEqual(rejected, []);
  assert.deepEqual(items.map((b) => [b.symbol, new Date(b.start / 1000).toISOString().slice(0, 10), b.close, b.volume]), [
    ['BTC-EUR', '2024-05-26', 63208.21, 144.61339466],
    ['BTC-EUR', '2024-05-27', 63216.77, 209.68830286],
    ['BTC-EUR', '2024-05-28', 63111.48, 32.30569498],
  ]);
});

test('configuration: a key is required, quotes are for equities, the interval follows the daily budget', () => {
  assert.throws(() => new AlphaVantageProvider({}), { code: 'TL_ERR_CONFIG', message: /TICKLINE_ALPHAVANTAGE_KEY/ });
  const p = new AlphaVantageProvider({ apiKey: 'k' });
  assert.throws(() => p.checkSymbol('BTC-USD'), { code: 'TL_ERR_VALIDATION', message: /history .* but no quotes/ });
  p.checkSymbol('TSCO.LON');
  // 25 requests a day: one symbol every 3,456 s.
  assert.equal(p.minIntervalMs(1), 3_456_000);
  assert.equal(new AlphaVantageProvider({ apiKey: 'k', limits: [{ capacity: 75, perSecond: 75 / 60 }] }).minIntervalMs(5), 4000);
});
