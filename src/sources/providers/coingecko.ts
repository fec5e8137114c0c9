import type { Bar } from '../../core/bar.ts';
import { TicklineError, show } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import { US_PER_MS, US_PER_S, type Micros } from '../../core/time.ts';
import type { Source } from '../../ports/source.ts';
import type { RateLimit } from './budget.ts';
import { ProviderContext, type CommonOptions } from './context.ts';
import { DAY_US, dailyBar } from './daily.ts';
import { finite, isRecord, parseJson } from './fields.ts';
import type { ProviderHealth } from './health.ts';
import type { HttpResponse } from './http.ts';
import { minPollIntervalMs, pollingSourceOf } from './polling.ts';
import type { Batch, QuoteProvider, Rejected, SourceOptions } from './types.ts';

export type CoinGeckoPlan = 'public' | 'demo' | 'pro';

export const COINGECKO_BASE_URL = 'https://api.coingecko.com';
export const COINGECKO_PRO_BASE_URL = 'https://pro-api.coingecko.com';

/**
 * Per plan (https://docs.coingecko.com/docs/errors-and-rate-limits, https://www.coingecko.com/en/api/pricing):
 * the keyless public API is limited per IP and shared with every other client behind it, so it gets a
 * cautious 10 per minute; the Demo plan ~30 per minute; paid plans start at 250 per minute (Basic).
 */
export const COINGECKO_LIMITS: Readonly<Record<CoinGeckoPlan, RateLimit[]>> = {
  public: [{ capacity: 3, perSecond: 10 / 60 }],
  demo: [{ capacity: 5, perSecond: 30 / 60 }],
  pro: [{ capacity: 10, perSecond: 250 / 60 }],
};

/** Base asset → CoinGecko coin id for the largest coins; `ids` adds to or overrides it. */
export const COINGECKO_IDS: Readonly<Record<string, string>> = {
  BTC: 'bitcoin',
  ETH: 'ethereum',
  USDT: 'tether',
  BNB: 'binancecoin',
  SOL: 'solana',
  XRP: 'ripple',
  USDC: 'usd-coin',
  DOGE: 'dogecoin',
  ADA: 'cardano',
  TRX: 'tron',
  AVAX: 'avalanche-2',
  LINK: 'chainlink',
  DOT: 'polkadot',
  LTC: 'litecoin',
  BCH: 'bitcoin-cash',
  XLM: 'stellar',
  SHIB: 'shiba-inu',
  UNI: 'uniswap',
};

export interface CoinGeckoOptions extends CommonOptions {
  /** Which API the key belongs to; default `demo` with a key, `public` without. Pro uses its own host. */
  plan?: CoinGeckoPlan;
  /** Base asset → coin id, merged over COINGECKO_IDS (e.g. `{ PEPE: 'pepe' }`). */
  ids?: Record<string, string>;
}

/** Coin ids per `simple/price` request, to keep URLs short. */
const IDS_PER_REQUEST = 100;
const SYMBOL_RE = /^([A-Z0-9]{1,15})-([A-Z]{3,5})$/;

interface Pair {
  symbol: string;
  id: string;
  /** vs currency, lower case as CoinGecko spells it. */
  vs: string;
}

/**
 * CoinGecko: quotes from `/api/v3/simple/price` (one request for every coin and currency), daily history
 * from `/api/v3/coins/{id}/market_chart`. Symbols are `BASE-QUOTE` (BTC-USD); the base maps to a coin id.
 */
export class CoinGeckoProvider implements QuoteProvider {
  readonly name = 'coingecko' as const;
  readonly mode = 'polling' as const;
  readonly #ctx: ProviderContext;
  readonly #ids: Readonly<Record<string, string>>;

