import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cache } from '../../src/ports/cache.ts';
import { tick } from '../fixtures/ticks.ts';

/** The Cache guarantees of src/ports/cache.ts, run unchanged against every adapter. */
export function cacheConformance(name: string, make: () => Promise<{ cache: Cache; cleanup(): Promise<void> }>): void {
  describe(`cache conformance: ${name}`, () => {
    test('keeps the newest tick per symbol by event time, whatever the arrival order', async () => {
      const { cache, cleanup } = await make();
      try {
        await cache.put([tick({ symbol: 'AAPL', at: 10, price: 1 }), tick({ symbol: 'MSFT', at: 5, price: 2, bid: 1.9, ask: 2.1, seq: 4 })]);
        await cache.put([tick({ symbol: 'AAPL', at: 5, price: 99 })]); // late: ignored
        await cache.put([tick({ symbol: 'AAPL', at: 20, price: 3 }), tick({ symbol: 'AAPL', at: 15, price: 4 })]);
        assert.equal((await cache.get('AAPL'))!.price, 3);
        assert.deepEqual(await cache.get('MSFT'), tick({ symbol: 'MSFT', at: 5, price: 2, bid: 1.9, ask: 2.1, seq: 4 }));
        assert.equal(await cache.get('NOPE'), undefined);
        assert.deepEqual((await cache.all()).map((t) => t.symbol), ['AAPL', 'MSFT']);
        assert.equal((await cache.health()).ok, true);
      } finally {
        await cleanup();
      }
    });
  });
}
