import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bar } from '../../core/bar.ts';
import { toMicros } from '../../core/time.ts';
import { fakeApi } from '../test-fakes.ts';

const START = toMicros('2024-01-02T15:04:00Z')!;

function bar(over: Partial<Bar>): Bar {
  return { symbol: 'AAPL', interval: '1m', start: START, open: 1, high: 3, low: 0.5, close: 2, volume: 10, trades: 4, firstTs: START, lastTs: START + 1, ...over };
}

describe('GET /v1/bars', () => {
  it('answers bars with ISO starts, 1m and limit 500 by default', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.store.barList.push(bar({}), bar({ interval: '5m' }), bar({ start: START + 60_000_000, open: 2 }));
    const res = await app.inject('/v1/bars?symbol=aapl');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      symbol: 'AAPL',
      interval: '1m',
      bars: [
        { start: '2024-01-02T15:04:00.000000Z', open: 1, high: 3, low: 0.5, close: 2, volume: 10, trades: 4 },
        { start: '2024-01-02T15:05:00.000000Z', open: 2, high: 3, low: 0.5, close: 2, volume: 10, trades: 4 },
      ],
    });
    assert.equal(deps.store.lastBarQuery?.limit, 500);
  });

  it('passes interval, bounds and limit to the store', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.store.barList.push(bar({ interval: '5m' }));
    const res = await app.inject('/v1/bars?symbol=AAPL&interval=5m&from=2024-01-02&to=1704240000&limit=10000');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().interval, '5m');
    assert.equal(res.json().bars.length, 1);
    assert.deepEqual(deps.store.lastBarQuery, {
      symbol: 'AAPL',
      interval: '5m',
      from: toMicros('2024-01-02T00:00:00Z'),
      to: 1704240000 * 1_000_000,
      limit: 10000,
    });
  });

  for (const [query, pattern] of [
    ['symbol=AAPL&interval=2m', /^querystring\/interval must be equal to one of the allowed values \(1s, 1m, 5m, 1h, 1d\)$/],
    ['symbol=AAPL&limit=10001', /^querystring\/limit must be <= 10000$/],
    ['symbol=AAPL&from=soon', /^querystring\/from must be/],
    ['interval=1m', /^querystring\/symbol is required$/],
  ] as const) {
    it(`is 400 TL_ERR_VALIDATION for ${query}`, async (t) => {
      const { app, deps } = await fakeApi();
      t.after(() => app.close());
      const res = await app.inject(`/v1/bars?${query}`);
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'TL_ERR_VALIDATION');
      assert.match(res.json().message, pattern);
      assert.equal(deps.store.lastBarQuery, undefined);
    });
  }
});
