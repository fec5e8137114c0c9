import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INTERVALS, INTERVAL_SECONDS, LiveBars, bucketStartSec, chartBarFromApi, type ChartBar, type Interval } from './bars.ts';

const T0 = Date.UTC(2024, 4, 1, 14, 30, 0); // a minute boundary, ms

function bar(time: number, o: number, h: number, l: number, c: number, volume = 0, trades = 1): ChartBar {
  return { time, open: o, high: h, low: l, close: c, volume, trades };
}

describe('bucketStartSec', () => {
  it('aligns to the interval in UTC seconds', () => {
    const ts = T0 + 3 * 60_000 + 17_450; // 14:33:17.450
    assert.equal(bucketStartSec(ts, '1s'), (T0 + 3 * 60_000 + 17_000) / 1000);
    assert.equal(bucketStartSec(ts, '1m'), (T0 + 3 * 60_000) / 1000);
    assert.equal(bucketStartSec(ts, '5m'), T0 / 1000);
    assert.equal(bucketStartSec(ts, '1h'), Date.UTC(2024, 4, 1, 14) / 1000);
    assert.equal(bucketStartSec(ts, '1d'), Date.UTC(2024, 4, 1) / 1000, 'days are UTC days');
  });

  it('knows every interval the API serves', () => {
    assert.deepEqual([...INTERVALS], ['1s', '1m', '5m', '1h', '1d']);
    for (const iv of INTERVALS) assert.ok(INTERVAL_SECONDS[iv] > 0);
  });
});

describe('chartBarFromApi', () => {
  it('turns the ISO µs start into whole UTC seconds', () => {
    const b = chartBarFromApi({ start: '2024-05-01T14:30:00.000000Z', open: 1, high: 2, low: 0.5, close: 1.5, volume: 300, trades: 4 });
    assert.deepEqual(b, bar(T0 / 1000, 1, 2, 0.5, 1.5, 300, 4));
  });

  it('refuses a bar without a timestamp or with a non-numeric price', () => {
    assert.equal(chartBarFromApi({ start: 'nope', open: 1, high: 1, low: 1, close: 1, volume: 0, trades: 0 }), null);
    assert.equal(chartBarFromApi({ start: '2024-05-01T14:30:00Z', open: Number.NaN, high: 1, low: 1, close: 1, volume: 0, trades: 0 }), null);
  });
});

