import type { Bar } from '../../core/bar.ts';
import { TicklineError, show } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import type { Micros } from '../../core/time.ts';
import type { Source } from '../../ports/source.ts';
import type { RateLimit } from './budget.ts';
import { ProviderContext, type CommonOptions } from './context.ts';
import { dailyBar } from './daily.ts';
import { dateMicros, finite, isRecord, parseJson } from './fields.ts';
import type { ProviderHealth } from './health.ts';
import { RateLimitedResponse, type HttpResponse } from './http.ts';
import { minPollIntervalMs, pollingSourceOf } from './polling.ts';
import type { Batch, QuoteProvider, Rejected, SourceOptions } from './types.ts';

export const ALPHAVANTAGE_BASE_URL = 'https://www.alphavantage.co';

/**
 * Free keys get 25 requests per day (https://www.alphavantage.co/support/#api-key). The per-minute bucket
 * holds bursts to the free tier's former 5 per minute, which Alpha Vantage still answers with a `Note` when
 * exceeded. Premium plans are sold per minute: set `limits` to match.
 */
export const ALPHAVANTAGE_LIMITS: RateLimit[] = [
  { capacity: 5, perSecond: 5 / 60 },
  { capacity: 25, perSecond: 25 / 86_400 },
];

export interface AlphaVantageOptions extends CommonOptions {
  /** GLOBAL_QUOTE does not state a currency; this is the one its prices are in (default USD). */
  currency?: string;
  /** TIME_SERIES_DAILY `outputsize`: `compact` is the latest 100 trading days; `full` needs a premium key. */
  outputSize?: 'compact' | 'full';
}

const SYMBOL_RE = /^[A-Z0-9][A-Z0-9.-]{0,19}$/;
/** `BTC-USD`: a digital currency and the market it is quoted in, served by DIGITAL_CURRENCY_DAILY. */
const CRYPTO_RE = /^([A-Z0-9]{2,10})-([A-Z]{3})$/;

/**
 * Alpha Vantage (`/query?function=…&apikey=…`): GLOBAL_QUOTE for quotes, TIME_SERIES_DAILY and
 * DIGITAL_CURRENCY_DAILY for daily history. Throttling comes back as HTTP 200 with a `Note` (or
 * `Information`) text and is retried with backoff; an `Error Message` is not retried and names the symbol.
 */
export class AlphaVantageProvider implements QuoteProvider {
  readonly name = 'alphavantage' as const;
  readonly mode = 'polling' as const;
  readonly #ctx: ProviderContext;
  readonly #apiKey: string;
  readonly #currency: string;
  readonly #outputSize: 'compact' | 'full';

  constructor(options: AlphaVantageOptions) {
    if (options.apiKey === undefined || options.apiKey.trim() === '') {
      throw new TicklineError('TL_ERR_CONFIG', 'alphavantage: an API key is required (TICKLINE_ALPHAVANTAGE_KEY or TICKLINE_ALPHAVANTAGE_KEY_FILE)');
    }
    if (options.currency !== undefined && !/^[A-Z]{3}$/.test(options.currency)) {
      throw new TicklineError('TL_ERR_CONFIG', `alphavantage: currency must be an ISO 4217 code, got ${show(options.currency)}`);
    }
    this.#ctx = new ProviderContext('alphavantage', options, { baseUrl: ALPHAVANTAGE_BASE_URL, limits: ALPHAVANTAGE_LIMITS });
    this.#apiKey = options.apiKey.trim();
    this.#currency = options.currency ?? 'USD';
    this.#outputSize = options.outputSize ?? 'compact';
  }

  checkSymbol(symbol: string): void {
    if (CRYPTO_RE.test(symbol)) {
      throw new TicklineError('TL_ERR_VALIDATION', `alphavantage: quotes cover equities only; ${show(symbol)} has daily history (DIGITAL_CURRENCY_DAILY) but no quotes`);
    }
    if (!SYMBOL_RE.test(symbol)) {
      throw new TicklineError('TL_ERR_VALIDATION', `alphavantage: symbol must be upper case letters, digits, . and - (e.g. IBM, TSCO.LON), got ${show(symbol)}`);
    }
  }

