import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { fixture, serve, type FixtureServer, type Reply, type SeenRequest } from '../../../test/fixtures/providers/server.ts';
import { CoinGeckoProvider, type CoinGeckoOptions } from './coingecko.ts';

const servers: FixtureServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function gecko(route: (req: SeenRequest) => Reply, over: CoinGeckoOptions = {}): Promise<{ p: CoinGeckoProvider; server: FixtureServer; clock: FakeClock }> {
  const server = await serve(route);
  servers.push(server);
  const clock = new FakeClock(Date.UTC(2024, 2, 25, 9, 5, 11));
  return { p: new CoinGeckoProvider({ baseUrl: server.url, clock, random: () => 0.5, ...over }), server, clock };
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) * 1000;

test('quotes: one simple/price request for every coin and currency; the key goes in the demo header', async () => {
  const { p, server, clock } = await gecko(() => ({ body: fixture('coingecko-simple-price.json') }), { apiKey: 'cg-demo-key' });
  const { items, rejected } = await p.quotes(['BTC-USD', 'ETH-USD', 'BTC-EUR']);
  const q = server.requests[0]!;
  assert.equal(server.requests.length, 1);
  assert.equal(q.path, '/api/v3/simple/price');
  assert.deepEqual(Object.fromEntries(q.query), { ids: 'bitcoin,ethereum', vs_currencies: 'usd,eur', include_last_updated_at: 'true' });
  assert.equal(q.headers['x-cg-demo-api-key'], 'cg-demo-key');
  assert.ok(!q.path.includes('cg-demo-key') && ![...q.query.values()].includes('cg-demo-key'), 'the key is not in the URL');
  assert.deepEqual(rejected, []);
  assert.deepEqual(items[0], {
    symbol: 'BTC-USD',
    ts: 1711356300 * 1_000_000,
    price: 67187.33,
    size: 0,
    bid: null,
    ask: null,
    currency: 'USD',
    provider: 'coingecko',
    seq: null,
    recvTs: clock.now() * 1000,
  });
  assert.deepEqual(items.map((t) => [t.symbol, t.price, t.currency]), [
    ['BTC-USD', 67187.33, 'USD'],
    ['ETH-USD', 3470.64, 'USD'],
    ['BTC-EUR', 61993.47, 'EUR'],
  ]);
});

test('the pro plan uses its header; a public client sends no key', async () => {
  const { p, server } = await gecko(() => ({ body: fixture('coingecko-simple-price.json') }), { apiKey: 'cg-pro-key', plan: 'pro' });
  await p.quotes(['BTC-USD']);
  assert.equal(server.requests[0]!.headers['x-cg-pro-api-key'], 'cg-pro-key');
  assert.equal(server.requests[0]!.headers['x-cg-demo-api-key'], undefined);
  const { p: pub, server: s2 } = await gecko(() => ({ body: fixture('coingecko-simple-price.json') }));
  await pub.quotes(['BTC-USD']);
  assert.equal(s2.requests[0]!.headers['x-cg-demo-api-key'], undefined);
  assert.equal(pub.minIntervalMs(3), 6000, 'keyless: 10 requests a minute');
  assert.equal(p.minIntervalMs(3), 240);
});

test('quotes: a bad price or a missing timestamp is rejected with its entry; the rest is kept', async () => {
  const { p } = await gecko(() => ({ body: fixture('coingecko-simple-price-malformed.json') }));
  const { items, rejected } = await p.quotes(['BTC-USD', 'ETH-USD', 'SOL-USD']);
  assert.deepEqual(items.map((t) => t.symbol), ['BTC-USD']);
  assert.deepEqual(rejected.map((r) => [r.symbol, r.reason]), [
    ['ETH-USD', 'ethereum.usd must be a number, got "3470.64.1"'],
    ['SOL-USD', 'solana.last_updated_at must be epoch seconds, got undefined'],
  ]);
  assert.deepEqual(JSON.parse(rejected[1]!.payload), { solana: { usd: 187.12 } });
});

test('symbols map to coin ids; unknown ones are refused, and the map can be extended', () => {
  const p = new CoinGeckoProvider({});
  assert.throws(() => p.checkSymbol('PEPE-USD'), { code: 'TL_ERR_VALIDATION', message: /no coin id for "PEPE" .*ids option/ });
  assert.throws(() => p.checkSymbol('bitcoin'), { code: 'TL_ERR_VALIDATION', message: /BASE-QUOTE/ });
  new CoinGeckoProvider({ ids: { PEPE: 'pepe' } }).checkSymbol('PEPE-USD');
  assert.throws(() => new CoinGeckoProvider({ plan: 'pro' }), { code: 'TL_ERR_CONFIG', message: /needs an API key/ });
});

test('history: market_chart samples become daily bars (first, high, low, last; the day\'s last 24 h volume)', async () => {
  const { p, server } = await gecko(() => ({ body: fixture('coingecko-market-chart-bitcoin.json') }));
  const { items, rejected } = await p.history('BTC-USD', day('2024-03-23'), day('2024-03-26'));
  assert.equal(server.requests[0]!.path, '/api/v3/coins/bitcoin/market_chart');
  assert.deepEqual(Object.fromEntries(server.requests[0]!.query), { vs_currency: 'usd', days: '3' });
  assert.deepEqual(rejected, []);
  assert.deepEqual(items.map((b) => [new Date(b.start / 1000).toISOString().slice(0, 10), b.open, b.high, b.low, b.close, b.volume]), [
    ['2024-03-23', 64454.25785695, 64741.18626047, 62067.81901858, 62067.81901858, 27715890782.77],
    ['2024-03-24', 61918.57631582, 62101.97187381, 60409.27675432, 60526.01275805, 26530023376.6],
    ['2024-03-25', 60398.37534571, 60398.37534571, 59721.94010328, 60149.64398202, 26185551356.64],
  ]);
  const { items: two } = await p.history('BTC-USD', day('2024-03-24'), day('2024-03-25'));
  assert.deepEqual(two.map((b) => b.start), [day('2024-03-24')]);
});

test('history: malformed samples are rejected, the bars are built from the rest', async () => {
  const { p } = await gecko(() => ({ body: fixture('coingecko-market-chart-malformed.json') }));
  const { items, rejected } = await p.history('BTC-USD', day('2024-03-23'), day('2024-03-26'));
  assert.equal(items.length, 3);
  assert.deepEqual(rejected.map((r) => r.payload), ['[1711163110951,null]', '"oops"']);
  assert.match(rejected[0]!.reason, /prices: a sample must be \[epoch ms, number\]/);
});
