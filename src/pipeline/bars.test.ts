import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTERVALS, INTERVAL_MICROS, mergeBar, type Bar } from '../core/bar.ts';
import type { Tick } from '../core/tick.ts';
import { Rng } from '../sources/random.ts';
import { tick } from '../../test/fixtures/ticks.ts';
import { aggregateBatch } from './bars.ts';

/** Straightforward reference: sort by time, group, take first/last/max/min/sum. */
function reference(ticks: Tick[]): Map<string, Omit<Bar, 'firstTs' | 'lastTs'>> {
  const out = new Map<string, Omit<Bar, 'firstTs' | 'lastTs'>>();
  const sorted = ticks.map((t, i) => ({ t, i })).sort((a, b) => a.t.ts - b.t.ts || a.i - b.i).map((x) => x.t);
  for (const iv of INTERVALS) {
    for (const t of sorted) {
      const start = t.ts - (t.ts % INTERVAL_MICROS[iv]);
      const key = `${t.symbol}|${iv}|${start}`;
      const b = out.get(key);
      if (!b) out.set(key, { symbol: t.symbol, interval: iv, start, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.size, trades: 1 });
      else {
        b.high = Math.max(b.high, t.price);
        b.low = Math.min(b.low, t.price);
        b.close = t.price;
        b.volume += t.size;
        b.trades++;
      }
    }
  }
  return out;
}

function randomTicks(n: number, seed: number): Tick[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () =>
    tick({ symbol: rng.next() < 0.5 ? 'AAPL' : 'MSFT', at: Math.floor(rng.next() * 7_200_000_000), price: Math.round(rng.next() * 10_000) / 100 + 1, size: Math.floor(rng.next() * 100) }),
  );
}

test('bars of a shuffled batch equal the reference computation', () => {
  const ticks = randomTicks(5_000, 7);
  const { bars } = aggregateBatch(ticks);
  const ref = reference(ticks);
  assert.equal(bars.length, ref.size);
  for (const b of bars) {
    const r = ref.get(`${b.symbol}|${b.interval}|${b.start}`);
    assert.ok(r, `unexpected bar ${b.symbol} ${b.interval} ${b.start}`);
    const { firstTs: _f, lastTs: _l, ...rest } = b;
    assert.deepEqual({ ...rest, volume: Math.round(rest.volume) }, { ...r, volume: Math.round(r.volume) });
  }
});

test('partial bars from split batches merge into the bars of the whole (late ticks included)', () => {
  const ticks = randomTicks(3_000, 11);
  const whole = new Map(aggregateBatch(ticks).bars.map((b) => [`${b.symbol}|${b.interval}|${b.start}`, b]));
  const merged = new Map<string, Bar>();
  for (let i = 0; i < ticks.length; i += 400) {
    for (const b of aggregateBatch(ticks.slice(i, i + 400)).bars) {
      const k = `${b.symbol}|${b.interval}|${b.start}`;
      const cur = merged.get(k);
      merged.set(k, cur ? mergeBar(cur, b) : { ...b });
    }
  }
  assert.equal(merged.size, whole.size);
  for (const [k, b] of whole) {
    const m = merged.get(k)!;
    assert.deepEqual({ ...m, volume: Math.round(m.volume) }, { ...b, volume: Math.round(b.volume) }, k);
  }
});

test('latest holds each symbol newest tick by event time', () => {
  const { latest } = aggregateBatch([tick({ symbol: 'A', at: 5, price: 1 }), tick({ symbol: 'A', at: 2, price: 2 }), tick({ symbol: 'B', at: 1, price: 3 })]);
  assert.deepEqual(latest.map((t) => [t.symbol, t.price]), [['A', 1], ['B', 3]]);
});
