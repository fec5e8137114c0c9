import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { INTERVALS, mergeBar, type Bar, type Interval } from '../../src/core/bar.ts';
import { isTicklineError } from '../../src/core/errors.ts';
import type { Tick } from '../../src/core/tick.ts';
import type { HistoryQuery, Store } from '../../src/ports/store.ts';
import { aggregateBatch } from '../../src/pipeline/bars.ts';
import { FIXTURE_BASE_US, tick } from '../fixtures/ticks.ts';

export interface StoreFixture {
  /** A store on which `init()` has not been called yet. */
  store: Store;
  /** Where its data lives (a file, a schema…): pass it back to `make` to open the same data again. */
  location: string;
  /** Closes the store if it is still open and deletes the data at `location`. */
  cleanup(): Promise<void>;
}

/** Without `location`: a store over fresh, empty data. With it: a new store over that existing data. */
export type MakeStore = (location?: string) => Promise<StoreFixture>;

const S = 1_000_000;
const B = FIXTURE_BASE_US; // 2024-01-02T14:30:00Z, a whole minute

function bar(over: Partial<Bar> & { symbol?: string; interval?: Interval } = {}): Bar {
  return {
    symbol: 'AAPL',
    interval: '1m',
    start: B,
    open: 100,
    high: 101,
    low: 99,
    close: 100.5,
    volume: 10,
    trades: 2,
    firstTs: B + 1,
    lastTs: B + 2,
    ...over,
  };
}

