/** Indicators computed in the page from the bars it shows. */

/**
 * Simple moving average of `values` over `period`: `out[i]` is the mean of `values[i-period+1 … i]`, NaN
 * for the first `period - 1` entries (not enough values yet). One pass with a running sum.
 */
export function sma(values: ArrayLike<number>, period: number): Float64Array {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be a positive integer, got ${period}`);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (i >= period) sum -= values[i - period]!;
    out[i] = i >= period - 1 ? sum / period : Number.NaN;
  }
  return out;
}

/**
 * The same average at one index, recomputed from scratch: used for the few newest points a live tick
 * changes, where summing `period` values is cheaper than a pass over all bars and carries no drift.
 */
export function smaAt<T>(items: readonly T[], index: number, period: number, value: (item: T) => number): number {
  if (index < period - 1 || index >= items.length) return Number.NaN;
  let sum = 0;
  for (let i = index - period + 1; i <= index; i++) sum += value(items[i]!);
  return sum / period;
}
