import { show } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import { parseIsoMicros, type Micros } from '../../core/time.ts';
import type { ProviderContext } from './context.ts';
import { finite, isRecord, parseJson } from './fields.ts';
import type { HttpResponse } from './http.ts';
import type { Batch, Rejected } from './types.ts';

/** Most trades Coinbase returns per page (its documented maximum `limit`). */
const PAGE_LIMIT = 1000;

/**
 * A Coinbase trade as a tick: a WebSocket `match`/`last_match` message (which names its `product_id`) or
 * an element of `GET /products/{id}/trades` (for which `symbol` is given). Returns why when it cannot be.
 */
export function tradeTick(rec: unknown, symbol: string | null, receivedAt: Micros): Tick | string {
  if (!isRecord(rec)) return `trade must be an object, got ${show(rec)}`;
  const product = symbol ?? rec.product_id;
  if (typeof product !== 'string' || !product.includes('-')) return `product_id must be BASE-QUOTE, got ${show(product)}`;
  const id = rec.trade_id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return `trade_id must be a non-negative integer, got ${show(id)}`;
  const price = finite(rec.price);
  if (price === undefined) return `price must be a number, got ${show(rec.price)}`;
  const size = finite(rec.size);
  if (size === undefined) return `size must be a number, got ${show(rec.size)}`;
  const ts = typeof rec.time === 'string' ? parseIsoMicros(rec.time) : undefined;
  if (ts === undefined) return `time must be an ISO 8601 timestamp, got ${show(rec.time)}`;
  return {
    symbol: product,
    ts,
    price,
    size,
    bid: null,
    ask: null,
    currency: product.slice(product.indexOf('-') + 1),
    provider: 'coinbase',
    seq: id,
    recvTs: receivedAt,
  };
}

/** Coinbase Exchange REST trades, for filling holes in the WebSocket stream. */
export class CoinbaseTrades {
  readonly #ctx: ProviderContext;
  readonly #maxPages: number;

  constructor(ctx: ProviderContext, maxPages: number) {
    this.#ctx = ctx;
    this.#maxPages = maxPages;
  }

  /**
   * Trades `fromId`..`toId` (inclusive) of `symbol`, ascending by id. Pages come newest first; `after=X`
   * asks for trades older than X, and the `CB-AFTER` header is the cursor for the next older page, so the
   * walk starts at `toId + 1` and stops once it reaches `fromId` (or after `maxPages` pages:
   * `complete` is then false).
   */
  async between(symbol: string, fromId: number, toId: number, signal?: AbortSignal): Promise<Batch<Tick> & { complete: boolean }> {
    const got = new Map<number, Tick>();
    const rejected: Rejected[] = [];
    let cursor = toId + 1;
    let complete = false;
    for (let page = 0; page < this.#maxPages && !complete; page++) {
      const url = this.#ctx.url(`/products/${encodeURIComponent(symbol)}/trades`, {
        after: String(cursor),
        limit: String(Math.max(1, Math.min(PAGE_LIMIT, toId - fromId + 1 - got.size))),
      });
      const { batch, next } = await this.#ctx.http.get(url, (res) => ({ batch: this.#read(symbol, res), next: finite(res.headers.get('cb-after')) }), signal);
      rejected.push(...batch.rejected);
      let oldest = Infinity;
      for (const t of batch.items) {
        const id = t.seq!;
        oldest = Math.min(oldest, id);
        if (id >= fromId && id <= toId) got.set(id, t);
      }
      const nextCursor = next ?? oldest;
      // Done when the page reached the start of the hole, was empty, or the cursor stopped moving back.
      complete = batch.items.length === 0 || oldest <= fromId || !(nextCursor < cursor);
      cursor = nextCursor;
    }
    return { items: [...got.values()].sort((a, b) => a.seq! - b.seq!), rejected, complete };
  }

  #read(symbol: string, res: HttpResponse): Batch<Tick> {
    const json = parseJson(res.body);
    if (!Array.isArray(json)) return { items: [], rejected: [this.#ctx.reject(symbol, 'the body is not a JSON array of trades', res.body, res.receivedAt)] };
    const out: Batch<Tick> = { items: [], rejected: [] };
    for (const rec of json) {
      const t = tradeTick(rec, symbol, res.receivedAt);
      if (typeof t === 'string') out.rejected.push(this.#ctx.reject(symbol, t, JSON.stringify(rec) ?? String(rec), res.receivedAt));
      else out.items.push(t);
    }
    return out;
  }
}
