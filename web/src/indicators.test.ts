import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sma, smaAt } from './indicators.ts';

// Straightforward definition to compare against.
function naive(values: number[], period: number): number[] {
  return values.map((_, i) => (i < period - 1 ? Number.NaN : values.slice(i - period + 1, i + 1).reduce((a, b) => a + b, 0) / period));
}

describe('sma', () => {
  it('averages the last `period` values, NaN before there are enough', () => {
    assert.deepEqual([...sma([1, 2, 3, 4, 5], 3)], [Number.NaN, Number.NaN, 2, 3, 4]);
    assert.deepEqual([...sma([1, 2], 3)], [Number.NaN, Number.NaN]);
    assert.deepEqual([...sma([4, 8], 1)], [4, 8]);
  });

  it('matches the definition on a long random walk (SMA 20)', () => {
    let p = 100;
    const values = Array.from({ length: 500 }, (_, i) => (p += Math.sin(i * 7.3) * 0.8));
    const got = sma(values, 20);
    const want = naive(values, 20);
    for (let i = 0; i < values.length; i++) {
      if (Number.isNaN(want[i]!)) assert.ok(Number.isNaN(got[i]!), `index ${i}`);
      else assert.ok(Math.abs(got[i]! - want[i]!) < 1e-9, `index ${i}: ${got[i]} vs ${want[i]}`);
    }
  });

  it('refuses a period that is not a positive integer', () => {
    assert.throws(() => sma([1], 0), /period must be a positive integer, got 0/);
    assert.throws(() => sma([1], 2.5), /got 2.5/);
  });
});

describe('smaAt', () => {
  it('equals sma at that index', () => {
    const items = [3, 1, 4, 1, 5, 9, 2, 6].map((close) => ({ close }));
    const all = sma(
      items.map((x) => x.close),
      4,
    );
    for (let i = 0; i < items.length; i++) {
      const one = smaAt(items, i, 4, (x) => x.close);
      if (i < 3) assert.ok(Number.isNaN(one));
      else assert.equal(one, all[i]);
    }
    assert.ok(Number.isNaN(smaAt(items, 8, 4, (x) => x.close)), 'past the end');
  });
});
