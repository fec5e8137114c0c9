import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TicklineError } from '../../core/errors.ts';
import { toMicros } from '../../core/time.ts';
import { fakeApi, tick } from '../test-fakes.ts';

const T0 = toMicros('2024-01-02T15:00:00.000001Z')!;
const S = 1_000_000;

describe('GET /v1/symbols', () => {
  it('merges stored symbols with the cache, cache-only symbols included', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.store.ticks.push(tick({ symbol: 'MSFT', ts: T0 }), tick({ symbol: 'MSFT', ts: T0 + S }), tick({ symbol: 'AAPL', ts: T0 }));
    await deps.cache.put([tick({ symbol: 'AAPL', price: 190.5 }), tick({ symbol: 'BTC-USD', price: 42_000 })]);
    const res = await app.inject('/v1/symbols');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().symbols, [
      { symbol: 'AAPL', ticks: 1, first_ts: '2024-01-02T15:00:00.000001Z', last_ts: '2024-01-02T15:00:00.000001Z', last_price: 190.5 },
      { symbol: 'BTC-USD', ticks: 0, first_ts: null, last_ts: null, last_price: 42_000 },
      { symbol: 'MSFT', ticks: 2, first_ts: '2024-01-02T15:00:00.000001Z', last_ts: '2024-01-02T15:00:01.000001Z', last_price: null },
    ]);
  });
});

describe('GET /v1/prices/latest', () => {
  it('answers one symbol (case-insensitive) with µs timestamps and age', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    await deps.cache.put([tick({ symbol: 'AAPL', price: 190.5, size: 10, bid: 190.4, ask: 190.6, provider: 'sim' })]);
    const res = await app.inject('/v1/prices/latest?symbol=aapl');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.symbol, 'AAPL');
    assert.equal(body.price, 190.5);
    assert.equal(body.size, 10);
    assert.equal(body.bid, 190.4);
    assert.equal(body.ask, 190.6);
    assert.equal(body.currency, 'USD');
    assert.equal(body.provider, 'sim');
    assert.equal(body.ts, '2024-01-02T15:04:05.123456Z');
    assert.equal(body.received_at, '2024-01-02T15:04:05.200000Z');
    const expectedAge = Date.now() - Date.parse('2024-01-02T15:04:05.123Z');
    assert.ok(Math.abs(body.age_ms - expectedAge) < 5_000, `age_ms ${body.age_ms} vs ${expectedAge}`);
  });

  it('answers every symbol without a symbol parameter', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    await deps.cache.put([tick({ symbol: 'MSFT' }), tick({ symbol: 'AAPL' })]);
    const res = await app.inject('/v1/prices/latest');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json().prices.map((p: { symbol: string }) => p.symbol),
      ['AAPL', 'MSFT'],
    );
  });

  it('is 404 TL_ERR_NOT_FOUND naming an unknown symbol', async (t) => {
    const { app } = await fakeApi();
    t.after(() => app.close());
    const res = await app.inject('/v1/prices/latest?symbol=NOPE');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'TL_ERR_NOT_FOUND');
    assert.match(res.json().message, /"NOPE"/);
  });
});

describe('GET /v1/prices/history', () => {
  async function withHistory(t: { after: (fn: () => Promise<unknown>) => void }) {
    const api = await fakeApi();
    t.after(() => api.app.close());
    for (let i = 0; i < 5; i++) api.deps.store.ticks.push(tick({ symbol: 'AAPL', ts: T0 + i * S, price: 100 + i }));
    api.deps.store.ticks.push(tick({ symbol: 'MSFT', ts: T0 }));
    return api;
  }

  it('pages with limit and cursor', async (t) => {
    const { app } = await withHistory(t);
    const first = await app.inject('/v1/prices/history?symbol=aapl&limit=2');
    assert.equal(first.statusCode, 200);
    const p1 = first.json();
    assert.equal(p1.symbol, 'AAPL');
    assert.deepEqual(p1.ticks.map((x: { price: number }) => x.price), [100, 101]);
    assert.equal(p1.ticks[0].ts, '2024-01-02T15:00:00.000001Z');
    assert.deepEqual(Object.keys(p1.ticks[0]).sort(), ['ask', 'bid', 'currency', 'price', 'provider', 'received_at', 'seq', 'size', 'symbol', 'ts']);
    assert.equal(typeof p1.next_cursor, 'string');
    const last = await app.inject(`/v1/prices/history?symbol=AAPL&limit=10&cursor=${encodeURIComponent(p1.next_cursor)}`);
    assert.deepEqual(last.json().ticks.map((x: { price: number }) => x.price), [102, 103, 104]);
    assert.equal(last.json().next_cursor, null);
  });

  it('passes defaults, order and time bounds (ISO or epoch) to the store', async (t) => {
    const { app, deps } = await withHistory(t);
    await app.inject('/v1/prices/history?symbol=AAPL');
    assert.deepEqual(deps.store.lastHistoryQuery, { symbol: 'AAPL', from: undefined, to: undefined, limit: 1000, cursor: undefined, order: 'asc' });
    const from = encodeURIComponent('2024-01-02T15:00:01.000001Z');
    const to = String(Math.floor((T0 + 3 * S) / 1000)); // epoch ms
    const res = await app.inject(`/v1/prices/history?symbol=AAPL&from=${from}&to=${to}&order=desc`);
    assert.equal(res.statusCode, 200);
    assert.equal(deps.store.lastHistoryQuery?.from, T0 + S);
    assert.equal(deps.store.lastHistoryQuery?.to, T0 + 3 * S - 1);
    assert.equal(deps.store.lastHistoryQuery?.order, 'desc');
    assert.deepEqual(res.json().ticks.map((x: { price: number }) => x.price), [102, 101]);
  });

  for (const [query, pattern] of [
    ['limit=10001', /querystring\/limit must be <= 10000/],
    ['limit=0', /querystring\/limit must be >= 1/],
    ['limit=ten', /querystring\/limit must be integer/],
    ['from=yesterday', /querystring\/from must be an ISO 8601 date-time or an epoch number, got "yesterday"/],
    ['from=2024-01-03&to=2024-01-02', /querystring\/from .* is after querystring\/to/],
    ['order=sideways', /querystring\/order must be equal to one of the allowed values \(asc, desc\)/],
  ] as const) {
    it(`is 400 TL_ERR_VALIDATION for ${query}`, async (t) => {
      const { app, deps } = await withHistory(t);
      deps.store.lastHistoryQuery = undefined;
      const res = await app.inject(`/v1/prices/history?symbol=AAPL&${query}`);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'TL_ERR_VALIDATION');
      assert.match(res.json().message, pattern);
      assert.equal(deps.store.lastHistoryQuery, undefined);
    });
  }

  it('is 400 naming symbol when it is missing', async (t) => {
    const { app } = await withHistory(t);
    const res = await app.inject('/v1/prices/history');
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().message, 'querystring/symbol is required');
    assert.deepEqual(res.json().details, [{ location: 'querystring', field: 'symbol', message: 'querystring/symbol is required' }]);
  });

  it("answers a store's TicklineError with its own status and code", async (t) => {
    const { app, deps } = await withHistory(t);
    deps.store.history = async () => {
      throw new TicklineError('TL_ERR_VALIDATION', 'cursor "x" is not a cursor of this store');
    };
    const res = await app.inject('/v1/prices/history?symbol=AAPL&cursor=x');
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { code: 'TL_ERR_VALIDATION', message: 'cursor "x" is not a cursor of this store' });
  });
});
