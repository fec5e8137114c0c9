import type { Bar } from '../../core/bar.ts';
import type { Tick } from '../../core/tick.ts';
import type { Micros } from '../../core/time.ts';
import type { Source } from '../../ports/source.ts';
import type { ProviderHealth } from './health.ts';

export const PROVIDER_NAMES = ['yahoo', 'alphavantage', 'coingecko', 'coinbase'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * A record a provider sent that could not be used (a body that is not JSON, a missing field, a price that
 * is not a number). The platform writes it to the raw zone and counts it as quarantined; the rest of the
 * response is still used.
 */
export interface Rejected {
  provider: ProviderName;
  /** The instrument the record was about, when that much could be read. */
  symbol: string | null;
  /** What is wrong, naming the field and the value. */
  reason: string;
  /** The offending record as JSON text, or the whole body when it could not be split; ≤ 4 KiB, keys redacted. */
  payload: string;
  /** When the response arrived, µs since the epoch. */
  receivedAt: Micros;
}

/** What one provider call produced: the usable items and the records it had to reject. */
export interface Batch<T> {
  items: T[];
  rejected: Rejected[];
}

/**
 * A hole in a stream. `trade_id`: trades `from`..`to` (inclusive ids) were not received; the source
 * fetched them from the REST API (`backfilled` of them) and emitted them in order before the trade that
 * revealed the hole. `silence`: no trade arrived for the symbol between `from` and `to` (µs); nothing can
 * be backfilled without ids, so the event is the whole report.
 */
export interface GapEvent {
  provider: ProviderName;
  symbol: string;
  kind: 'trade_id' | 'silence';
  from: number;
  to: number;
  /** µs since the epoch. */
  detectedAt: Micros;
  backfilled: number;
  /** Why the backfill stopped short (failed request, page limit), or null. */
  error: string | null;
}

/** What a source reports besides ticks. Callbacks must not throw; they run on the source's loop. */
export interface SourceOptions {
  symbols: readonly string[];
  /** Poll interval for polling providers, ms; refused below `minIntervalMs`. Ignored by streaming providers. */
  intervalMs?: number;
  onRejected?: (r: Rejected) => void;
  /** Streaming providers only. */
  onGap?: (g: GapEvent) => void;
}

/** One market-data provider: its budget, circuit, health, and the sources and history it offers. */
export interface MarketDataProvider {
  readonly name: ProviderName;
  /** `polling`: quotes fetched every interval; `streaming`: trades pushed over a WebSocket. */
  readonly mode: 'polling' | 'streaming';
  /** Throws TL_ERR_VALIDATION when the provider cannot serve `symbol` (its form, or no id mapping for it). */
  checkSymbol(symbol: string): void;
  /** The smallest poll interval, ms, that the rate budget sustains for `symbolCount` symbols; 0 when streaming. */
  minIntervalMs(symbolCount: number): number;
  /** A Source for these symbols; throws TL_ERR_VALIDATION for a bad symbol or an interval below the minimum. */
  source(options: SourceOptions): Source;
  /**
   * Daily bars whose UTC day starts in [from, to) (µs), oldest first, as the provider gives them.
   * Absent when the provider has no daily history (Coinbase: its REST trades serve gap backfill only).
   */
  history?(symbol: string, from: Micros, to: Micros, signal?: AbortSignal): Promise<Batch<Bar>>;
  /** A snapshot for /ready and metrics; never contains a key. */
  health(): ProviderHealth;
}

/** A provider whose quotes are polled. */
export interface QuoteProvider extends MarketDataProvider {
  /** The latest quote of each symbol, one or more requests within the budget. */
  quotes(symbols: readonly string[], signal?: AbortSignal): Promise<Batch<Tick>>;
}
