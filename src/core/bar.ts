import { US_PER_S, type Micros } from './time.ts';

/** Bar intervals Tickline maintains, smallest first. */
export const INTERVALS = ['1s', '1m', '5m', '1h', '1d'] as const;
export type Interval = (typeof INTERVALS)[number];

export const INTERVAL_MICROS: Readonly<Record<Interval, Micros>> = Object.freeze({
  '1s': US_PER_S,
  '1m': 60 * US_PER_S,
  '5m': 300 * US_PER_S,
  '1h': 3600 * US_PER_S,
  '1d': 86400 * US_PER_S,
});

export function isInterval(v: unknown): v is Interval {
  return typeof v === 'string' && (INTERVALS as readonly string[]).includes(v);
}

/**
 * One OHLCV bar, bucketed by event time (UTC, aligned to the interval).
 * `firstTs`/`lastTs` are the event times of the ticks that set `open`/`close`, so bars built from
 * partial batches (late ticks, restarts, several processors) merge correctly: see `mergeBar`.
 */
export interface Bar {
  symbol: string;
  interval: Interval;
  /** Bucket start, µs since the epoch. */
  start: Micros;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
  firstTs: Micros;
  lastTs: Micros;
}

export function bucketStart(ts: Micros, interval: Interval): Micros {
  const w = INTERVAL_MICROS[interval];
  return Math.floor(ts / w) * w;
}

/** Merges `b` into `a` (same symbol/interval/start). Order-independent for open/close via first/last ts. */
export function mergeBar(a: Bar, b: Bar): Bar {
  return {
    symbol: a.symbol,
    interval: a.interval,
    start: a.start,
    open: b.firstTs < a.firstTs ? b.open : a.open,
    firstTs: Math.min(a.firstTs, b.firstTs),
    close: b.lastTs >= a.lastTs ? b.close : a.close,
    lastTs: Math.max(a.lastTs, b.lastTs),
    high: Math.max(a.high, b.high),
    low: Math.min(a.low, b.low),
    volume: a.volume + b.volume,
    trades: a.trades + b.trades,
  };
}
