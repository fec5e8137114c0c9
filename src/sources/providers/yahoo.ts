import type { Bar } from '../../core/bar.ts';
import { TicklineError, show } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import { US_PER_S, type Micros } from '../../core/time.ts';
import type { Source } from '../../ports/source.ts';
import type { RateLimit } from './budget.ts';
import { ProviderContext, type CommonOptions } from './context.ts';
import { DAY_US, dailyBar } from './daily.ts';
import { dig, finite, isRecord, parseJson } from './fields.ts';
import type { ProviderHealth } from './health.ts';
import { minPollIntervalMs, pollingSourceOf } from './polling.ts';
import type { Batch, QuoteProvider, Rejected, SourceOptions } from './types.ts';

export const YAHOO_BASE_URL = 'https://query1.finance.yahoo.com';

/**
 * Yahoo publishes no limits for these endpoints (they are unofficial), and throttles clients it finds too
 * busy. Default: one request every 2 s on average, bursts of 5.
 */
export const YAHOO_LIMITS: RateLimit[] = [{ capacity: 5, perSecond: 0.5 }];

/** Symbols per quote request: the endpoint takes a list, and shorter URLs are safer with proxies. */
const SYMBOLS_PER_REQUEST = 50;

/** Yahoo quotes some exchanges in minor units (pence, cents, agorot); ticks and bars carry ISO 4217 major units. */
const MINOR_UNITS: Readonly<Record<string, string>> = { GBp: 'GBP', ZAc: 'ZAR', ILA: 'ILS' };

const SYMBOL_RE = /^[A-Z0-9^][A-Z0-9.\-^=]{0,31}$/;

/**
 * Yahoo Finance: quotes from `/v7/finance/quote?symbols=A,B` and daily history from
 * `/v8/finance/chart/{symbol}?period1=&period2=&interval=1d`.
 */
export class YahooProvider implements QuoteProvider {
  readonly name = 'yahoo' as const;
  readonly mode = 'polling' as const;
  readonly #ctx: ProviderContext;

  constructor(options: CommonOptions) {
    this.#ctx = new ProviderContext('yahoo', options, { baseUrl: YAHOO_BASE_URL, limits: YAHOO_LIMITS });
  }

  checkSymbol(symbol: string): void {
    if (!SYMBOL_RE.test(symbol)) {
      throw new TicklineError('TL_ERR_VALIDATION', `yahoo: symbol must be upper case letters, digits and . - ^ = (e.g. AAPL, BRK-B, ^GSPC, EURUSD=X), got ${show(symbol)}`);
    }
  }

  minIntervalMs(symbolCount: number): number {
    return minPollIntervalMs(symbolCount, SYMBOLS_PER_REQUEST, this.#ctx.budget.sustainedPerSecond);
  }

  source(options: SourceOptions): Source {
    return pollingSourceOf(this, options, this.#ctx);
  }

  async quotes(symbols: readonly string[], signal?: AbortSignal): Promise<Batch<Tick>> {
    const out: Batch<Tick> = { items: [], rejected: [] };
    for (let i = 0; i < symbols.length; i += SYMBOLS_PER_REQUEST) {
      const chunk = symbols.slice(i, i + SYMBOLS_PER_REQUEST);
      const url = this.#ctx.url('/v7/finance/quote', { symbols: chunk.join(',') });
      const batch = await this.#ctx.http.get(url, (res) => this.#readQuotes(res.body, res.receivedAt), signal);
      out.items.push(...batch.items);
      out.rejected.push(...batch.rejected);
    }
    return out;
  }

  async history(symbol: string, from: Micros, to: Micros, signal?: AbortSignal): Promise<Batch<Bar>> {
    this.checkSymbol(symbol);
    // Bars are stamped at the market open in exchange time; for exchanges east of UTC that can fall on
    // the previous UTC day, so ask for one day more and keep the trading dates inside [from, to).
    const url = this.#ctx.url(`/v8/finance/chart/${encodeURIComponent(symbol)}`, {
      period1: String(Math.floor((from - DAY_US) / US_PER_S)),
      period2: String(Math.ceil(to / US_PER_S)),
      interval: '1d',
    });
    return this.#ctx.http.get(url, (res) => this.#readChart(symbol, res.body, res.receivedAt, from, to), signal);
  }

  health(): ProviderHealth {
    return this.#ctx.health();
  }

