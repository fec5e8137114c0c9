import type { Bar, Interval } from '../core/bar.ts';
import type { Tick } from '../core/tick.ts';
import type { Micros } from '../core/time.ts';
import type { Health } from './health.ts';

export interface HistoryQuery {
  symbol: string;
  from?: Micros;
  to?: Micros;
  /** At most this many ticks; the page's `next` cursor continues after the last one. */
  limit: number;
  /** Opaque cursor returned by a previous page. */
  cursor?: string;
  /** Oldest first (default) or newest first. */
  order?: 'asc' | 'desc';
}

export interface HistoryPage {
  ticks: Tick[];
  next: string | null;
}

export interface BarQuery {
  symbol: string;
  interval: Interval;
  from?: Micros;
  to?: Micros;
  limit: number;
}

export interface SymbolInfo {
  symbol: string;
  ticks: number;
  firstTs: Micros;
  lastTs: Micros;
}

/**
 * History of accepted ticks and the bars derived from them.
 *
 * Guarantees:
 * - `write` is atomic: a batch's ticks and bar updates are all visible, or none are.
 * - Durable when `write` resolves (the engine committed).
 * - Bars in `write` are *partial* bars built from that batch's ticks; the store merges them into what it
 *   holds with `mergeBar` semantics (open/close by event time, high/low extremes, volume/trades summed),
 *   so late ticks update the bar they belong to, across restarts.
 * - Reads see every committed write.
 * - Idempotent adapters (`idempotent: true`) store a tick once per identity — provider, symbol, event
 *   time and sequence number — however often it is written, and only ticks actually inserted count in
 *   the bars (such adapters may derive the bar updates from the inserted ticks instead of `bars`). That
 *   is what makes at-least-once delivery from a network bus exactly-once in effect.
 *
 * Deliberately left out: updates and deletes of ticks (history is append-only), and cross-store
 * transactions.
 */
export interface Store {
  readonly kind: string;
  /** True when `write` ignores ticks already stored (see above). */
  readonly idempotent: boolean;
  /** Creates or migrates the schema. Called once before anything else. */
  init(): Promise<void>;
  write(batch: { ticks: readonly Tick[]; bars: readonly Bar[] }): Promise<void>;
  /**
   * Stores bars exactly as given, for bars an authority states rather than bars built from ticks (a
   * provider's daily history, a daily file). Upsert by (symbol, interval, start): open, high, low, close,
   * volume, trades, firstTs and lastTs of a bar already held — merged partial bars included — are
   * overwritten, not merged, so putting the same bars twice leaves the same bars. Ticks are not touched;
   * partial bars that `write` merges afterwards merge onto the replaced bar as usual.
   *
   * Atomic (all of the bars or none) and durable when it resolves, like `write`. When one call names a
   * key twice, the last one wins. Rejects with TL_ERR_VALIDATION, naming the bar's index, the field and
   * the value, when a bar is malformed: unknown interval, `start` not an integer number of µs aligned to
   * the interval, a price or volume that is not a finite number, `trades` not a non-negative integer.
   */
  putBars(bars: readonly Bar[]): Promise<void>;
  history(query: HistoryQuery): Promise<HistoryPage>;
  bars(query: BarQuery): Promise<Bar[]>;
  symbols(): Promise<SymbolInfo[]>;
  /** The newest tick (by event time) of each symbol, to warm the latest-price cache after a restart. */
  latest(): Promise<Tick[]>;
  health(): Promise<Health>;
  close(): Promise<void>;
}