  /** One request per symbol per poll. */
  minIntervalMs(symbolCount: number): number {
    return minPollIntervalMs(symbolCount, 1, this.#ctx.budget.sustainedPerSecond);
  }

  source(options: SourceOptions): Source {
    return pollingSourceOf(this, options, this.#ctx);
  }

  /** One GLOBAL_QUOTE request per symbol; an unknown symbol becomes a Rejected record, the others still count. */
  async quotes(symbols: readonly string[], signal?: AbortSignal): Promise<Batch<Tick>> {
    const out: Batch<Tick> = { items: [], rejected: [] };
    for (const symbol of symbols) {
      const r = await this.#query({ function: 'GLOBAL_QUOTE', symbol }, (json, res) => this.#readQuote(symbol, json, res), signal);
      if ('reason' in r) out.rejected.push(r);
      else out.items.push(r);
    }
    return out;
  }

  async history(symbol: string, from: Micros, to: Micros, signal?: AbortSignal): Promise<Batch<Bar>> {
    const crypto = CRYPTO_RE.exec(symbol);
    if (crypto === null) this.checkSymbol(symbol);
    const [params, key] = crypto
      ? [{ function: 'DIGITAL_CURRENCY_DAILY', symbol: crypto[1]!, market: crypto[2]! }, 'Time Series (Digital Currency Daily)']
      : [{ function: 'TIME_SERIES_DAILY', symbol, outputsize: this.#outputSize }, 'Time Series (Daily)'];
    return this.#query(params, (json, res) => this.#readSeries(symbol, key, json, res, from, to), signal);
  }

  health(): ProviderHealth {
    return this.#ctx.health();
  }

  /** GETs `/query` and hands the parsed body (undefined when not JSON) to `read`, after the throttling check. */
  #query<T>(params: Record<string, string>, read: (json: unknown, res: HttpResponse) => T, signal: AbortSignal | undefined): Promise<T> {
    const url = this.#ctx.url('/query', { ...params, apikey: this.#apiKey });
    return this.#ctx.http.get(
      url,
      (res) => {
        const json = parseJson(res.body);
        if (isRecord(json)) throwOnNotice(json);
        return read(json, res);
      },
      signal,
    );
  }

  #readQuote(symbol: string, json: unknown, res: HttpResponse): Tick | Rejected {
    const reject = (reason: string): Rejected => this.#ctx.reject(symbol, reason, res.body, res.receivedAt);
    if (!isRecord(json)) return reject('the body is not a JSON object');
    const error = errorMessage(json, symbol);
    if (error !== undefined) return reject(error);
    const q = json['Global Quote'];
    if (!isRecord(q)) return reject('the response has no "Global Quote" object');
    if (Object.keys(q).length === 0) return reject(`no quote for ${show(symbol)} (empty "Global Quote")`);
    const price = finite(q['05. price']);
    if (price === undefined) return reject(`"05. price" must be a number, got ${show(q['05. price'])}`);
    const day = q['07. latest trading day'];
    if (dateMicros(day) === undefined) return reject(`"07. latest trading day" must be a YYYY-MM-DD date, got ${show(day)}`);
    return {
      symbol,
      ts: quoteTime(day as string, res.receivedAt),
      price,
      size: 0,
      bid: null,
      ask: null,
      currency: this.#currency,
      provider: 'alphavantage',
      seq: null,
      recvTs: res.receivedAt,
    };
  }

  #readSeries(symbol: string, key: string, json: unknown, res: HttpResponse, from: Micros, to: Micros): Batch<Bar> {
    const ctx = this.#ctx;
    if (!isRecord(json)) return { items: [], rejected: [ctx.reject(symbol, 'the body is not a JSON object', res.body, res.receivedAt)] };
    const error = errorMessage(json, symbol);
    if (error !== undefined) throw new TicklineError('TL_ERR_NOT_FOUND', `alphavantage: ${error}`, { details: { provider: 'alphavantage', symbol } });
    const series = json[key];
    if (!isRecord(series)) return { items: [], rejected: [ctx.reject(symbol, `the response has no ${show(key)} object`, res.body, res.receivedAt)] };
    const items: Bar[] = [];
    const rejected: Rejected[] = [];
    for (const [date, row] of Object.entries(series)) {
      const start = dateMicros(date);
      const v = isRecord(row) ? [row['1. open'], row['2. high'], row['3. low'], row['4. close'], row['5. volume']].map(finite) : [];
      const [open, high, low, close, volume] = v;
      if (start === undefined || open === undefined || high === undefined || low === undefined || close === undefined || volume === undefined) {
        rejected.push(ctx.reject(symbol, `${show(date)}: the key must be a date and "1. open" … "5. volume" numbers`, JSON.stringify({ [date]: row }), res.receivedAt));
        continue;
      }
      if (start >= from && start < to) items.push(dailyBar(symbol, start, { open, high, low, close, volume }));
    }
    return { items: items.sort((a, b) => a.start - b.start), rejected };
  }
}

/**
 * Alpha Vantage reports throttling as HTTP 200 with a `Note` or `Information` text: retried with backoff.
 * The same fields carry "premium endpoint" and bad-key messages, which no retry changes.
 */
function throwOnNotice(json: Record<string, unknown>): void {
  const notice = typeof json.Note === 'string' ? json.Note : typeof json.Information === 'string' ? json.Information : undefined;
  if (notice === undefined) return;
  if (/premium endpoint|apikey is invalid|invalid api ?key/i.test(notice)) {
    throw new TicklineError('TL_ERR_PROVIDER', `alphavantage: ${notice}`, { details: { provider: 'alphavantage' } });
  }
  throw new RateLimitedResponse(`rate limited: ${notice}`);
}

/** The `Error Message` text naming the symbol; thrown instead when it is about the key, not the symbol. */
function errorMessage(json: Record<string, unknown>, symbol: string): string | undefined {
  const text = json['Error Message'];
  if (typeof text !== 'string') return undefined;
  if (/apikey/i.test(text)) throw new TicklineError('TL_ERR_PROVIDER', `alphavantage: ${text}`, { details: { provider: 'alphavantage' } });
  return `no data for ${show(symbol)}: ${text}`;
}

const NY_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });
const NY_OFFSET = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', timeZoneName: 'longOffset' });

/**
 * GLOBAL_QUOTE carries only the trading date. A quote for today (New York) is current: it is stamped when
 * received. One for an earlier day is that trading day's last price: it is stamped at the 16:00 New York close.
 */
export function quoteTime(day: string, receivedAt: Micros): Micros {
  if (day >= NY_DATE.format(new Date(receivedAt / 1000))) return receivedAt;
  const atFour = Date.parse(`${day}T16:00:00Z`);
  const name = NY_OFFSET.formatToParts(new Date(atFour)).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  const offsetMin = m === null ? -300 : (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return Math.min(receivedAt, (atFour - offsetMin * 60_000) * 1000);
}