  constructor(options: CoinGeckoOptions) {
    const key = options.apiKey?.trim() || undefined;
    const plan = options.plan ?? (key === undefined ? 'public' : 'demo');
    if (!(plan in COINGECKO_LIMITS)) throw new TicklineError('TL_ERR_CONFIG', `coingecko: plan must be public, demo or pro, got ${show(plan)}`);
    if (plan !== 'public' && key === undefined) throw new TicklineError('TL_ERR_CONFIG', `coingecko: the ${plan} plan needs an API key (TICKLINE_COINGECKO_KEY)`);
    // The key goes in a header, as CoinGecko recommends, so it is never part of a URL.
    const headers: Record<string, string> = {};
    if (key !== undefined) headers[plan === 'pro' ? 'x-cg-pro-api-key' : 'x-cg-demo-api-key'] = key;
    this.#ctx = new ProviderContext('coingecko', options, {
      baseUrl: plan === 'pro' ? COINGECKO_PRO_BASE_URL : COINGECKO_BASE_URL,
      limits: COINGECKO_LIMITS[plan],
      headers,
    });
    this.#ids = { ...COINGECKO_IDS, ...options.ids };
  }

  checkSymbol(symbol: string): void {
    this.#pair(symbol);
  }

  /** One request per poll per 100 coins. */
  minIntervalMs(symbolCount: number): number {
    return minPollIntervalMs(symbolCount, IDS_PER_REQUEST, this.#ctx.budget.sustainedPerSecond);
  }

  source(options: SourceOptions): Source {
    return pollingSourceOf(this, options, this.#ctx);
  }

  async quotes(symbols: readonly string[], signal?: AbortSignal): Promise<Batch<Tick>> {
    const pairs = symbols.map((s) => this.#pair(s));
    const ids = [...new Set(pairs.map((p) => p.id))];
    const out: Batch<Tick> = { items: [], rejected: [] };
    for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
      const chunk = new Set(ids.slice(i, i + IDS_PER_REQUEST));
      const wanted = pairs.filter((p) => chunk.has(p.id));
      const url = this.#ctx.url('/api/v3/simple/price', {
        ids: [...chunk].join(','),
        vs_currencies: [...new Set(wanted.map((p) => p.vs))].join(','),
        include_last_updated_at: 'true',
      });
      const batch = await this.#ctx.http.get(url, (res) => this.#readPrices(wanted, res), signal);
      out.items.push(...batch.items);
      out.rejected.push(...batch.rejected);
    }
    return out;
  }

  /**
   * Daily bars from the price samples of `market_chart`: open, high, low and close are the first, highest,
   * lowest and last sample of each UTC day, volume the 24-hour volume at the day's last sample. CoinGecko
   * picks the sampling from `days`: 5-minutely for 1 day, hourly up to 90 days, one sample per day (at
   * 00:00 UTC) beyond, where the four prices of a bar are that one sample.
   */
  async history(symbol: string, from: Micros, to: Micros, signal?: AbortSignal): Promise<Batch<Bar>> {
    const pair = this.#pair(symbol);
    const nowUs = this.#ctx.clock.now() * US_PER_MS;
    const days = Math.max(1, Math.ceil((nowUs - from) / DAY_US));
    const url = this.#ctx.url(`/api/v3/coins/${encodeURIComponent(pair.id)}/market_chart`, { vs_currency: pair.vs, days: String(days) });
    return this.#ctx.http.get(url, (res) => this.#readChart(symbol, res, from, to), signal);
  }

  health(): ProviderHealth {
    return this.#ctx.health();
  }

  #pair(symbol: string): Pair {
    const m = SYMBOL_RE.exec(symbol);
    if (m === null) throw new TicklineError('TL_ERR_VALIDATION', `coingecko: symbol must be BASE-QUOTE in upper case (e.g. BTC-USD), got ${show(symbol)}`);
    const id = this.#ids[m[1]!];
    if (id === undefined) {
      throw new TicklineError('TL_ERR_VALIDATION', `coingecko: no coin id for ${show(m[1])} (known: ${Object.keys(this.#ids).join(', ')}); add it with the ids option`);
    }
    return { symbol, id, vs: m[2]!.toLowerCase() };
  }

  #readPrices(wanted: Pair[], res: HttpResponse): Batch<Tick> {
    const ctx = this.#ctx;
    const json = parseJson(res.body);
    if (!isRecord(json)) return { items: [], rejected: [ctx.reject(null, 'the body is not a JSON object', res.body, res.receivedAt)] };
    const items: Tick[] = [];
    const rejected: Rejected[] = [];
    for (const p of wanted) {
      const entry = json[p.id];
      const reject = (reason: string): void => {
        rejected.push(ctx.reject(p.symbol, reason, JSON.stringify({ [p.id]: entry ?? null }), res.receivedAt));
      };
      if (!isRecord(entry)) {
        reject(`no entry for coin id ${show(p.id)}`);
        continue;
      }
      const price = finite(entry[p.vs]);
      const updated = finite(entry.last_updated_at);
      if (price === undefined) reject(`${p.id}.${p.vs} must be a number, got ${show(entry[p.vs])}`);
      else if (updated === undefined || updated <= 0) reject(`${p.id}.last_updated_at must be epoch seconds, got ${show(entry.last_updated_at)}`);
      else {
        items.push({
          symbol: p.symbol,
          ts: Math.round(updated * US_PER_S),
          price,
          size: 0,
          bid: null,
          ask: null,
          currency: p.vs.toUpperCase(),
          provider: 'coingecko',
          seq: null,
          recvTs: res.receivedAt,
        });
      }
    }
    return { items, rejected };
  }

  #readChart(symbol: string, res: HttpResponse, from: Micros, to: Micros): Batch<Bar> {
    const ctx = this.#ctx;
    const json = parseJson(res.body);
    if (!isRecord(json) || !Array.isArray(json.prices)) {
      return { items: [], rejected: [ctx.reject(symbol, 'the body has no prices[] array', res.body, res.receivedAt)] };
    }
    const rejected: Rejected[] = [];
    /** Valid [ms, value] samples; a bad one becomes a Rejected record. */
    const samples = (name: string, list: unknown): Array<[number, number]> => {
      const out: Array<[number, number]> = [];
      for (const point of Array.isArray(list) ? list : []) {
        const ms = Array.isArray(point) ? finite(point[0]) : undefined;
        const value = Array.isArray(point) ? finite(point[1]) : undefined;
        if (ms === undefined || value === undefined) rejected.push(ctx.reject(symbol, `${name}: a sample must be [epoch ms, number]`, JSON.stringify(point) ?? String(point), res.receivedAt));
        else out.push([ms, value]);
      }
      return out.sort((a, b) => a[0] - b[0]);
    };
    const volumes = new Map<number, number>(samples('total_volumes', json.total_volumes));
    const days = new Map<Micros, { open: number; high: number; low: number; close: number; volume: number }>();
    for (const [ms, price] of samples('prices', json.prices)) {
      const start = Math.floor((ms * US_PER_MS) / DAY_US) * DAY_US;
      const volume = volumes.get(ms);
      const d = days.get(start);
      if (d === undefined) {
        days.set(start, { open: price, high: price, low: price, close: price, volume: volume ?? 0 });
      } else {
        d.high = Math.max(d.high, price);
        d.low = Math.min(d.low, price);
        d.close = price;
        if (volume !== undefined) d.volume = volume;
      }
    }
    const items = [...days].filter(([start]) => start >= from && start < to).map(([start, d]) => dailyBar(symbol, start, d));
    return { items, rejected };
  }
}
