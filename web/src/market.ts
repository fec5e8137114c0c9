/**
 * What the page knows about the market, fed by the live stream: the latest quote of every symbol, the
 * recent prices behind its sparkline, the basis of its change, and the pipeline stats. No DOM here: pages
 * subscribe and render what changed.
 *
 * Memory is bounded by the number of symbols: one record and one fixed ring each, updated in place.
 */
import type { LiveQuote, PipelineStats } from './live-protocol.ts';
import { Ring } from './ring.ts';
import { isoToMs } from './time.ts';

/** Points behind each sparkline: 30 s of quotes at the default 4 events a second. */
export const SPARK_POINTS = 120;
/** Seconds of stats history behind the health cards' trend lines. */
export const STATS_POINTS = 120;

const DAY_MS = 86_400_000;

/** What a change % is measured against. */
export type ChangeBasis = 'day-open' | 'session';

export interface SymbolQuote {
  readonly symbol: string;
  price: number;
  /** Price before the latest move (NaN before the second quote). */
  prevPrice: number;
  /** +1 / −1: direction of the latest price move; 0 before any move. */
  direction: number;
  /** Bumped at every price move, so a view can tell a new move from one it already flashed. */
  moves: number;
  bid: number | null;
  ask: number | null;
  size: number;
  /** Event time of the latest quote (ms since the epoch, NaN when unknown). */
  tsMs: number;
  provider: string;
  /** The first price this page saw for the symbol. */
  firstPrice: number;
  /** Open of the symbol's 1d bar and that bar's start (ms), once loaded. */
  dayOpen: number | null;
  dayStartMs: number | null;
  readonly recent: Ring;
}

export interface Change {
  pct: number | null;
  basis: ChangeBasis;
  base: number;
}

/**
 * The change of a symbol's price against the open of the current UTC day's 1d bar when the page has it,
 * otherwise against the first price this page saw (a fresh page, a symbol without stored bars, or the
 * first minutes after midnight UTC before the new day's bar is loaded).
 */
export function changeOf(q: SymbolQuote, nowMs: number): Change {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  if (q.dayOpen !== null && q.dayStartMs === today) return { pct: changePct(q.price, q.dayOpen), basis: 'day-open', base: q.dayOpen };
  return { pct: changePct(q.price, q.firstPrice), basis: 'session', base: q.firstPrice };
}

/** Percentage change from `base` to `price`; null when `base` is not a positive number. */
export function changePct(price: number, base: number): number | null {
  if (!Number.isFinite(price) || !Number.isFinite(base) || base <= 0) return null;
  return ((price - base) / base) * 100;
}

type Listener<T> = (value: T) => void;

export class MarketState {
  readonly symbols = new Map<string, SymbolQuote>();
  stats: PipelineStats | null = null;
  /** Ticks per second of the last `STATS_POINTS` stats events. */
  readonly throughput = new Ring(STATS_POINTS);
  #quoteListeners = new Set<Listener<ReadonlySet<string>>>();
  #statsListeners = new Set<Listener<PipelineStats>>();
  #changed = new Set<string>();

  /** Applies a batch of quotes, then tells subscribers once which symbols changed. */
  applyQuotes(quotes: readonly LiveQuote[]): void {
    const changed = this.#changed;
    changed.clear();
    for (const q of quotes) {
      const s = this.#get(q.symbol, q.price);
      if (Number.isFinite(s.price) && q.price !== s.price) {
        s.prevPrice = s.price;
        s.direction = q.price > s.price ? 1 : -1;
        s.moves++;
      }
      s.price = q.price;
      s.bid = q.bid;
      s.ask = q.ask;
      s.size = q.size;
      s.tsMs = isoToMs(q.ts);
      s.provider = q.provider;
      s.recent.push(q.price);
      changed.add(q.symbol);
    }
    if (changed.size > 0) for (const l of this.#quoteListeners) l(changed);
  }

  /** Records a symbol known from `GET /v1/symbols` before its first live quote. */
  seed(symbol: string, lastPrice: number | null): void {
    if (this.symbols.has(symbol)) return;
    const s = this.#get(symbol, lastPrice ?? Number.NaN);
    if (lastPrice !== null) s.recent.push(lastPrice);
    this.#changed.clear();
    this.#changed.add(symbol);
    for (const l of this.#quoteListeners) l(this.#changed);
  }

  /** Sets the open of the symbol's current 1d bar (`dayStartMs`: the bar's start). */
  setDayOpen(symbol: string, open: number, dayStartMs: number): void {
    const s = this.symbols.get(symbol);
    if (s === undefined) return;
    s.dayOpen = open;
    s.dayStartMs = dayStartMs;
    this.#changed.clear();
    this.#changed.add(symbol);
    for (const l of this.#quoteListeners) l(this.#changed);
  }

  applyStats(stats: PipelineStats): void {
    this.stats = stats;
    this.throughput.push(stats.ticks_per_s ?? 0);
    for (const l of this.#statsListeners) l(stats);
  }

  /**
   * Calls `listener` after each batch with the symbols it changed. The set is reused for the next batch:
   * copy what must outlive the call. Returns the unsubscribe function.
   */
  onQuotes(listener: Listener<ReadonlySet<string>>): () => void {
    this.#quoteListeners.add(listener);
    return () => this.#quoteListeners.delete(listener);
  }

  onStats(listener: Listener<PipelineStats>): () => void {
    this.#statsListeners.add(listener);
    return () => this.#statsListeners.delete(listener);
  }

  #get(symbol: string, price: number): SymbolQuote {
    let s = this.symbols.get(symbol);
    if (s === undefined) {
      s = {
        symbol,
        price,
        prevPrice: Number.NaN,
        direction: 0,
        moves: 0,
        bid: null,
        ask: null,
        size: 0,
        tsMs: Number.NaN,
        provider: '',
        firstPrice: price,
        dayOpen: null,
        dayStartMs: null,
        recent: new Ring(SPARK_POINTS),
      };
      this.symbols.set(symbol, s);
    } else if (!Number.isFinite(s.firstPrice)) {
      s.firstPrice = price;
    }
    return s;
  }
}