describe('LiveBars', () => {
  it('merges a tick of the newest bucket into the last bar', () => {
    const lb = new LiveBars('1m', 10);
    lb.load([bar(T0 / 1000 - 60, 9, 9, 9, 9, 1), bar(T0 / 1000, 10, 11, 9.5, 10.5, 100, 3)]);
    assert.deepEqual(lb.takeChanges(), { kind: 'all' });
    assert.equal(lb.addTick(T0 + 30_000, 12, 5), true);
    assert.deepEqual(lb.bars[1], bar(T0 / 1000, 10, 12, 9.5, 12, 105, 4));
    assert.equal(lb.addTick(T0 + 31_000, 9, 1), true);
    assert.deepEqual(lb.bars[1], bar(T0 / 1000, 10, 12, 9, 9, 106, 5));
    assert.deepEqual(lb.takeChanges(), { kind: 'tail', from: 1 });
    assert.deepEqual(lb.takeChanges(), { kind: 'none' }, 'changes are taken once');
  });

  it('opens a new bar when a tick falls in a later bucket', () => {
    const lb = new LiveBars('1m', 10);
    lb.load([bar(T0 / 1000, 10, 11, 9.5, 10.5, 100, 3)]);
    lb.takeChanges();
    lb.addTick(T0 + 60_000 + 1, 10.7, 2);
    lb.addTick(T0 + 5 * 60_000, 10.9, 1); // a gap: no bars in between are invented
    assert.deepEqual(
      lb.bars.map((b) => b.time),
      [T0 / 1000, T0 / 1000 + 60, T0 / 1000 + 300],
    );
    assert.deepEqual(lb.bars[1], bar(T0 / 1000 + 60, 10.7, 10.7, 10.7, 10.7, 2, 1));
    assert.deepEqual(lb.takeChanges(), { kind: 'tail', from: 1 });
  });

  it('buckets the same ticks differently per interval', () => {
    const ticks = [T0 + 500, T0 + 1500, T0 + 61_000, T0 + 301_000, T0 + 3_601_000];
    const counts: Record<Interval, number> = { '1s': 0, '1m': 0, '5m': 0, '1h': 0, '1d': 0 };
    for (const iv of INTERVALS) {
      const lb = new LiveBars(iv, 100);
      ticks.forEach((ts, i) => lb.addTick(ts, 100 + i, 1));
      counts[iv] = lb.bars.length;
      assert.equal(
        lb.bars.reduce((n, b) => n + b.trades, 0),
        ticks.length,
        `${iv}: every tick counted once`,
      );
    }
    assert.deepEqual(counts, { '1s': 5, '1m': 4, '5m': 3, '1h': 2, '1d': 1 });
  });

  it('updates the bar of a late tick without moving its close', () => {
    const lb = new LiveBars('1m', 10);
    lb.load([bar(T0 / 1000, 10, 11, 9.5, 10.5, 100, 3), bar(T0 / 1000 + 60, 10.5, 10.6, 10.4, 10.6, 10, 2)]);
    lb.takeChanges();
    assert.equal(lb.addTick(T0 + 10_000, 8, 7), true);
    assert.deepEqual(lb.bars[0], bar(T0 / 1000, 10, 11, 8, 10.5, 107, 4));
    assert.deepEqual(lb.takeChanges(), { kind: 'tail', from: 0 });
  });

  it('inserts a bar for a late tick whose bucket had none, and reports a full change', () => {
    const lb = new LiveBars('1m', 10);
    lb.load([bar(T0 / 1000, 10, 10, 10, 10), bar(T0 / 1000 + 120, 12, 12, 12, 12)]);
    lb.takeChanges();
    lb.addTick(T0 + 65_000, 11, 1);
    assert.deepEqual(
      lb.bars.map((b) => b.close),
      [10, 11, 12],
    );
    assert.deepEqual(lb.takeChanges(), { kind: 'all' });
  });

  it('keeps at most maxBars, dropping the oldest, and ignores ticks older than what it keeps', () => {
    const lb = new LiveBars('1s', 3);
    for (let i = 0; i < 5; i++) lb.addTick(T0 + i * 1000, 100 + i, 1);
    assert.deepEqual(
      lb.bars.map((b) => b.close),
      [102, 103, 104],
    );
    assert.deepEqual(lb.takeChanges(), { kind: 'all' }, 'dropping the oldest moves every index');
    assert.equal(lb.addTick(T0, 1, 1), false);
    assert.deepEqual(
      lb.bars.map((b) => b.close),
      [102, 103, 104],
    );
  });

  it('keeps only the newest maxBars of a load, and does not share objects with its input', () => {
    const input = [bar(1, 1, 1, 1, 1), bar(2, 2, 2, 2, 2), bar(3, 3, 3, 3, 3)];
    const lb = new LiveBars('1s', 2);
    lb.load(input);
    assert.deepEqual(
      lb.bars.map((b) => b.time),
      [2, 3],
    );
    lb.addTick(3500, 9, 1);
    assert.equal(input[2]!.close, 3);
  });

  it('ignores ticks without a time or price', () => {
    const lb = new LiveBars('1m', 5);
    assert.equal(lb.addTick(Number.NaN, 1, 1), false);
    assert.equal(lb.addTick(T0, Number.NaN, 1), false);
    assert.equal(lb.bars.length, 0);
    lb.addTick(T0, 5, Number.NaN);
    assert.equal(lb.bars[0]!.volume, 0, 'a missing size counts as no volume');
  });

  it('refuses a non-positive bound', () => {
    assert.throws(() => new LiveBars('1m', 0), /maxBars must be a positive integer, got 0/);
  });
});
