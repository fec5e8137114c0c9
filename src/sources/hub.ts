/**
 * The providers of one process, created on first use from the configuration: one object per provider,
 * because each owns the rate budget and circuit breaker that every source, polling job and history
 * call of that provider must share.
 */
import type { Config } from '../config/load.ts';
import { TicklineError, show } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import {
  createProvider,
  isProviderName,
  PROVIDER_NAMES,
  ProviderMetrics,
  type MarketDataProvider,
  type ProviderHealth,
  type ProviderName,
  type ProviderOptions,
  type QuoteProvider,
  type Rejected,
} from './providers/index.ts';

export class ProviderHub {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #metrics: ProviderMetrics;
  readonly #providers = new Map<ProviderName, MarketDataProvider>();
  /** Where malformed provider records go (the raw zone and quarantine when this process has zones). */
  readonly onRejected: (r: Rejected) => void;

  constructor(opts: { config: Config; logger: Logger; metrics: Metrics; onRejected: (r: Rejected) => void }) {
    this.#config = opts.config;
    this.#logger = opts.logger;
    this.#metrics = new ProviderMetrics(opts.metrics.registry);
    this.onRejected = opts.onRejected;
  }

  /** The provider named `name`; TL_ERR_VALIDATION naming the field for an unknown one. */
  get(name: unknown, field = 'provider'): MarketDataProvider {
    if (!isProviderName(name)) throw new TicklineError('TL_ERR_VALIDATION', `${field}: unknown provider ${show(name)}; known: ${PROVIDER_NAMES.join(', ')}`);
    let p = this.#providers.get(name);
    if (!p) {
      p = createProvider(name, { ...providerOptions(this.#config, name), log: this.#logger, metrics: this.#metrics });
      this.#providers.set(name, p);
    }
    return p;
  }

  /** A provider whose quotes can be polled; streaming ones are refused naming the field. */
  quotes(name: unknown, field = 'provider'): QuoteProvider {
    const p = this.get(name, field);
    if (p.mode !== 'polling') throw new TicklineError('TL_ERR_VALIDATION', `${field}: ${show(name)} streams trades and cannot be polled; configure it in TICKLINE_STREAMS`);
    return p as QuoteProvider;
  }

  /** Health of every provider used so far. */
  health(): Record<string, ProviderHealth> {
    return Object.fromEntries([...this.#providers].map(([name, p]) => [name, p.health()]));
  }
}


/**
 * A provider's base URL and key (and CoinGecko's plan) from the configuration: the settings every user of
 * a provider — the running platform, `tickline backfill` — takes from the same keys.
 */
export function providerOptions(c: Config, name: ProviderName): ProviderOptions {
  const o: ProviderOptions = {};
  const set = (key: keyof ProviderOptions, value: string): void => {
    if (value !== '') (o as Record<string, unknown>)[key] = value;
  };
  switch (name) {
    case 'yahoo':
      set('baseUrl', c.yahooUrl);
      break;
    case 'alphavantage':
      set('baseUrl', c.alphavantageUrl);
      set('apiKey', c.alphavantageKey);
      break;
    case 'coingecko':
      set('baseUrl', c.coingeckoUrl);
      set('apiKey', c.coingeckoKey);
      set('plan', c.coingeckoPlan);
      break;
    case 'coinbase':
      set('baseUrl', c.coinbaseUrl);
      set('wsUrl', c.coinbaseWsUrl);
      break;
  }
  return o;
}

/** `TICKLINE_STREAMS`: `coinbase:BTC-USD,ETH-USD;…` → provider and symbols. */
export function parseStreams(text: string): Array<{ provider: string; symbols: string[] }> {
  if (text.trim() === '') return [];
  return text.split(';').map((part) => {
    const [provider, list = ''] = part.split(':');
    return { provider: provider!.trim(), symbols: list.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean) };
  });
}
