import { TicklineError, show } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import type { Source } from '../../ports/source.ts';
import type { RateLimit } from './budget.ts';
import { CoinbaseSource, DEFAULT_STREAM, type CoinbaseStreamOptions } from './coinbase-source.ts';
import { CoinbaseTrades } from './coinbase-trades.ts';
import { ProviderContext, checkUrl, type CommonOptions } from './context.ts';
import type { ProviderHealth } from './health.ts';
import type { Batch, MarketDataProvider, SourceOptions } from './types.ts';

export const COINBASE_REST_URL = 'https://api.exchange.coinbase.com';
export const COINBASE_WS_URL = 'wss://ws-feed.exchange.coinbase.com';

/** Public REST endpoints: 10 requests per second per IP, bursts of 15 (https://docs.cdp.coinbase.com/exchange/rest-api/rate-limits). */
export const COINBASE_LIMITS: RateLimit[] = [{ capacity: 15, perSecond: 10 }];

export interface CoinbaseOptions extends CommonOptions {
  /** The WebSocket feed. `baseUrl` is the REST API used for gap backfill. */
  wsUrl?: string;
  stream?: Partial<CoinbaseStreamOptions>;
}

const PRODUCT_RE = /^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/;

/** Coinbase Exchange: a streaming source of trades, with REST trades for filling its gaps. */
export class CoinbaseProvider implements MarketDataProvider {
  readonly name = 'coinbase' as const;
  readonly mode = 'streaming' as const;
  readonly #ctx: ProviderContext;
  readonly #wsUrl: string;
  readonly #stream: CoinbaseStreamOptions;
  readonly #trades: CoinbaseTrades;
  readonly #sources = new Set<CoinbaseSource>();

  constructor(options: CoinbaseOptions) {
    this.#ctx = new ProviderContext('coinbase', options, { baseUrl: COINBASE_REST_URL, limits: COINBASE_LIMITS });
    this.#wsUrl = checkUrl('coinbase', 'wsUrl', options.wsUrl ?? COINBASE_WS_URL, this.#ctx.redactor, ['ws:', 'wss:']);
    this.#stream = { ...DEFAULT_STREAM, ...options.stream };
    for (const [k, v] of Object.entries(this.#stream)) {
      if (!(Number.isFinite(v) && v > 0)) throw new TicklineError('TL_ERR_CONFIG', `coinbase: stream.${k} must be a positive number, got ${show(v)}`);
    }
    this.#trades = new CoinbaseTrades(this.#ctx, this.#stream.maxBackfillPages);
  }

  checkSymbol(symbol: string): void {
    if (!PRODUCT_RE.test(symbol)) throw new TicklineError('TL_ERR_VALIDATION', `coinbase: symbol must be a product id such as BTC-USD, got ${show(symbol)}`);
  }

  minIntervalMs(): number {
    return 0;
  }

  source(options: SourceOptions): Source {
    if (options.symbols.length === 0) throw new TicklineError('TL_ERR_VALIDATION', 'coinbase: a stream needs at least one symbol');
    for (const s of options.symbols) this.checkSymbol(s);
    const src = new CoinbaseSource({
      ctx: this.#ctx,
      trades: this.#trades,
      wsUrl: this.#wsUrl,
      symbols: [...options.symbols],
      stream: this.#stream,
      onRejected: options.onRejected,
      onGap: options.onGap,
    });
    this.#sources.add(src);
    return src;
  }

  /** Trades `fromId`..`toId` (inclusive) of `symbol` from the REST API, ascending: what gap backfill uses. */
  trades(symbol: string, fromId: number, toId: number, signal?: AbortSignal): Promise<Batch<Tick>> {
    this.checkSymbol(symbol);
    return this.#trades.between(symbol, fromId, toId, signal);
  }

  health(): ProviderHealth {
    const running = [...this.#sources].filter((s) => s.running);
    return this.#ctx.health(running.length === 0 ? null : running.every((s) => s.connected));
  }
}
