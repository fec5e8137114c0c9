import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cache } from '../../src/ports/cache.ts';
import { tick } from '../fixtures/ticks.ts';

/** The Cache guarantees of src/ports/cache.ts, run unchanged against every adapter. */
export interface CacheFixture {
  cache: Cache;
  /** Another client of the same cache, as another process would have (shared caches only). */
  peer?: () => Promise<Cache>;
  cleanup(): Promise<void>;
}

export function cacheConformance(name: string, make: () => Promise<CacheFixture>): void {
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

    test('watchers hear about new latest ticks (from another client too, for shared caches)', async () => {
      const { cache, peer, cleanup } = await make();
      try {
        const other = peer ? await peer() : cache;
        const heard: string[] = [];
        const stop = await other.watch((ticks) => heard.push(...ticks.map((t) => `${t.symbol}@${t.price}`)));
        await new Promise((r) => setTimeout(r, 100));
        await cache.put([tick({ symbol: 'WATCH', at: 10, price: 1 })]);
        await cache.put([tick({ symbol: 'WATCH', at: 5, price: 2 })]); // older: not an update
        await cache.put([tick({ symbol: 'WATCH', at: 20, price: 3 })]);
        const end = Date.now() + 5_000;
        while (heard.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
        await stop();
        assert.deepEqual(heard, ['WATCH@1', 'WATCH@3']);
        if (other !== cache) await other.close();
      } finally {
        await cleanup();
      }
    });
  });
}
