/**
 * Market-data providers: Yahoo Finance, Alpha Vantage and CoinGecko (polled quotes, daily history) and
 * Coinbase Exchange (streamed trades with gap backfill). docs/providers.md is the user-facing reference.
 *
 * Wiring, in short:
 *
 *   const metrics = new ProviderMetrics(platformMetrics.registry);        // once per registry
 *   const yahoo = createProvider('yahoo', { log, metrics, baseUrl: env.TICKLINE_YAHOO_URL });
 *   const av = createProvider('alphavantage', { apiKey: readKey('TICKLINE_ALPHAVANTAGE_KEY'), log, metrics });
 *
 *   yahoo.minIntervalMs(symbols.length)     // refuse a requested interval below this (the source does too)
 *   const src = yahoo.source({ symbols, intervalMs, onRejected });        // a ports/source.ts Source
 *   await src.run(emit, signal);                                          // until signal aborts
 *   const { items: bars, rejected } = await yahoo.history!('AAPL', fromUs, toUs);
 *   toHealth(yahoo.health())                // for /ready; yahoo.health() is the full snapshot
 *
 *   const cb = createProvider('coinbase', { baseUrl: env.TICKLINE_COINBASE_URL, wsUrl: env.TICKLINE_COINBASE_WS_URL, log, metrics });
 *   const stream = cb.source({ symbols: ['BTC-USD'], onGap, onRejected });  // streaming: no interval
 *
 * - `provider.mode` is `polling` (quotes every `intervalMs`, default and minimum `minIntervalMs`) or
 *   `streaming`; `history` is absent on providers without daily history (coinbase).
 * - Environment variable names the platform reads are listed in docs/providers.md.
 *
 * - `onRejected(r)`: a malformed record (`Rejected`: provider, symbol, reason, redacted raw payload ≤ 4 KiB,
 *   receivedAt); write it to the raw zone / quarantine. The rest of the response is still used.
 * - `onGap(g)` (coinbase): a `GapEvent`; trade-id gaps are already backfilled and emitted in order.
 * - Errors are TicklineErrors: TL_ERR_VALIDATION (bad symbol or interval), TL_ERR_CONFIG (bad options,
 *   missing key), TL_ERR_PROVIDER (failed after retries), TL_ERR_NOT_FOUND (unknown symbol),
 *   TL_ERR_CIRCUIT_OPEN (provider paused after repeated failures). No message contains an API key.
 * - API keys are passed as strings; reading the environment or `*_FILE` is the caller's job.
 * - One provider object per provider per process: it owns the rate budget and circuit breaker, which must
 *   be shared by every source and history call that uses that provider.
 */
import { TicklineError, show } from '../../core/errors.ts';
import { AlphaVantageProvider, type AlphaVantageOptions } from './alphavantage.ts';
import { CoinbaseProvider, type CoinbaseOptions } from './coinbase.ts';
import { CoinGeckoProvider, type CoinGeckoOptions } from './coingecko.ts';
import { YahooProvider } from './yahoo.ts';
import { PROVIDER_NAMES, type MarketDataProvider, type ProviderName, type QuoteProvider } from './types.ts';

/** Every option any provider takes; each reads the common ones and its own. */
export type ProviderOptions = AlphaVantageOptions & CoinGeckoOptions & CoinbaseOptions;

export function isProviderName(v: unknown): v is ProviderName {
  return typeof v === 'string' && (PROVIDER_NAMES as readonly string[]).includes(v);
}

/** Builds a provider by name. Throws TL_ERR_CONFIG for an unknown name or bad options. */
export function createProvider(name: 'coinbase', options?: ProviderOptions): CoinbaseProvider;
export function createProvider(name: Exclude<ProviderName, 'coinbase'>, options?: ProviderOptions): QuoteProvider;
export function createProvider(name: ProviderName, options?: ProviderOptions): MarketDataProvider;
export function createProvider(name: ProviderName, options: ProviderOptions = {}): MarketDataProvider {
  switch (name) {
    case 'yahoo':
      return new YahooProvider(options);
    case 'alphavantage':
      return new AlphaVantageProvider(options);
    case 'coingecko':
      return new CoinGeckoProvider(options);
    case 'coinbase':
      return new CoinbaseProvider(options);
    default:
      throw new TicklineError('TL_ERR_CONFIG', `unknown provider ${show(name)}; known: ${PROVIDER_NAMES.join(', ')}`);
  }
}

export { PROVIDER_NAMES };
export type { ProviderName, MarketDataProvider, QuoteProvider, Batch, Rejected, GapEvent, SourceOptions } from './types.ts';
export type { CommonOptions } from './context.ts';
export type { RateLimit } from './budget.ts';
export type { RetryPolicy } from './http.ts';
export type { CircuitOptions, CircuitState } from './circuit.ts';
export type { CoinbaseStreamOptions } from './coinbase-source.ts';
export type { AlphaVantageOptions } from './alphavantage.ts';
export type { CoinGeckoOptions, CoinGeckoPlan } from './coingecko.ts';
export type { CoinbaseOptions } from './coinbase.ts';
export type { ProviderHealth } from './health.ts';
export { toHealth } from './health.ts';
export { ProviderMetrics } from './metrics.ts';
export { ChangedQuotes, PollingSource } from './polling.ts';
export { CoinbaseSource } from './coinbase-source.ts';
export { YahooProvider, YAHOO_LIMITS } from './yahoo.ts';
export { AlphaVantageProvider, ALPHAVANTAGE_LIMITS } from './alphavantage.ts';
export { CoinGeckoProvider, COINGECKO_LIMITS, COINGECKO_IDS } from './coingecko.ts';
export { CoinbaseProvider, COINBASE_LIMITS } from './coinbase.ts';
