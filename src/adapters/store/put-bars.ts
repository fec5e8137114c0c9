import { INTERVALS, INTERVAL_MICROS, isInterval, type Bar, type Interval } from '../../core/bar.ts';
import { show, TicklineError } from '../../core/errors.ts';

function bad(i: number, b: Bar, field: string, value: unknown, what: string): TicklineError {
  const name = typeof b?.symbol === 'string' ? ` (${show(b.symbol)} ${show(b.interval)})` : '';
  return new TicklineError('TL_ERR_VALIDATION', `putBars: bar ${i}${name}: ${field} must be ${what}, got ${show(value)}`);
}

/**
 * The argument check every store applies to `putBars` (same error whatever the engine), and the
 * de-duplication its contract promises: of bars with the same (symbol, interval, start) the last wins.
 * Returns the bars to store, each key once, in the order of its last occurrence.
 */
export function checkPutBars(bars: readonly Bar[]): Bar[] {
  if (!Array.isArray(bars)) throw new TicklineError('TL_ERR_VALIDATION', `putBars: bars must be an array, got ${show(bars)}`);
  const byKey = new Map<string, Bar>();
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    if (typeof b !== 'object' || b === null) throw new TicklineError('TL_ERR_VALIDATION', `putBars: bar ${i} must be an object, got ${show(b)}`);
    if (typeof b.symbol !== 'string' || b.symbol === '') throw bad(i, b, 'symbol', b.symbol, 'a non-empty string');
    if (!isInterval(b.interval)) throw bad(i, b, 'interval', b.interval, `one of ${INTERVALS.join(', ')}`);
    if (!Number.isSafeInteger(b.start) || b.start % INTERVAL_MICROS[b.interval as Interval] !== 0) {
      throw bad(i, b, 'start', b.start, `an integer number of µs aligned to ${b.interval}`);
    }
    for (const f of ['open', 'high', 'low', 'close', 'volume'] as const) {
      if (typeof b[f] !== 'number' || !Number.isFinite(b[f])) throw bad(i, b, f, b[f], 'a finite number');
    }
    if (!Number.isSafeInteger(b.trades) || b.trades < 0) throw bad(i, b, 'trades', b.trades, 'a non-negative integer');
    for (const f of ['firstTs', 'lastTs'] as const) {
      if (!Number.isSafeInteger(b[f])) throw bad(i, b, f, b[f], 'an integer number of µs');
    }
    const key = `${b.symbol}\u0000${b.interval}\u0000${b.start}`;
    // Delete first so a repeated key moves to where its last occurrence is.
    byKey.delete(key);
    byKey.set(key, b);
  }
  return [...byKey.values()];
}
