/**
 * Client-side OHLCV bars: converting the API's bars for the chart and keeping the newest bars current
 * from live ticks, bucketed exactly as the server buckets them (event time, UTC, aligned to the interval),
 * so a reload shows the same bars the live updates built.
 */
import { isoToMs } from './time.ts';

export const INTERVALS = ['1s', '1m', '5m', '1h', '1d'] as const;
export type Interval = (typeof INTERVALS)[number];

export const INTERVAL_SECONDS: Readonly<Record<Interval, number>> = {
  '1s': 1,
  '1m': 60,
  '5m': 300,
  '1h': 3600,
  '1d': 86_400,
};

export function isInterval(v: unknown): v is Interval {
  return typeof v === 'string' && (INTERVALS as readonly string[]).includes(v);
}

/** A bar as `GET /v1/bars` returns it. */
export interface ApiBar {
  start: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
}

/** A bar as the chart wants it: `time` is the bucket start in whole UTC seconds. */
export interface ChartBar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
}

/** Start of the interval bucket holding `tsMs`, in UTC seconds (days are UTC days, as on the server). */
export function bucketStartSec(tsMs: number, interval: Interval): number {
  const w = INTERVAL_SECONDS[interval];
  return Math.floor(tsMs / 1000 / w) * w;
}

/** The API bar for the chart, or null when its start is not a timestamp or a price is not a number. */
export function chartBarFromApi(b: ApiBar): ChartBar | null {
  const ms = isoToMs(b.start);
  if (!Number.isFinite(ms) || ![b.open, b.high, b.low, b.close].every(Number.isFinite)) return null;
  return {
    time: Math.floor(ms / 1000),
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: Number.isFinite(b.volume) ? b.volume : 0,
    trades: Number.isFinite(b.trades) ? b.trades : 0,
  };
}

/**
 * What changed in a `LiveBars` since the last `takeChanges()`: nothing, the bars from index `from` to
 * the end (the chart can update them one by one), or anything (the chart must reload all its data).
 */
export type BarChanges = { kind: 'none' } | { kind: 'tail'; from: number } | { kind: 'all' };

/**
 * The bars of one symbol and interval, kept current from live ticks.
 *
 * Guarantees: bars stay sorted by `time` with one bar per bucket; at most `maxBars` are kept (the oldest
 * go first); a tick in the newest bucket updates that bar, a tick in a newer bucket opens a bar, a late
 * tick updates the bar of its bucket (or creates it if the bucket had none) as long as that bucket is not
 * older than the oldest bar kept; older ticks are ignored. Open/close follow arrival order, which is event
 * order for the stream of one symbol.
 */
export class LiveBars {
  readonly interval: Interval;
  readonly maxBars: number;
  readonly bars: ChartBar[] = [];
  #firstChanged = Number.POSITIVE_INFINITY;
  #all = false;

  constructor(interval: Interval, maxBars: number) {
    if (!Number.isInteger(maxBars) || maxBars < 1) throw new RangeError(`maxBars must be a positive integer, got ${maxBars}`);
    this.interval = interval;
    this.maxBars = maxBars;
  }

  /** Replaces every bar (bars from the API, oldest first); the next `takeChanges()` says `all`. */
  load(bars: readonly ChartBar[]): void {
    this.bars.length = 0;
    const from = Math.max(0, bars.length - this.maxBars);
    for (let i = from; i < bars.length; i++) this.bars.push({ ...bars[i]! });
    this.#all = true;
  }

  /** Merges one tick; returns false when it is too old for the bars kept (or not a usable tick). */
  addTick(tsMs: number, price: number, size: number): boolean {
    if (!Number.isFinite(tsMs) || !Number.isFinite(price)) return false;
    const vol = Number.isFinite(size) ? size : 0;
    const time = bucketStartSec(tsMs, this.interval);
    const bars = this.bars;
    const last = bars.length - 1;
    if (last >= 0 && bars[last]!.time === time) {
      extend(bars[last]!, price, vol);
      this.#changed(last);
      return true;
    }
    if (last < 0 || bars[last]!.time < time) {
      bars.push(openBar(time, price, vol));
      if (bars.length > this.maxBars) {
        bars.shift();
        this.#all = true; // every index moved
      }
      this.#changed(bars.length - 1);
      return true;
    }
    return this.#addLate(time, price, vol);
  }

  /** The changes since the previous call, then forgets them. */
  takeChanges(): BarChanges {
    const out: BarChanges = this.#all
      ? { kind: 'all' }
      : this.#firstChanged === Number.POSITIVE_INFINITY
        ? { kind: 'none' }
        : { kind: 'tail', from: this.#firstChanged };
    this.#all = false;
    this.#firstChanged = Number.POSITIVE_INFINITY;
    return out;
  }

  #addLate(time: number, price: number, vol: number): boolean {
    const bars = this.bars;
    if (bars.length > 0 && time < bars[0]!.time && bars.length >= this.maxBars) return false;
    const i = lowerBound(bars, time);
    if (i < bars.length && bars[i]!.time === time) {
      extendLate(bars[i]!, price, vol);
      this.#changed(i);
    } else {
      bars.splice(i, 0, openBar(time, price, vol));
      if (bars.length > this.maxBars) bars.shift();
      this.#all = true; // an insertion moves the indices after it
    }
    return true;
  }

  #changed(i: number): void {
    if (i < this.#firstChanged) this.#firstChanged = i;
  }
}

function openBar(time: number, price: number, volume: number): ChartBar {
  return { time, open: price, high: price, low: price, close: price, volume, trades: 1 };
}

function extend(b: ChartBar, price: number, volume: number): void {
  if (price > b.high) b.high = price;
  if (price < b.low) b.low = price;
  b.close = price;
  b.volume += volume;
  b.trades += 1;
}

// A late tick is older than the ticks already in its bar, so it cannot be the close.
function extendLate(b: ChartBar, price: number, volume: number): void {
  if (price > b.high) b.high = price;
  if (price < b.low) b.low = price;
  b.volume += volume;
  b.trades += 1;
}

/** First index whose bar starts at or after `time` (bars sorted by time). */
function lowerBound(bars: readonly ChartBar[], time: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bars[mid]!.time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
