import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveQuote, PipelineStats } from './live-protocol.ts';
import { MarketState, SPARK_POINTS, changeOf, changePct } from './market.ts';

const NOW = Date.UTC(2024, 4, 1, 14, 30, 0);
const TODAY = Date.UTC(2024, 4, 1);

function q(symbol: string, price: number, ts = '2024-05-01T14:29:59.500000Z'): LiveQuote {
  return { symbol, price, bid: price - 0.01, ask: price + 0.01, size: 10, ts, provider: 'sim', received_at: ts };
}

describe('changePct', () => {
  it('is the percentage move from the base', () => {
    assert.equal(changePct(110, 100), 10);
    assert.equal(changePct(99, 100), -1);
    assert.equal(changePct(5, 0), null);
    assert.equal(changePct(5, Number.NaN), null);
    assert.equal(changePct(Number.NaN, 5), null);
  });
});

describe('MarketState', () => {
  it('records the latest quote per symbol and the first price seen', () => {
    const m = new MarketState();
    m.applyQuotes([q('AAPL', 100), q('MSFT', 400)]);
    m.applyQuotes([q('AAPL', 101, '2024-05-01T14:30:00.250000Z')]);
    const a = m.symbols.get('AAPL')!;
    assert.equal(a.price, 101);
    assert.equal(a.firstPrice, 100);
    assert.equal(a.prevPrice, 100);
    assert.equal(a.bid, 100.99);
    assert.equal(a.tsMs, NOW + 250);
    assert.equal(a.recent.length, 2);
    assert.equal(m.symbols.get('MSFT')!.price, 400);
  });

  it('counts moves with their direction, not repeats of the same price', () => {
    const m = new MarketState();
    m.applyQuotes([q('AAPL', 100)]);
    const a = m.symbols.get('AAPL')!;
    assert.equal(a.moves, 0);
    m.applyQuotes([q('AAPL', 100)]);
    assert.equal(a.moves, 0);
    m.applyQuotes([q('AAPL', 99)]);
    assert.deepEqual([a.moves, a.direction], [1, -1]);
    m.applyQuotes([q('AAPL', 99.5)]);
    assert.deepEqual([a.moves, a.direction], [2, 1]);
  });

  it('bounds the recent prices of a symbol', () => {
    const m = new MarketState();
    for (let i = 0; i < SPARK_POINTS + 50; i++) m.applyQuotes([q('AAPL', 100 + i)]);
    assert.equal(m.symbols.get('AAPL')!.recent.length, SPARK_POINTS);
  });

  it('tells quote listeners once per batch which symbols changed, until they unsubscribe', () => {
    const m = new MarketState();
    const seen: string[][] = [];
    const off = m.onQuotes((changed) => seen.push([...changed].sort()));
    m.applyQuotes([q('MSFT', 1), q('AAPL', 1), q('AAPL', 2)]);
    m.applyQuotes([]);
    off();
    m.applyQuotes([q('AAPL', 3)]);
    assert.deepEqual(seen, [['AAPL', 'MSFT']]);
  });

  it('seeds known symbols without a move, and a seeded symbol without price takes the first quote as its base', () => {
    const m = new MarketState();
    m.seed('AAPL', 100);
    m.seed('NEW', null);
    m.seed('AAPL', 5); // already known: ignored
    assert.equal(m.symbols.get('AAPL')!.price, 100);
    m.applyQuotes([q('NEW', 50)]);
    const n = m.symbols.get('NEW')!;
    assert.equal(n.firstPrice, 50);
    assert.equal(n.moves, 0, 'the first price is not a move');
  });

  it('keeps stats and their throughput history', () => {
    const m = new MarketState();
    const stats: PipelineStats = { ticks_per_s: 5, quality_pass_rate: 1, quarantined_total: 0, store_write_p50_ms: 1, bus_lag_ticks: 0, sources: [] };
    let calls = 0;
    m.onStats(() => calls++);
    m.applyStats(stats);
    m.applyStats({ ...stats, ticks_per_s: null });
    assert.equal(calls, 2);
    const out = new Float64Array(2);
    m.throughput.copyTo(out);
    assert.deepEqual([...out], [5, 0]);
  });
});

describe('changeOf', () => {
  it("measures against today's open when loaded, else against the session's first price", () => {
    const m = new MarketState();
    m.applyQuotes([q('AAPL', 100)]);
    m.applyQuotes([q('AAPL', 103)]);
    const a = m.symbols.get('AAPL')!;
    assert.deepEqual(changeOf(a, NOW), { pct: 3, basis: 'session', base: 100 });
    m.setDayOpen('AAPL', 98, TODAY);
    const c = changeOf(a, NOW);
    assert.equal(c.basis, 'day-open');
    assert.equal(c.base, 98);
    assert.ok(Math.abs(c.pct! - (5 / 98) * 100) < 1e-12);
  });

  it("falls back to the session basis once the loaded open is not today's", () => {
    const m = new MarketState();
    m.applyQuotes([q('AAPL', 100)]);
    m.setDayOpen('AAPL', 50, TODAY - 86_400_000);
    assert.equal(changeOf(m.symbols.get('AAPL')!, NOW).basis, 'session');
  });
});
