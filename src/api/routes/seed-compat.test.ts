import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toMicros } from '../../core/time.ts';
import { fakeApi, tick, type FakeOptions } from '../test-fakes.ts';

type TestContext = { after: (fn: () => Promise<unknown>) => void };

async function api(t: TestContext, opts: FakeOptions = {}) {
  const built = await fakeApi(opts);
  t.after(() => built.app.close());
  return built;
}

const QUOTE = { symbol: 'AAPL', price: 190.25, volume: 300, timestamp: '2024-01-02T15:04:05.123456' };

describe('POST /ingest/quote (seed 000)', () => {
  it('accepts a quote: 202 {status, symbol}', async (t) => {
    const { app, deps } = await api(t);
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', payload: { ...QUOTE, symbol: 'aapl' } });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json(), { status: 'accepted', symbol: 'AAPL' });
    assert.equal(deps.ingested.length, 1);
    const [t0] = deps.ingested[0]!;
    assert.equal(t0!.price, 190.25);
    assert.equal(t0!.size, 300);
    assert.equal(t0!.provider, 'api');
    // No offset in the seed generator's timestamps: read as UTC, microseconds kept.
    assert.equal(t0!.ts, toMicros('2024-01-02T15:04:05.123456Z'));
    const m = await deps.metrics.ingestRequests.get();
    assert.equal(m.values.find((v) => v.labels.route === '/ingest/quote' && v.labels.status === '202')?.value, 1);
  });

  it('ignores fields the seed model does not have, as pydantic does', async (t) => {
    const { app } = await api(t);
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', payload: { ...QUOTE, exchange: 'NASDAQ' } });
    assert.equal(res.statusCode, 202);
  });

  it('answers 422 with a FastAPI detail list, every bad field at once, and ingests nothing', async (t) => {
    const { app, deps } = await api(t);
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', payload: { symbol: 'AAPL', price: 'abc', volume: 1, timestamp: 'noon' } });
    assert.equal(res.statusCode, 422);
    const detail = res.json().detail;
    assert.deepEqual(
      detail.map((d: { loc: unknown[]; type: string }) => [d.loc, d.type]),
      [
        [['body', 'price'], 'float_parsing'],
        [['body', 'timestamp'], 'datetime_parsing'],
      ],
    );
    assert.equal(detail[0].input, 'abc');
    assert.equal(typeof detail[0].msg, 'string');
    assert.equal(deps.ingested.length, 0);
  });

  it('answers 422 missing for absent required fields', async (t) => {
    const { app } = await api(t);
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', payload: { symbol: 'AAPL' } });
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().detail, [
      { type: 'missing', loc: ['body', 'price'], msg: 'Field required', input: null },
      { type: 'missing', loc: ['body', 'timestamp'], msg: 'Field required', input: null },
    ]);
  });

  it('answers 422 json_invalid for a body that is not JSON', async (t) => {
    const { app, deps } = await api(t);
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', headers: { 'content-type': 'application/json' }, payload: '{"symbol": "AAPL",}' });
    assert.equal(res.statusCode, 422);
    const [d] = res.json().detail;
    assert.equal(d.type, 'json_invalid');
    assert.equal(d.loc[0], 'body');
    assert.equal(d.msg, 'JSON decode error');
    assert.equal(deps.ingested.length, 0);
  });

  it('answers 422 for a body that is not an object, or no body', async (t) => {
    const { app } = await api(t);
    const arr = await app.inject({ method: 'POST', url: '/ingest/quote', payload: [QUOTE] });
    assert.equal(arr.statusCode, 422);
    assert.equal(arr.json().detail[0].type, 'model_attributes_type');
    const none = await app.inject({ method: 'POST', url: '/ingest/quote' });
    assert.equal(none.statusCode, 422);
    assert.deepEqual(none.json().detail[0].loc, ['body']);
  });

  it('answers 503 {detail} without the ingest role', async (t) => {
    const { app } = await api(t, { ingest: null });
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', payload: QUOTE });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), { detail: 'this process does not run the ingest role' });
  });

  it("keeps Tickline's error shape for failures that are not the client's input", async (t) => {
    const { app } = await api(t, {
      ingest: async () => {
        throw new Error('socket hang up');
      },
    });
    const res = await app.inject({ method: 'POST', url: '/ingest/quote', payload: QUOTE });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().code, 'TL_ERR_INTERNAL');
    assert.doesNotMatch(res.body, /socket hang up/);
  });
});

describe('GET /market_data/last_price/{symbol} (seed 000)', () => {
  it('answers {symbol, price} from the cache', async (t) => {
    const { app, deps } = await api(t);
    await deps.cache.put([tick({ symbol: 'AAPL', price: 190.5 })]);
    const res = await app.inject('/market_data/last_price/aapl');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { symbol: 'AAPL', price: 190.5 });
  });

  it('answers 404 {detail: "Symbol not found in cache"}', async (t) => {
    const { app } = await api(t);
    const res = await app.inject('/market_data/last_price/NOPE');
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { detail: 'Symbol not found in cache' });
  });
});

describe('GET /prices/latest (seed 004)', () => {
  it('answers {symbol, price, timestamp, provider}, with or without a matching provider', async (t) => {
    const { app, deps } = await api(t);
    await deps.cache.put([tick({ symbol: 'MSFT', price: 410, provider: 'yahoo' })]);
    const expected = { symbol: 'MSFT', price: 410, timestamp: '2024-01-02T15:04:05.123456Z', provider: 'yahoo' };
    for (const url of ['/prices/latest?symbol=msft', '/prices/latest?symbol=MSFT&provider=yahoo']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 200, url);
      assert.deepEqual(res.json(), expected);
    }
  });

  it('answers 404 {detail: "Price point not found"} for another provider or an unknown symbol', async (t) => {
    const { app, deps } = await api(t);
    await deps.cache.put([tick({ symbol: 'MSFT', provider: 'yahoo' })]);
    for (const url of ['/prices/latest?symbol=MSFT&provider=yfinance', '/prices/latest?symbol=NOPE']) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 404, url);
      assert.deepEqual(res.json(), { detail: 'Price point not found' });
    }
  });

  it('answers 422 detail when symbol is missing', async (t) => {
    const { app } = await api(t);
    const res = await app.inject('/prices/latest');
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json(), { detail: [{ type: 'missing', loc: ['query', 'symbol'], msg: 'Field required' }] });
  });
});
