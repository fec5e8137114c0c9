import type { Bar } from '../../core/bar.ts';
import { INTERVAL_MICROS } from '../../core/bar.ts';
import type { Micros } from '../../core/time.ts';

export const DAY_US = INTERVAL_MICROS['1d'];

/**
 * A daily bar as a provider states it. Providers give no trade count, so `trades` is 0. The bar speaks
 * for the whole UTC day: `firstTs` is the day's first microsecond and `lastTs` its last, so when it is
 * merged with bars built from ticks (`mergeBar`), the provider's open and close win.
 */
export function dailyBar(symbol: string, start: Micros, o: { open: number; high: number; low: number; close: number; volume: number }): Bar {
  return {
    symbol,
    interval: '1d',
    start,
    open: o.open,
    high: o.high,
    low: o.low,
    close: o.close,
    volume: o.volume,
    trades: 0,
    firstTs: start,
    lastTs: start + DAY_US - 1,
  };
}