  #readQuotes(body: string, receivedAt: Micros): Batch<Tick> {
    const ctx = this.#ctx;
    const json = parseJson(body);
    const result = dig(json, 'quoteResponse', 'result');
    if (!Array.isArray(result)) {
      const why = json === undefined ? 'the body is not JSON' : 'quoteResponse.result is not an array';
      return { items: [], rejected: [ctx.reject(null, why, body, receivedAt)] };
    }
    const items: Tick[] = [];
    const rejected: Rejected[] = [];
    for (const q of result) {
      const t = quoteTick(q, receivedAt);
      if (typeof t === 'string') {
        const sym = isRecord(q) && typeof q.symbol === 'string' ? q.symbol : null;
        rejected.push(ctx.reject(sym, t, JSON.stringify(q) ?? String(q), receivedAt));
      } else {
        items.push(t);
      }
    }
    return { items, rejected };
  }

  #readChart(symbol: string, body: string, receivedAt: Micros, from: Micros, to: Micros): Batch<Bar> {
    const ctx = this.#ctx;
    const json = parseJson(body);
    const result = dig(json, 'chart', 'result', 0);
    if (!isRecord(result)) {
      const description = dig(json, 'chart', 'error', 'description');
      if (typeof description === 'string') {
        throw new TicklineError('TL_ERR_PROVIDER', `yahoo: chart for ${show(symbol)}: ${description}`, { details: { provider: 'yahoo', symbol } });
      }
      const why = json === undefined ? 'the body is not JSON' : 'chart.result[0] is missing';
      return { items: [], rejected: [ctx.reject(symbol, why, body, receivedAt)] };
    }
    // No trading days in the range: Yahoo leaves out `timestamp` altogether.
    if (result.timestamp === undefined) return { items: [], rejected: [] };
    const stamps = result.timestamp;
    const quote = dig(result, 'indicators', 'quote', 0);
    if (!Array.isArray(stamps) || !isRecord(quote)) {
      return { items: [], rejected: [ctx.reject(symbol, 'chart.result[0] has no timestamp[] or indicators.quote[0]', body, receivedAt)] };
    }
    const offsetS = finite(dig(result, 'meta', 'gmtoffset')) ?? 0;
    const major = toMajor(dig(result, 'meta', 'currency'));
    const col = (name: string): unknown[] => (Array.isArray(quote[name]) ? (quote[name] as unknown[]) : []);
    const [open, high, low, close, volume] = ['open', 'high', 'low', 'close', 'volume'].map(col) as [unknown[], unknown[], unknown[], unknown[], unknown[]];
    // Keyed by day: Yahoo may append today's live point as a second entry for the same date; the later wins.
    const byDay = new Map<Micros, Bar>();
    const rejected: Rejected[] = [];
    stamps.forEach((stamp, i) => {
      const row = { timestamp: stamp, open: open[i] ?? null, high: high[i] ?? null, low: low[i] ?? null, close: close[i] ?? null, volume: volume[i] ?? null };
      // A day without trading comes as nulls in every column.
      if (row.open === null && row.high === null && row.low === null && row.close === null) return;
      const ts = finite(stamp);
      const [o, h, l, c] = [row.open, row.high, row.low, row.close].map(finite);
      const v = row.volume === null ? 0 : finite(row.volume);
      if (ts === undefined || o === undefined || h === undefined || l === undefined || c === undefined || v === undefined) {
        rejected.push(ctx.reject(symbol, `day ${i}: timestamp, open, high, low, close and volume must be numbers`, JSON.stringify(row), receivedAt));
        return;
      }
      // The trading date in exchange time, as a UTC-midnight bucket.
      const start = Math.floor((ts + offsetS) / 86_400) * DAY_US;
      if (start < from || start >= to) return;
      byDay.set(start, dailyBar(symbol, start, { open: major(o), high: major(h), low: major(l), close: major(c), volume: v }));
    });
    return { items: [...byDay.values()].sort((a, b) => a.start - b.start), rejected };
  }
}

/** One `quoteResponse.result[]` entry as a tick, or why it cannot be one. */
function quoteTick(q: unknown, receivedAt: Micros): Tick | string {
  if (!isRecord(q)) return `quote must be an object, got ${show(q)}`;
  if (typeof q.symbol !== 'string' || q.symbol === '') return `symbol must be a string, got ${show(q.symbol)}`;
  const price = finite(q.regularMarketPrice);
  if (price === undefined) return `regularMarketPrice must be a number, got ${show(q.regularMarketPrice)}`;
  const time = finite(q.regularMarketTime);
  if (time === undefined || time <= 0) return `regularMarketTime must be epoch seconds, got ${show(q.regularMarketTime)}`;
  if (typeof q.currency !== 'string' || q.currency === '') return `currency must be a string, got ${show(q.currency)}`;
  const side = (key: 'bid' | 'ask'): number | null | string => {
    const v = q[key];
    if (v === undefined || v === null) return null;
    const n = finite(v);
    if (n === undefined) return `${key} must be a number, got ${show(v)}`;
    // Outside trading hours Yahoo reports an empty book as 0.
    return n === 0 ? null : n;
  };
  const bid = side('bid');
  const ask = side('ask');
  if (typeof bid === 'string') return bid;
  if (typeof ask === 'string') return ask;
  const major = toMajor(q.currency);
  return {
    symbol: q.symbol.toUpperCase(),
    ts: Math.round(time * US_PER_S),
    price: major(price),
    // A quote is not a trade: regularMarketVolume is the day's running total, not a size.
    size: 0,
    bid: bid === null ? null : major(bid),
    ask: ask === null ? null : major(ask),
    currency: MINOR_UNITS[q.currency] ?? q.currency.toUpperCase(),
    provider: 'yahoo',
    seq: null,
    recvTs: receivedAt,
  };
}

/** Converts prices in `currency` to its major unit: ÷100 for minor units, by shifting the decimal point so 72.46 pence is exactly 0.7246. */
function toMajor(currency: unknown): (v: number) => number {
  if (typeof currency !== 'string' || MINOR_UNITS[currency] === undefined) return (v) => v;
  return (v) => {
    const text = String(v);
    return /e/i.test(text) ? v / 100 : Number(`${text}e-2`);
  };
}