async function allPages(store: Store, q: Omit<HistoryQuery, 'cursor'>): Promise<{ ticks: Tick[]; pages: number }> {
  const out: Tick[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.history({ ...q, cursor });
    pages++;
    assert.ok(page.ticks.length <= q.limit, `a page holds at most limit=${q.limit} ticks`);
    out.push(...page.ticks);
    if (page.next === null) return { ticks: out, pages };
    assert.ok(page.ticks.length > 0, 'a page with a next cursor is not empty');
    assert.ok(pages < 1000, 'paging terminates');
    cursor = page.next;
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTicklineError(e), `${what}: expected a TicklineError, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    assert.ok(e.message.length > 0);
    return true;
  });
}

const bySeq = (a: Tick, b: Tick) => a.ts - b.ts || (a.seq ?? 0) - (b.seq ?? 0);

/**
 * The Store guarantees of src/ports/store.ts, run unchanged against every adapter. `make` must give a
 * fresh store each call; `make(location)` reopens existing data (for the persistence test).
 */
export function storeConformance(name: string, make: MakeStore, caps: { idempotent: boolean }): void {
  /** Runs `fn` with an initialised store over fresh data, always cleaning up. */
  async function withStore(fn: (store: Store, fx: StoreFixture) => Promise<void>): Promise<void> {
    const fx = await make();
    try {
      await fx.store.init();
      await fn(fx.store, fx);
    } finally {
      await fx.cleanup();
    }
  }

  describe(`store conformance: ${name}`, () => {
    test('round-trips every field exactly: µs timestamps, nulls, long and non-ASCII strings, big integers', () =>
      withStore(async (store) => {
        const ticks: Tick[] = [
          tick({ at: 123_457, price: 123.456789, size: 0, bid: null, ask: null, seq: null, recvTs: B + 999_999 }),
          tick({ at: 1, price: 0.000001, size: 1e-9, bid: 99.99, ask: 100.01, seq: Number.MAX_SAFE_INTEGER, recvTs: B + 2 }),
          tick({ at: 2, bid: 5, ask: null, seq: 0, provider: 'a-provider-name-longer-than-twelve-bytes-ü', currency: 'USDT' }),
          tick({ at: 3, bid: null, ask: 7, seq: -42, provider: 'é', size: 1_000_000_000.5 }),
          // Far from the fixture base: the epoch itself plus 1 µs, and the year 2200.
          tick({ ts: 1, recvTs: 2, price: 1 }),
          tick({ ts: 7_258_118_400_000_001, recvTs: 7_258_118_400_000_002, price: 2 }),
        ];
        await store.write({ ticks, bars: [] });
        const page = await store.history({ symbol: 'AAPL', limit: 100 });
        assert.deepEqual(page.ticks, [...ticks].sort(bySeq));
        assert.equal(page.next, null);
      }));

    test('an empty write resolves and changes nothing', () =>
      withStore(async (store) => {
        await store.write({ ticks: [], bars: [] });
        assert.deepEqual(await store.symbols(), []);
        assert.deepEqual(await store.latest(), []);
      }));

    test('unknown symbols read as empty', () =>
      withStore(async (store) => {
        await store.write({ ticks: [tick()], bars: [bar()] });
        assert.deepEqual(await store.history({ symbol: 'NOPE', limit: 10 }), { ticks: [], next: null });
        assert.deepEqual(await store.bars({ symbol: 'NOPE', interval: '1m', limit: 10 }), []);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1h', limit: 10 }), []);
      }));

    test('a write is atomic: ticks and bars appear together, and a failed write leaves nothing behind', () =>
      withStore(async (store) => {
        await store.write({ ticks: [tick({ at: 1 }), tick({ at: 2 })], bars: [bar()] });
        assert.equal((await store.history({ symbol: 'AAPL', limit: 10 })).ticks.length, 2);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [bar()]);

        // A batch whose last tick cannot be stored: none of it may land, bars included.
        const bad = { ticks: [tick({ symbol: 'MSFT', at: 1 }), tick({ symbol: 'MSFT', at: 2, ts: Number.NaN })], bars: [bar({ symbol: 'MSFT' }), bar({ volume: 1000 })] };
        await rejectsWith(store.write(bad), 'TL_ERR_STORE', 'write with a NaN timestamp');
        assert.deepEqual(await store.history({ symbol: 'MSFT', limit: 10 }), { ticks: [], next: null });
        assert.deepEqual(await store.bars({ symbol: 'MSFT', interval: '1m', limit: 10 }), []);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [bar()], 'the failed bar did not merge');

        // …and the store is still usable.
        await store.write({ ticks: [tick({ symbol: 'MSFT', at: 3 })], bars: [] });
        assert.equal((await store.history({ symbol: 'MSFT', limit: 10 })).ticks.length, 1);
        assert.equal((await store.health()).ok, true);
      }));

    test('concurrent writes all land and their bars merge; a bad one among them fails alone', () =>
      withStore(async (store) => {
        const writes: Promise<void>[] = [];
        const parts: Bar[] = [];
        for (let w = 0; w < 20; w++) {
          const ticks = Array.from({ length: 50 }, (_, i) => tick({ at: w * 1000 + i, seq: w * 1000 + i }));
          const part = bar({ firstTs: B + w * 1000, lastTs: B + w * 1000 + 49, open: w, close: w + 0.5, high: 100 + w, low: 50 - w, volume: 1, trades: 50 });
          parts.push(part);
          writes.push(store.write({ ticks, bars: [part] }));
        }
        const bad = store.write({ ticks: [tick({ symbol: 'BAD', ts: Number.NaN })], bars: [bar({ symbol: 'BAD' })] });
        await Promise.all(writes);
        await rejectsWith(bad, 'TL_ERR_STORE', 'the bad concurrent write');
        const { ticks } = await allPages(store, { symbol: 'AAPL', limit: 400 });
        assert.equal(ticks.length, 1000);
        assert.equal(new Set(ticks.map((t) => t.seq)).size, 1000);
        const [merged] = await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 });
        assert.deepEqual(merged, parts.reduce(mergeBar));
        assert.deepEqual(await store.history({ symbol: 'BAD', limit: 10 }), { ticks: [], next: null });
      }));

    test('merges partial bars with mergeBar semantics across writes, late ticks and ties included', () =>
      withStore(async (store) => {
        const first = bar({ firstTs: B + 10 * S, lastTs: B + 20 * S, open: 10, close: 20, high: 25, low: 5, volume: 3, trades: 2 });
        // A late tick: earlier than the stored open, so open changes; its close is older, so close stays.
        const late = bar({ firstTs: B + 5 * S, lastTs: B + 15 * S, open: 7, close: 15, high: 30, low: 6, volume: 1, trades: 1 });
        // Ties: same first_ts as the stored open (stored open wins), same last_ts as stored close (new close wins).
        const tie = bar({ firstTs: B + 5 * S, lastTs: B + 20 * S, open: 99, close: 98, high: 26, low: 4, volume: 2, trades: 4 });
        // Two parts of one bucket in the same write, then a newer part of the next bucket.
        const a = bar({ firstTs: B + 30 * S, lastTs: B + 40 * S, open: 1, close: 2, volume: 0.5, trades: 1 });
        const b = bar({ firstTs: B + 25 * S, lastTs: B + 45 * S, open: 3, close: 4, volume: 0.25, trades: 1 });
        const next = bar({ start: B + 60 * S, firstTs: B + 61 * S, lastTs: B + 62 * S });
        const other = bar({ interval: '1s', start: B + 5 * S, firstTs: B + 5 * S, lastTs: B + 5 * S + 1 });

        await store.write({ ticks: [], bars: [first] });
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [first]);
        await store.write({ ticks: [], bars: [late] });
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [mergeBar(first, late)]);
        await store.write({ ticks: [], bars: [tie, other] });
        const afterTie = [first, late, tie].reduce(mergeBar);
        assert.deepEqual([afterTie.open, afterTie.close], [7, 98]);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [afterTie]);
        await store.write({ ticks: [], bars: [a, b, next] });
        const expected = [first, late, tie, a, b].reduce(mergeBar);
        assert.equal(expected.open, 7);
        assert.equal(expected.close, 4);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [expected, next]);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1s', limit: 10 }), [other]);
      }));

    test('putBars() replaces bars as given: merged and pending parts overwritten, not merged; twice leaves the same bars', () =>
      withStore(async (store) => {
        const D = 86_400 * S;
        const day0 = Math.floor(B / D) * D;
        // Bars built from ticks first, one of them merged from two writes (still a pending part in DuckDB).
        const ticks = [tick({ at: 1, price: 10, size: 5 }), tick({ at: 2, price: 12, size: 1 })];
        const built = aggregateBatch(ticks).bars;
        await store.write({ ticks, bars: built });
        await store.write({ ticks: [], bars: [bar({ interval: '1d', start: day0, firstTs: B + 5, lastTs: B + 6, open: 11, close: 11, high: 11, low: 11, volume: 1, trades: 1 })] });

        const daily = (start: number, close: number): Bar => ({
          symbol: 'AAPL', interval: '1d', start, open: close - 1, high: close + 2, low: close - 3, close, volume: 1_000_000 + close, trades: 0, firstTs: start, lastTs: start + D - 1,
        });
        const given = [daily(day0 - D, 180.25), daily(day0, 185.5), daily(day0 + D, 186.75)];
        await store.putBars(given);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1d', limit: 10 }), given, 'exactly as given');
        await store.putBars(given);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1d', limit: 10 }), given, 'putting them again changes nothing');

        // Other intervals and the ticks are untouched.
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), built.filter((b) => b.interval === '1m'));
        assert.equal((await store.history({ symbol: 'AAPL', limit: 10 })).ticks.length, 2);

        // A partial bar written afterwards merges onto the replaced bar, as write() always does.
        const late = bar({ interval: '1d', start: day0, firstTs: day0 + 10, lastTs: day0 + 20, open: 1, close: 2, high: 500, low: 1, volume: 3, trades: 2 });
        await store.write({ ticks: [], bars: [late] });
        const [, merged] = await store.bars({ symbol: 'AAPL', interval: '1d', limit: 10 });
        assert.deepEqual(merged, mergeBar(given[1]!, late));

        // …and putting the bar again replaces that merge too.
        await store.putBars([given[1]!]);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1d', limit: 10 }), given);
      }));

    test('putBars(): one call naming a key twice keeps the last; an empty call changes nothing', () =>
      withStore(async (store) => {
        const first = bar({ interval: '1m', open: 1, close: 1 });
        const last = bar({ interval: '1m', open: 2, close: 3, volume: 77, trades: 9 });
        await store.putBars([first, bar({ symbol: 'MSFT' }), last]);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [last]);
        assert.deepEqual(await store.bars({ symbol: 'MSFT', interval: '1m', limit: 10 }), [bar({ symbol: 'MSFT' })]);
        await store.putBars([]);
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [last]);
      }));

    test('putBars() is atomic: a malformed bar is refused naming the bar, field and value, and nothing is stored', () =>
      withStore(async (store) => {
        const good = bar({ symbol: 'MSFT' });
        const cases: Array<[Partial<Bar>, RegExp]> = [
          [{ interval: '2m' as Interval }, /bar 1 .*interval must be one of/],
          [{ start: B + 1 }, /bar 1 .*start must be an integer number of µs aligned to 1m, got \d+/],
          [{ close: Number.NaN }, /bar 1 .*close must be a finite number/],
          [{ volume: Number.POSITIVE_INFINITY }, /bar 1 .*volume must be a finite number/],
          [{ trades: -1 }, /bar 1 .*trades must be a non-negative integer, got -1/],
          [{ firstTs: 1.5 }, /bar 1 .*firstTs must be an integer number of µs/],
        ];
        for (const [over, message] of cases) {
          await assert.rejects(store.putBars([good, bar(over)]), (e: unknown) => {
            assert.ok(isTicklineError(e));
            assert.equal(e.code, 'TL_ERR_VALIDATION');
            assert.match(e.message, message);
            return true;
          });
        }
        assert.deepEqual(await store.bars({ symbol: 'MSFT', interval: '1m', limit: 10 }), []);
        assert.equal((await store.health()).ok, true);
      }));

    test('putBars() stores many bars in one call, and they survive a reopen', async () => {
      const a = await make();
      let b: StoreFixture | undefined;
      try {
        await a.store.init();
        const many = Array.from({ length: 12_345 }, (_, i) => bar({ interval: '1s', start: B + i * S, firstTs: B + i * S, lastTs: B + i * S, open: i, close: i + 0.5, high: i + 1, low: i - 1, volume: i, trades: i % 7 }));
        await a.store.putBars(many);
        await a.store.close();
        b = await make(a.location);
        await b.store.init();
        assert.deepEqual(await b.store.bars({ symbol: 'AAPL', interval: '1s', limit: 20_000 }), many);
      } finally {
        await b?.store.close();
        await a.cleanup();
      }
    });

    test('history pages over equal timestamps without skipping or repeating, both orders', () =>
      withStore(async (store) => {
        // 5 distinct timestamps × 7 ticks each, spread over 3 writes so equal ts span writes too.
        const ticks: Tick[] = [];
        for (let i = 0; i < 35; i++) ticks.push(tick({ at: (i % 5) * 10, seq: i, price: i }));
        await store.write({ ticks: ticks.slice(0, 12), bars: [] });
        await store.write({ ticks: ticks.slice(12, 20), bars: [] });
        await store.write({ ticks: ticks.slice(20), bars: [] });
        for (const limit of [1, 3, 4, 7, 35, 100]) {
          for (const order of ['asc', 'desc'] as const) {
            const { ticks: got } = await allPages(store, { symbol: 'AAPL', limit, order });
            assert.equal(got.length, 35, `limit=${limit} ${order}`);
            assert.deepEqual(new Set(got.map((t) => t.seq)).size, 35, `no repeats at limit=${limit} ${order}`);
            for (let i = 1; i < got.length; i++) {
              const ok = order === 'asc' ? got[i - 1]!.ts <= got[i]!.ts : got[i - 1]!.ts >= got[i]!.ts;
              assert.ok(ok, `ordered ${order} at limit=${limit}`);
            }
          }
        }
        // Paging is stable: the same query gives the same pages.
        const one = await allPages(store, { symbol: 'AAPL', limit: 4 });
        const two = await allPages(store, { symbol: 'AAPL', limit: 4 });
        assert.deepEqual(one, two);
      }));

    test('from is inclusive and to exclusive; desc returns the newest first; asc is the default', () =>
      withStore(async (store) => {
        const at = [100, 200, 200, 300, 400];
        await store.write({ ticks: at.map((x, i) => tick({ at: x, seq: i })), bars: [] });
        const ts = async (q: Partial<HistoryQuery>) => (await store.history({ symbol: 'AAPL', limit: 100, ...q })).ticks.map((t) => t.ts - B);
        assert.deepEqual(await ts({}), [100, 200, 200, 300, 400]);
        assert.deepEqual(await ts({ from: B + 200 }), [200, 200, 300, 400]);
        assert.deepEqual(await ts({ to: B + 300 }), [100, 200, 200]);
        assert.deepEqual(await ts({ from: B + 200, to: B + 300 }), [200, 200]);
        assert.deepEqual(await ts({ from: B + 201, to: B + 300 }), []);
        assert.deepEqual(await ts({ from: B + 300, to: B + 300 }), []);
        assert.deepEqual(await ts({ order: 'desc' }), [400, 300, 200, 200, 100]);
        assert.deepEqual(await ts({ order: 'desc', from: B + 200, to: B + 400 }), [300, 200, 200]);
        const { ticks } = await allPages(store, { symbol: 'AAPL', limit: 1, order: 'desc', from: B + 150, to: B + 350 });
        assert.deepEqual(ticks.map((t) => t.ts - B), [300, 200, 200]);
        const first = await store.history({ symbol: 'AAPL', limit: 2 });
        assert.deepEqual(first.ticks.map((t) => t.ts - B), [100, 200]);
        assert.notEqual(first.next, null);
      }));

    test('rejects a cursor it did not issue', () =>
      withStore(async (store) => {
        await store.write({ ticks: [tick()], bars: [] });
        await rejectsWith(store.history({ symbol: 'AAPL', limit: 1, cursor: 'not-a-cursor!' }), 'TL_ERR_VALIDATION', 'garbage cursor');
      }));

    test('bars(): filtered by symbol and interval, from inclusive and to exclusive on start, oldest first, newest `limit`', () =>
      withStore(async (store) => {
        const mins = [0, 1, 2, 3, 4].map((m) => bar({ start: B + m * 60 * S, firstTs: B + m * 60 * S, lastTs: B + m * 60 * S + 1, open: m }));
        await store.write({ ticks: [], bars: [...mins.slice(3), bar({ symbol: 'MSFT' }), bar({ interval: '5m' })] });
        await store.write({ ticks: [], bars: mins.slice(0, 3) });
        const q = { symbol: 'AAPL', interval: '1m' as const, limit: 100 };
        assert.deepEqual(await store.bars(q), mins);
        assert.deepEqual(await store.bars({ ...q, from: B + 60 * S }), mins.slice(1));
        assert.deepEqual(await store.bars({ ...q, to: B + 120 * S }), mins.slice(0, 2));
        assert.deepEqual(await store.bars({ ...q, from: B + 60 * S, to: B + 180 * S }), mins.slice(1, 3));
        assert.deepEqual(await store.bars({ ...q, from: B + 61 * S, to: B + 120 * S }), []);
        assert.deepEqual(await store.bars({ ...q, limit: 2 }), mins.slice(3), 'the newest two, oldest first');
        assert.deepEqual(await store.bars({ ...q, limit: 2, to: B + 180 * S }), mins.slice(1, 3));
        assert.deepEqual(await store.bars({ symbol: 'AAPL', interval: '5m', limit: 10 }), [bar({ interval: '5m' })]);
        assert.deepEqual(await store.bars({ symbol: 'MSFT', interval: '1m', limit: 10 }), [bar({ symbol: 'MSFT' })]);
      }));

    test('symbols(): tick count and first/last event time per symbol', () =>
      withStore(async (store) => {
        await store.write({ ticks: [tick({ at: 50 }), tick({ at: 10 }), tick({ symbol: 'BTC-USD', at: 7 })], bars: [] });
        await store.write({ ticks: [tick({ at: 30 }), tick({ at: 5 })], bars: [] });
        const got = [...(await store.symbols())].sort((a, b) => a.symbol.localeCompare(b.symbol));
        assert.deepEqual(got, [
          { symbol: 'AAPL', ticks: 4, firstTs: B + 5, lastTs: B + 50 },
          { symbol: 'BTC-USD', ticks: 1, firstTs: B + 7, lastTs: B + 7 },
        ]);
      }));

    test('latest(): the newest tick of each symbol by event time, not by arrival, with all its fields', () =>
      withStore(async (store) => {
        const newest = tick({ at: 100, price: 3, bid: null, ask: null, seq: null });
        await store.write({ ticks: [tick({ at: 10, price: 1, bid: 0.9, ask: 1.1, seq: 1 }), newest, tick({ symbol: 'MSFT', at: 1, price: 7, bid: 6.9, ask: 7.1, seq: 9 })], bars: [] });
        // Arrives later but happened earlier: must not replace the newest.
        await store.write({ ticks: [tick({ at: 50, price: 2, bid: 1.9, ask: 2.1, seq: 2 })], bars: [] });
        const got = [...(await store.latest())].sort((a, b) => a.symbol.localeCompare(b.symbol));
        assert.deepEqual(got, [newest, tick({ symbol: 'MSFT', at: 1, price: 7, bid: 6.9, ask: 7.1, seq: 9 })]);
      }));

    test('health() reports ok while open', () =>
      withStore(async (store) => {
        const h = await store.health();
        assert.equal(h.ok, true, h.detail);
      }));

    test('data survives close and reopen; bars keep merging across the restart', async () => {
      const a = await make();
      let b: StoreFixture | undefined;
      try {
        await a.store.init();
        const ticks = [tick({ at: 1, bid: 1, seq: 1 }), tick({ at: 123_456, seq: null }), tick({ symbol: 'ETH-USD', at: 5 })];
        const before = bar({ firstTs: B + 10, lastTs: B + 20, open: 1, close: 2, volume: 5, trades: 2 });
        await a.store.write({ ticks, bars: [before] });
        await a.store.close();

        b = await make(a.location);
        await b.store.init();
        assert.deepEqual((await b.store.history({ symbol: 'AAPL', limit: 10 })).ticks, ticks.slice(0, 2));
        assert.deepEqual(await b.store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [before]);
        const after = bar({ firstTs: B + 5, lastTs: B + 30, open: 3, close: 4, volume: 1, trades: 1 });
        await b.store.write({ ticks: [tick({ at: 2 })], bars: [after] });
        assert.deepEqual(await b.store.bars({ symbol: 'AAPL', interval: '1m', limit: 10 }), [mergeBar(before, after)]);
        assert.deepEqual((await b.store.symbols()).map((s) => s.ticks).sort(), [1, 3]);
      } finally {
        await b?.store.close();
        await a.cleanup();
      }
    });

    test('the store declares its idempotence as the suite expects', async () => {
      const fx = await make();
      try {
        assert.equal(fx.store.idempotent, caps.idempotent);
      } finally {
        await fx.store.close();
        await fx.cleanup();
      }
    });

    if (caps.idempotent) test('idempotent stores keep each tick once, and count it once in the bars, however often it is written', async () => {
      const fx = await make();
      try {
        const store = fx.store;
        await store.init();
        // Two symbols, ticks 1.5 s apart so they span 1s/1m buckets; integer sizes keep volumes exact.
        const all = Array.from({ length: 120 }, (_, i) =>
          tick({ symbol: i % 3 === 0 ? 'MSFT' : 'AAPL', at: i * 1_500_000, price: 100 + (i % 17), size: 1 + (i % 5), seq: i % 4 === 0 ? null : i }),
        );
        // The pipeline's shape: each batch carries the partial bars of its own ticks.
        const batch = (ticks: Tick[]) => ({ ticks, bars: aggregateBatch(ticks).bars });
        const expectAll = async (ticks: Tick[], what: string) => {
          for (const symbol of ['AAPL', 'MSFT']) {
            const mine = ticks.filter((x) => x.symbol === symbol);
            const { ticks: stored } = await allPages(store, { symbol, limit: 50 });
            assert.deepEqual([...stored].sort(bySeq), [...mine].sort(bySeq), `${what}: ${symbol} ticks stored once`);
            const want = aggregateBatch(mine).bars;
            for (const interval of INTERVALS) {
              const got = await store.bars({ symbol, interval, limit: 1000 });
              assert.deepEqual(got, want.filter((b) => b.interval === interval).sort((a, b) => a.start - b.start), `${what}: ${symbol} ${interval} bars`);
            }
          }
          const counts = Object.fromEntries((await store.symbols()).map((x) => [x.symbol, x.ticks]));
          assert.deepEqual(counts, { AAPL: ticks.filter((x) => x.symbol === 'AAPL').length, MSFT: ticks.filter((x) => x.symbol === 'MSFT').length }, `${what}: symbols() counts`);
        };

        const first = all.slice(0, 40);
        await store.write(batch(first));
        await store.write(batch(first));
        await expectAll(first, 'the same batch twice');

        // Redelivery that overlaps what is stored, including a tick twice within one batch.
        await store.write(batch([...all.slice(30, 60), all[45]!]));
        await expectAll(all.slice(0, 60), 'an overlapping batch');

        // Two overlapping batches at once (as from two replicas), in opposite orders, several times.
        const a = all.slice(50, 100);
        const b = all.slice(70, 120).reverse();
        await Promise.all([store.write(batch(a)), store.write(batch(b)), store.write(batch(a))]);
        await expectAll(all, 'concurrent overlapping batches');
      } finally {
        await fx.cleanup();
      }
    });

    test('close() is idempotent and every later call rejects with TL_ERR_CLOSED', async () => {
      const fx = await make();
      try {
        await fx.store.init();
        const pending = fx.store.write({ ticks: [tick()], bars: [] });
        await Promise.all([fx.store.close(), fx.store.close()]);
        await pending; // a write issued before close() completes
        await fx.store.close();
        const s = fx.store;
        await rejectsWith(s.write({ ticks: [tick()], bars: [] }), 'TL_ERR_CLOSED', 'write');
        await rejectsWith(s.history({ symbol: 'AAPL', limit: 1 }), 'TL_ERR_CLOSED', 'history');
        await rejectsWith(s.bars({ symbol: 'AAPL', interval: '1m', limit: 1 }), 'TL_ERR_CLOSED', 'bars');
        await rejectsWith(s.symbols(), 'TL_ERR_CLOSED', 'symbols');
        await rejectsWith(s.latest(), 'TL_ERR_CLOSED', 'latest');
        await rejectsWith(s.health(), 'TL_ERR_CLOSED', 'health');
        await rejectsWith(s.init(), 'TL_ERR_CLOSED', 'init');
      } finally {
        await fx.cleanup();
      }
    });
  });
}
